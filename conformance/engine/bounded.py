"""Bounded HTTP exchanges: every request the harness sends itself ends, and costs a known amount of memory.

httpx's timeouts are per operation (connect, each read): a server that trickles a byte a second never trips them.
`bounded_send` adds what a hostile server needs:

- a **deadline** for the whole exchange (connect, request, headers and the whole body): a watchdog thread shuts
  the connection's socket down when it passes, which wakes any blocked read;
- the same watchdog obeys a **stop** (Ctrl-C/SIGTERM): the request in flight ends within `STOP_POLL_S`;
- a **size cap** on the answer, counted on the wire and again after decompression (gzip and deflate are
  inflated here, incrementally, never past the cap: a gzip bomb costs at most the cap);
- limits on the **number and size of response headers** (checked on the raw list, before anything builds a
  mapping of them: `dict(httpx.Headers)` of 10,000 headers is quadratic).

A bound that trips raises `BoundExceeded` (an EngineFailure: the requirement is an `error`) naming the bound and
the figure; a stop raises `Interrupted`. Clients made by `bounded_client` open one connection per request (no
keep-alive), so the watchdog always knows which socket is the request's.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from conformance.errors import EngineFailure

__all__ = ["DEFAULT_DEADLINE_S", "MAX_BODY_BYTES", "MAX_HEADERS", "MAX_HEADER_BYTES", "BoundExceeded", "Bounds",
           "Interrupted", "bounded_client", "bounded_send", "inflater"]

DEFAULT_DEADLINE_S = 30.0
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_HEADERS = 100  # urllib3, under the schema engine, refuses more than 100 too
MAX_HEADER_BYTES = 64 * 1024
STOP_POLL_S = 0.2
_CHUNK = 64 * 1024


class BoundExceeded(EngineFailure):
    """The answer broke one of the harness's bounds (`bound`: deadline, body size, headers)."""

    def __init__(self, bound: str, message: str) -> None:
        super().__init__(message)
        self.bound = bound


class Interrupted(EngineFailure):
    """The run was stopped (Ctrl-C or SIGTERM) while a request was in flight."""


@dataclass(frozen=True)
class Bounds:
    deadline_s: float = DEFAULT_DEADLINE_S
    max_body_bytes: int = MAX_BODY_BYTES
    max_headers: int = MAX_HEADERS
    max_header_bytes: int = MAX_HEADER_BYTES


def bounded_client(*, deadline_s: float = DEFAULT_DEADLINE_S, **options: Any) -> httpx.Client:
    """An httpx client for `bounded_send`: no keep-alive (one socket per request, so the watchdog can shut the
    request's own), redirects not followed, every httpx timeout at most the deadline."""
    return httpx.Client(timeout=httpx.Timeout(deadline_s), follow_redirects=False,
                        limits=httpx.Limits(max_keepalive_connections=0), **options)


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


def bounded_send(client: httpx.Client, request: httpx.Request, bounds: Bounds = Bounds(), *,
                 stop: threading.Event | None = None, read_body: bool = True) -> httpx.Response:
    """Send `request` within `bounds`; the answer comes back read (and decompressed) whole, or headers only when
    `read_body` is False. Raises BoundExceeded, Interrupted or httpx.HTTPError (no answer)."""
    sockets: list[socket.socket] = []
    tripped: list[str] = []
    finished = threading.Event()

    def trace(event: str, info: dict[str, Any]) -> None:
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            stream = info.get("return_value")
            sock = stream.get_extra_info("socket") if stream is not None else None
            if isinstance(sock, socket.socket):
                sockets.append(sock)
                if tripped:  # the deadline passed while connecting
                    _shut(sock)

    def watchdog() -> None:
        end = time.monotonic() + bounds.deadline_s
        while not finished.wait(max(0.0, min(STOP_POLL_S, end - time.monotonic()))):
            if stop is not None and stop.is_set():
                tripped.append("stop")
            elif time.monotonic() >= end:
                tripped.append("deadline")
            else:
                continue
            for sock in list(sockets):
                _shut(sock)
            return

    request.extensions = {**request.extensions, "trace": trace}
    guard = threading.Thread(target=watchdog, name="bounded-send", daemon=True)
    started = time.monotonic()
    guard.start()
    try:
        try:
            response = client.send(request, stream=True)
        except httpx.HTTPError as exc:
            _raise_if_tripped(tripped, bounds, started, "before the answer's headers")
            if isinstance(exc, httpx.RemoteProtocolError) and "buffer too long" in str(exc):  # h11's own cap
                raise BoundExceeded("headers", "the answer's headers are larger than 100 KiB (the HTTP "
                                               "client reads at most that much)") from None
            raise
        try:
            _check_headers(response, bounds)
            content = _read(response, bounds, tripped, started) if read_body else b""
        except httpx.HTTPError:
            _raise_if_tripped(tripped, bounds, started, "while reading the answer")
            raise
        finally:
            with contextlib.suppress(httpx.HTTPError, OSError):
                response.close()
    finally:
        finished.set()
        guard.join()
    # The content is already decoded: a Content-Encoding kept here would make httpx decode it again.
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    answer = httpx.Response(response.status_code, headers=headers, content=content, request=request,
                            extensions={k: v for k, v in response.extensions.items() if k != "network_stream"})
    answer.elapsed = response.elapsed
    return answer


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _raise_if_tripped(tripped: list[str], bounds: Bounds, started: float, when: str) -> None:
    if not tripped:
        return
    if tripped[0] == "stop":
        raise Interrupted("interrupted: the run was stopped with a request in flight") from None
    raise BoundExceeded("deadline", f"no complete answer within the {bounds.deadline_s:g} s deadline "
                                    f"(stopped {when}, after {time.monotonic() - started:.1f} s)") from None


