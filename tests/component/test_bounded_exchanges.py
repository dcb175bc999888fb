"""Bounded exchanges (issue #15, item 1): against each hostile server mode the harness's own sender ends within its
deadline, holds at most its size cap, and says which bound tripped; a stop ends a request in flight at once."""

from __future__ import annotations

import resource
import threading
import time

import httpx
import pytest

from conformance.engine.bounded import BoundExceeded, Bounds, Interrupted, bounded_client, bounded_send
from tests.hostile import hostile_server


def send(url: str, bounds: Bounds, *, stop: threading.Event | None = None, read_body: bool = True) -> httpx.Response:
    with bounded_client(deadline_s=bounds.deadline_s) as client:
        return bounded_send(client, client.build_request("GET", url + "/persons"), bounds, stop=stop,
                            read_body=read_body)


@pytest.mark.parametrize("mode", ["trickle", "silence"])
def test_a_server_that_never_finishes_trips_the_deadline(mode: str) -> None:
    with hostile_server(mode) as url:
        started = time.monotonic()
        with pytest.raises(BoundExceeded) as caught:
            send(url, Bounds(deadline_s=2.0))
        took = time.monotonic() - started
    assert caught.value.bound == "deadline" and "2 s deadline" in str(caught.value)
    assert 1.9 < took < 3.5


@pytest.mark.parametrize("mode", ["huge", "gzip"])
def test_a_huge_or_inflating_answer_trips_the_size_cap_without_holding_it(mode: str) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with hostile_server(mode) as url:
        started = time.monotonic()
        with pytest.raises(BoundExceeded) as caught:
            send(url, Bounds(max_body_bytes=4 * 1024 * 1024))
    assert caught.value.bound == "body size" and "4 MiB" in str(caught.value)
    assert ("inflates" in str(caught.value)) == (mode == "gzip")
    assert time.monotonic() - started < 10
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 100 * 1024  # KiB: under 100 MB more


def test_ten_thousand_headers_are_refused_at_once() -> None:
    with hostile_server("headers") as url:
        started = time.monotonic()
        with pytest.raises(BoundExceeded) as caught:
            send(url, Bounds())
    assert time.monotonic() - started < 5
    assert caught.value.bound == "headers"


def test_a_stop_ends_a_request_in_flight() -> None:
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    with hostile_server("silence") as url:
        started = time.monotonic()
        with pytest.raises(Interrupted):
            send(url, Bounds(deadline_s=60), stop=stop)
    assert time.monotonic() - started < 2


def test_preflight_reads_headers_only_and_ordinary_answers_pass() -> None:
    with hostile_server("huge") as url:
        assert send(url, Bounds(), read_body=False).status_code == 200
    with hostile_server("empty") as url:
        answer = send(url, Bounds())
        assert answer.status_code == 200 and answer.json() == {}
    with hostile_server("error") as url:
        assert send(url, Bounds()).status_code == 500
    with hostile_server("redirect") as url:
        assert send(url, Bounds()).status_code == 302  # never followed
    with hostile_server("reset") as url, pytest.raises(httpx.HTTPError):
        send(url, Bounds())
