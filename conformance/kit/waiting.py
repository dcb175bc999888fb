"""Time: waiting for something the target does asynchronously, and sending many requests at once."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["at_once", "poll"]

T = TypeVar("T")


def poll(attempt: Callable[[], T | None], *, within_s: float, interval_s: float) -> T | None:
    """Call `attempt` until it returns something (not None), every `interval_s`, for at most `within_s` (it is
    always called at least once); None if it never did."""
    deadline = time.monotonic() + within_s
    while True:
        found = attempt()
        if found is not None:
            return found
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval_s)


def at_once(count: int, call: Callable[[int], T]) -> list[T]:
    """`call(0)` ... `call(count - 1)` concurrently (a burst), their answers in that order. The context's `send`
    may be called from several threads: the evidence and the request count stay whole."""
    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))
