"""Reconciling what was sent with what a system holds: naming ids in a finding, comparing times, batching, and
planning the pages of a cursor-paged read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, TypeVar

__all__ = ["SHOWN", "chunks", "listed", "plan_pages", "same_time"]

T = TypeVar("T")
SHOWN = 10  # things named in a finding before "and N more"


def listed(things: list[str], shown: int = SHOWN) -> str:
    """The first `shown` things, comma separated, then "and N more"."""
    text = ", ".join(things[:shown])
    return text + (f" and {len(things) - shown} more" if len(things) > shown else "")


def same_time(a: Any, b: Any) -> bool:
    """Two ISO 8601 times name the same moment (`Z` or an offset); values that are not times are compared as
    they are."""
    try:
        return datetime.fromisoformat(str(a).replace("Z", "+00:00")) == datetime.fromisoformat(
            str(b).replace("Z", "+00:00"))
    except ValueError:
        return bool(a == b)


def chunks(items: Sequence[T], size: int) -> list[list[T]]:
    """`items` in consecutive batches of at most `size` (for an interface that takes at most `size` at once)."""
    return [list(items[n:n + size]) for n in range(0, len(items), size)]


def plan_pages(positions: Sequence[int], first: int, then: int, most: int) -> list[int]:
    """Page sizes for reading a cursor-paged listing so that each page after the first starts at one of this
    check's lines (`positions`: where they stand among all the lines the system holds), so a cursor that skips or
    repeats a line at a page boundary shows in this check's own lines however much else the system holds. A
    boundary between two of this check's lines is preferred (a repeated line shows too), then the one nearest the
    wanted size: about `first` lines, then about `then`, never fewer than three quarters of that nor more than
    `most`. Past the last of this check's lines the plan ends (the rest is read `most` at a time)."""
    mine_at = set(positions)
    ordered = sorted(mine_at)
    sizes: list[int] = []
    at, wanted = 0, min(first, most)
    while ordered and at < ordered[-1]:
        window = [p for p in ordered if at + max(1, wanted * 3 // 4) <= p <= at + most]
        if not window:
            window = [p for p in ordered if at < p <= at + most]
        if not window:
            sizes.append(most)
            at += most
            continue
        start = min(window, key=lambda p: (p - 1 not in mine_at, abs(p - at - wanted)))
        sizes.append(start - at)
        at, wanted = start, min(then, most)
    return sizes
