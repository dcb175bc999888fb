"""How the schema engine reads answers: within the harness's bounds (conformance/engine/bounded.py), and with a
tripped bound named in the requirement's error, not hidden behind the engine's "Connection failed".

Patches `schemathesis.engine.context.make_session` (internal API: the exact pin in pyproject.toml covers it)."""

from __future__ import annotations

import threading
import time
import zlib
from typing import Any, ClassVar

from conformance.engine.bounded import DEFAULT_DEADLINE_S, BoundExceeded, Bounds, inflater

__all__ = ["Answered", "BoundTrips", "bound_in", "bound_the_engine"]

_BOUNDS = Bounds()


class BoundTrips:
    """The bounds that tripped while the engine ran (the engine turns each into a connection error and keeps only
    its own title): read back by the pass, so the requirement's error names the bound and the figure."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _trips: ClassVar[list[BoundExceeded]] = []

    @classmethod
    def record(cls, exc: BoundExceeded) -> None:
        with cls._lock:
            cls._trips.append(exc)

    @classmethod
    def mark(cls) -> int:
        with cls._lock:
            return len(cls._trips)

    @classmethod
    def since(cls, mark: int) -> list[BoundExceeded]:
        with cls._lock:
            return list(cls._trips[mark:])


class Answered:
    """Every answer the engine read and the time it took, counted as each is read (the tally counts a scenario's
    requests only once it ends, so an engine stopped mid-scenario under-counts): what the run's time plan learns
    from (session/budget.py)."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _count: ClassVar[list[float]] = [0, 0.0]

    @classmethod
    def add(cls, seconds: float) -> None:
        with cls._lock:
            cls._count[0] += 1
            cls._count[1] += seconds

    @classmethod
    def mark(cls) -> tuple[int, float]:
        with cls._lock:
            return int(cls._count[0]), float(cls._count[1])

    @classmethod
    def since(cls, mark: tuple[int, float]) -> tuple[int, float]:
        with cls._lock:
            return int(cls._count[0]) - mark[0], float(cls._count[1]) - mark[1]


def bound_in(exc: BaseException | None) -> BoundExceeded | None:
    """The BoundExceeded behind an engine error, if a bound is what it was (its cause/context chain)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        found = getattr(exc, "bound_exceeded", None)
        if isinstance(found, BoundExceeded):
            return found
        if isinstance(exc, BoundExceeded):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def bound_the_engine() -> None:
    """Give every session the engine makes an adapter that reads answers within the harness's bounds: the answer
    streamed, at most 10 MiB on the wire and after gzip/deflate inflation, at most 100 headers, and the body within
    the request's timeout. A bound that trips is a connection error the engine reports; the error carries the
    BoundExceeded (`bound_in`) and it is recorded in `BoundTrips`."""
    import requests
    from schemathesis.engine import context

    if getattr(context.make_session, "bounded", False):
        return
    original = context.make_session

    class BoundedConnectionError(requests.exceptions.ConnectionError):
        bound_exceeded: BoundExceeded | None = None

    class BoundedAdapter(requests.adapters.HTTPAdapter):
        def send(self, request: Any, stream: bool = False, timeout: Any = None, verify: Any = True,
                 cert: Any = None, proxies: Any = None) -> Any:
            started = time.monotonic()
            try:
                response = super().send(request, stream=True, timeout=timeout, verify=verify, cert=cert,
                                        proxies=proxies)
            except requests.exceptions.ConnectionError as exc:
                if "got more than" not in str(exc):  # urllib3 refuses over 100 headers: the harness's bound too
                    raise
                raise _tripped(BoundExceeded("headers", f"the answer has more than {_BOUNDS.max_headers} headers "
                                             f"(the harness reads at most {_BOUNDS.max_headers})"), request) from None
            if "event-stream" in response.headers.get("content-type", ""):
                return response  # the engine reads event streams itself, within the request timeout in total
            limit = float(timeout[1] if isinstance(timeout, tuple) else timeout or DEFAULT_DEADLINE_S)
            try:
                response._content = _bounded_body(response, started + limit, limit)
            except BoundExceeded as exc:
                response.close()
                raise _tripped(exc, request) from None
            response._content_consumed = True
            Answered.add(time.monotonic() - started)
            return response

    def _tripped(exc: BoundExceeded, request: Any) -> BoundedConnectionError:
        BoundTrips.record(exc)
        error = BoundedConnectionError(f"bound exceeded ({exc.bound}): {exc}", request=request)
        error.bound_exceeded = exc
        return error

    def make_session(*args: Any, **kwargs: Any) -> Any:
        session = original(*args, **kwargs)
        adapter = BoundedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    make_session.bounded = True  # type: ignore[attr-defined]
    context.make_session = make_session


def _bounded_body(response: Any, deadline: float, limit: float) -> bytes:
    raw = response.raw
    items = list(raw.headers.items())
    if len(items) > _BOUNDS.max_headers:
        raise BoundExceeded("headers", f"the answer has {len(items)} headers (the harness reads at most "
                                       f"{_BOUNDS.max_headers})")
    size = sum(len(k) + len(v) for k, v in items)
    if size > _BOUNDS.max_header_bytes:
        raise BoundExceeded("headers", f"the answer's headers are {size} bytes (the harness reads at most "
                                       f"{_BOUNDS.max_header_bytes})")
    cap = _BOUNDS.max_body_bytes
    encoding = response.headers.get("content-encoding", "").strip().lower()
    inflate = inflater(encoding)
    decode = inflate is None and encoding not in ("", "identity")  # another coding: urllib3 decodes, cap counts it
    out = bytearray()
    wire = 0
    while True:
        if time.monotonic() > deadline:
            raise BoundExceeded("deadline", f"the answer's body did not end within the {limit:g} s request timeout")
        chunk = raw.read1(65536, decode_content=decode)
        if not chunk:
            break
        wire += len(chunk)
        try:
            out += inflate(chunk, cap + 1 - len(out)) if inflate is not None else chunk
        except zlib.error as exc:
            raise BoundExceeded("encoding", f"the answer is not valid {encoding}: {exc}") from None
        if wire > cap or len(out) > cap:
            inflated = len(out) > cap >= wire
            out.clear()  # the engine keeps the error, and with it this frame: hold no copy of the answer
            raise BoundExceeded("body size", f"the answer is larger than {cap // (1024 * 1024)} MiB"
                                             f"{' once inflated' if inflated else ''}")
    return bytes(out)
