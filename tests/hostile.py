"""A hostile supplier for tests: an HTTP server on 127.0.0.1 that misbehaves in one chosen way (issue #15).

    with hostile_server("trickle") as url: ...

Modes (MODES): trickle (the whole answer, status line included, at one byte a second), silence (reads the request,
never answers), huge (200 MB of JSON, no Content-Length), gzip (a gzip bomb: about 1 MB on the wire inflating to
1 GiB), headers (10,000 response headers), reset (a TCP reset instead of an answer), redirect (302 to another
host), error (500 to everything), empty (200 `{}` to everything).

Every connection is served on its own thread and closed after one answer; the server stops when the `with`
block ends, and by itself after `lifetime_s` whatever happens, so a hung test cannot leave it behind.
"""

from __future__ import annotations

import contextlib
import socket
import socketserver
import struct
import threading
import time
import zlib
from collections.abc import Iterator

MODES = ("trickle", "silence", "huge", "gzip", "headers", "reset", "redirect", "error", "empty")
HUGE_BYTES = 200 * 1024 * 1024
BOMB_BYTES = 1024 * 1024 * 1024


def _read_request(conn: socket.socket) -> bytes | None:
    """Read one request's head and body (bounded); its request line, or None if the client went away first."""
    data = b""
    conn.settimeout(10)
    try:
        while b"\r\n\r\n" not in data and len(data) < 256 * 1024:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length" and value.strip().isdigit():
                length = min(int(value.strip()), 16 * 1024 * 1024)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
    except OSError:
        return None
    return head.split(b"\r\n", 1)[0]


def _head(status: str, headers: list[str]) -> bytes:
    return (f"HTTP/1.1 {status}\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode()


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        conn: socket.socket = self.request
        line = _read_request(conn)
        if line is None:
            return
        conn.settimeout(30)
        stopping = self.server.stopping
        mode = self.server.mode
        if self.server.spare_preflight and line.startswith(b"GET / "):
            mode = "empty"  # the harness's preflight gets through, so the runners meet the misbehaviour
        try:
            if mode == "trickle":
                answer = _head("200 OK", ["Content-Type: application/json", "Content-Length: 2",
                                          "Connection: close"]) + b"{}"
                for byte in answer:
                    if stopping.wait(1.0):
                        return
                    conn.sendall(bytes([byte]))
            elif mode == "silence":
                stopping.wait()
            elif mode == "huge":
                conn.sendall(_head("200 OK", ["Content-Type: application/json", "Connection: close"]) + b"[")
                chunk = b"0," * 32768
                sent = 0
                while sent < HUGE_BYTES and not stopping.is_set():
                    conn.sendall(chunk)
                    sent += len(chunk)
                conn.sendall(b"0]")
            elif mode == "gzip":
                conn.sendall(_head("200 OK", ["Content-Type: application/json", "Content-Encoding: gzip",
                                              "Connection: close"]))
                packer = zlib.compressobj(9, zlib.DEFLATED, 31)
                zeros = b" " * (1024 * 1024)
                conn.sendall(packer.compress(b"["))
                for _ in range(BOMB_BYTES // len(zeros)):
                    if stopping.is_set():
                        return
                    out = packer.compress(zeros)
                    if out:
                        conn.sendall(out)
                conn.sendall(packer.compress(b"]") + packer.flush())
            elif mode == "headers":
                headers = [f"X-Hostile-{i}: {i}" for i in range(10_000)]
                conn.sendall(_head("200 OK", [*headers, "Content-Type: application/json", "Content-Length: 2",
                                              "Connection: close"]) + b"{}")
            elif mode == "reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            elif mode == "redirect":
                conn.sendall(_head("302 Found", ["Location: http://127.0.0.2:9/elsewhere", "Content-Length: 0",
                                                 "Connection: close"]))
            elif mode == "error":
                conn.sendall(_head("500 Internal Server Error", ["Content-Type: application/json",
                                                                 "Content-Length: 15", "Connection: close"])
                             + b'{"error":"bad"}')
            elif mode == "empty":
                conn.sendall(_head("200 OK", ["Content-Type: application/json", "Content-Length: 2",
                                              "Connection: close"]) + b"{}")
        except OSError:
            return


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, mode: str, spare_preflight: bool) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.spare_preflight = spare_preflight
        self.stopping = threading.Event()


@contextlib.contextmanager
def hostile_server(mode: str, *, lifetime_s: float = 300.0, spare_preflight: bool = False) -> Iterator[str]:
    """Serve `mode` on 127.0.0.1 (a free port) while the block runs, at most `lifetime_s`; yields the base URL.
    `spare_preflight`: answer `GET /` (the harness's preflight) with 200 `{}`, misbehave on everything else."""
    if mode not in MODES:
        raise ValueError(f"unknown hostile mode {mode!r}; one of {', '.join(MODES)}")
    server = _Server(mode, spare_preflight)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    timer = threading.Timer(lifetime_s, lambda: (server.stopping.set(), server.shutdown()))
    timer.daemon = True
    timer.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        timer.cancel()
        server.stopping.set()
        server.shutdown()
        server.server_close()
        time.sleep(0)
