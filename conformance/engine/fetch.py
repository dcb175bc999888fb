"""Fetch one published document (a standard body's schema that a profile's interface refers to), within the
harness's bounds: http(s) only, the whole fetch within a deadline (redirects included, at most five), the answer
capped at 10 MiB on the wire and after decompression (`engine/bounded.py`). Used only by `conformance profiles
bundle`, which keeps what it fetches in the reference cache (`conformance.inputs.references`); lint and runs never
fetch.
"""

from __future__ import annotations

import time
import urllib.parse

import httpx

from conformance.engine.bounded import DEFAULT_DEADLINE_S, BoundExceeded, Bounds, bounded_client, bounded_send
from conformance.errors import EngineFailure

__all__ = ["MAX_REDIRECTS", "fetch_document"]

MAX_REDIRECTS = 5
ACCEPT = "application/yaml, application/json;q=0.9, */*;q=0.5"


def fetch_document(url: str, *, deadline_s: float = DEFAULT_DEADLINE_S) -> bytes:
    """The body of a 200 answer to GET `url`. Raises OSError saying what went wrong (no answer, a status other
    than 200, a bound exceeded, too many redirects, a redirect to something other than http(s))."""
    end = time.monotonic() + deadline_s
    with bounded_client(deadline_s=deadline_s) as client:
        for _ in range(MAX_REDIRECTS + 1):
            if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
                raise OSError(f"{url} is not an http(s) URL")
            remaining = end - time.monotonic()
            if remaining <= 0:
                raise OSError(f"not received within {deadline_s:g} s")
            try:
                answer = bounded_send(client, client.build_request("GET", url, headers={"Accept": ACCEPT}),
                                      Bounds(deadline_s=remaining))
            except BoundExceeded as exc:
                if exc.bound == "deadline":
                    raise OSError(f"no complete answer within the {deadline_s:g} s deadline") from None
                raise OSError(str(exc)) from None
            except EngineFailure as exc:
                raise OSError(str(exc)) from None
            except httpx.HTTPError as exc:
                raise OSError(f"no answer ({type(exc).__name__}: {exc})") from None
            if answer.is_redirect and answer.headers.get("location"):
                url = urllib.parse.urljoin(url, answer.headers["location"])
                continue
            if answer.status_code != 200:
                raise OSError(f"the server answered {answer.status_code}")
            return answer.content
    raise OSError(f"more than {MAX_REDIRECTS} redirects")