def _check_headers(response: httpx.Response, bounds: Bounds) -> None:
    raw = response.headers.raw
    if len(raw) > bounds.max_headers:
        raise BoundExceeded("headers", f"the answer has {len(raw)} headers (the harness reads at most "
                                       f"{bounds.max_headers})")
    size = sum(len(name) + len(value) + 4 for name, value in raw)
    if size > bounds.max_header_bytes:
        raise BoundExceeded("headers", f"the answer's headers are {size} bytes (the harness reads at most "
                                       f"{bounds.max_header_bytes})")


def inflater(encoding: str) -> Callable[[bytes, int], bytes] | None:
    """A function inflating one chunk to at most N bytes, or None for an answer sent as is."""
    if encoding in ("gzip", "x-gzip"):
        gzip = zlib.decompressobj(16 + zlib.MAX_WBITS)
        return gzip.decompress
    if encoding == "deflate":
        state: dict[str, Any] = {}

        def inflate(chunk: bytes, limit: int) -> bytes:  # zlib-wrapped, or raw deflate as some servers send
            if "d" not in state:
                try:
                    state["d"] = zlib.decompressobj()
                    return bytes(state["d"].decompress(chunk, limit))
                except zlib.error:
                    state["d"] = zlib.decompressobj(-zlib.MAX_WBITS)
            return bytes(state["d"].decompress(chunk, limit))
        return inflate
    return None


def _read(response: httpx.Response, bounds: Bounds, tripped: list[str], started: float) -> bytes:
    cap = bounds.max_body_bytes
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > cap:
        raise BoundExceeded("body size", f"the answer declares {int(declared)} bytes (Content-Length); the "
                                         f"harness reads at most {_mib(cap)}")
    encoding = response.headers.get("content-encoding", "").strip().lower()
    inflate = inflater(encoding)
    out = bytearray()
    wire = 0
    chunks = response.iter_raw(_CHUNK) if inflate is not None or encoding in ("", "identity") \
        else response.iter_bytes(_CHUNK)  # another coding (br, zstd): httpx decodes, the cap counts its output
    try:
        for chunk in chunks:
            if tripped:
                _raise_if_tripped(tripped, bounds, started, "while reading the answer")
            wire += len(chunk)
            if wire > cap:
                out.clear()  # an exception's frames outlive it (hypothesis keeps them): hold no copy of the answer
                raise BoundExceeded("body size", f"the answer is larger than {_mib(cap)} (the harness stopped "
                                                 f"reading at {wire} bytes)")
            out += inflate(chunk, cap + 1 - len(out)) if inflate is not None else chunk
            if len(out) > cap:
                out.clear()
                raise BoundExceeded("body size", f"the answer inflates past {_mib(cap)} ({encoding}; "
                                                 f"{wire} bytes on the wire when the harness stopped)")
    except zlib.error as exc:
        raise EngineFailure(f"the answer is not valid {encoding}: {exc}") from None
    return bytes(out)
