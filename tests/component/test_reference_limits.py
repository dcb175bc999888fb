"""The reference suppliers keep a trusted server's limits (fixtures/kit/limits.py, fixtures/kit/app.py): a hostile
client cannot make them hold a connection, a head or a body, or answer 500. One reference process on loopback,
whose memory is read from /proc while it is under attack."""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conformance.engine.processes import spawned
from fixtures.kit.launch import reference_command
from fixtures.kit.limits import HEAD_DEADLINE_S, MAX_HEAD_BYTES, MAX_HEADERS

PERSON = b'{"given_names": "Ada", "family_name": "Ng", "date_of_birth": "1990-01-01"}'


@pytest.fixture(scope="module")
def reference() -> Iterator[tuple[str, int, int]]:
    """(host, port, pid) of a pole-records reference process."""
    with spawned(reference_command("pole-records"), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        found = re.search(r"http://([\d.]+):(\d+)", line)
        assert found, f"the reference did not announce its URL: {line!r}"
        yield found.group(1), int(found.group(2)), proc.pid


def _exchange(host: str, port: int, request: bytes, timeout: float = 10.0) -> bytes:
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(request)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
        return answer


def _status(answer: bytes) -> int:
    return int(answer.split(b" ", 2)[1])


def _rss_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


def test_an_oversized_head_is_refused_with_431(reference: tuple[str, int, int]) -> None:
    host, port, _ = reference
    big = b"GET /persons HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\nConnection: close\r\n\r\n"
    answer = _exchange(host, port, big)
    assert _status(answer) == 431, answer[:200]
    assert b"application/problem+json" in answer and str(MAX_HEAD_BYTES).encode() in answer


def test_too_many_headers_are_refused_with_431(reference: tuple[str, int, int]) -> None:
    host, port, _ = reference
    many = b"GET /persons HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(1000)) + \
        b"Connection: close\r\n\r\n"
    answer = _exchange(host, port, many)
    assert _status(answer) == 431, answer[:200]
    assert f"at most {MAX_HEADERS}".encode() in answer


@pytest.mark.parametrize("body", [
    b'{"family_name": "Ng", "flags": [{"code": ' + b"9" * 5000 + b"}]}",
    b'{"family_name": "Ng", "flags": [{"code": NaN}]}',
    b'{"family_name": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
], ids=["5000-digit-integer", "NaN", "deep-nesting"])
def test_unreadable_values_are_refused_with_400_never_500(reference: tuple[str, int, int], body: bytes) -> None:
    """Each body is otherwise a person, so the refusal is the reading's, not the schema's (422)."""
    host, port, _ = reference
    request = (b"POST /persons HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
               b"Connection: close\r\n\r\n" % len(body)) + body
    answer = _exchange(host, port, request)
    assert _status(answer) == 400, answer[:300]
    assert b"not JSON" in answer or b"nested too deeply" in answer


def test_huge_integers_in_the_query_are_refused_with_4xx(reference: tuple[str, int, int]) -> None:
    host, port, _ = reference
    answer = httpx.get(f"http://{host}:{port}/persons", params={"limit": "9" * 5000}, timeout=10)
    assert 400 <= answer.status_code < 500, answer.text[:300]


def test_a_200_mb_body_is_refused_with_413_while_streaming(reference: tuple[str, int, int]) -> None:
    """Sent without a Content-Length (chunked), so the server must count as it reads; its memory is sampled
    throughout and may not grow by 100 MB."""
    host, port, pid = reference
    before = _rss_kib(pid)
    peak = [before]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _rss_kib(pid))
            time.sleep(0.02)

    def body() -> Iterator[bytes]:
        chunk = b"[" + b"1," * 32_767 + b"1]"
        for _ in range(200 * 1024 * 1024 // len(chunk)):
            yield chunk

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        started = time.monotonic()
        try:
            answer = httpx.post(f"http://{host}:{port}/persons", content=body(),
                                headers={"content-type": "application/json"}, timeout=30)
            status = answer.status_code
        except httpx.HTTPError as exc:  # the server may close once it has answered; it must have answered first
            pytest.fail(f"no answer to a 200 MB body: {exc!r}")
        elapsed = time.monotonic() - started
    finally:
        done.set()
        sampler.join()
    assert status == 413, answer.text[:300]
    assert elapsed < 20
    assert peak[0] - before < 100 * 1024, f"the reference grew by {(peak[0] - before) // 1024} MiB"


def test_a_declared_oversized_body_is_refused_before_it_is_read(reference: tuple[str, int, int]) -> None:
    host, port, _ = reference
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"POST /persons HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 200000000\r\n\r\n")
        answer = sock.recv(65536)
    assert _status(answer) == 413, answer[:200]


def test_slowloris_connections_are_closed_while_normal_requests_keep_working(
        reference: tuple[str, int, int]) -> None:
    """200 connections trickle a head byte by byte; meanwhile ordinary requests are answered at once, and every
    trickling connection is closed by the server within 10 s."""
    host, port, _ = reference
    loris = []
    for _ in range(200):
        sock = socket.create_connection((host, port), timeout=15)
        sock.sendall(b"GET /persons HTTP/1.1\r\nHost: x\r\n")
        loris.append(sock)
    started = time.monotonic()
    try:
        with httpx.Client(base_url=f"http://{host}:{port}", timeout=5) as client:
            for _ in range(5):
                for sock in loris:
                    with contextlib.suppress(OSError):
                        sock.send(b"X")
                answer = client.post("/persons", content=PERSON, headers={"content-type": "application/json"})
                assert answer.status_code == 201, answer.text
                time.sleep(0.5)
        closed = 0
        for sock in loris:
            sock.settimeout(max(0.1, started + 10 - time.monotonic()))
            try:
                closed += sock.recv(1) == b""
            except TimeoutError:
                pass  # still open
            except OSError:  # reset by the server: closed too
                closed += 1
        assert closed == len(loris), f"{len(loris) - closed} of {len(loris)} trickling connections still open " \
                                     f"after 10 s (head deadline {HEAD_DEADLINE_S:g} s)"
    finally:
        for sock in loris:
            sock.close()
