"""The load generator's HTTP exchanges: geventhttpclient's client and connection pool, called directly.

Locust still runs the generator (its runner, the master and workers, the users' lifecycle), but the generator's
requests do not go through locust's FastHttpSession: that layer (a UserAgent with redirects, retries and a cookie
jar, a request object and a wrapped response per request, locust's request event) cost about half of each
request's CPU, and the harness keeps its own histograms anyway (benchmarks/load_capacity.py). What it did that the
harness relies on is kept here: the target's base URL and path prefix, TLS verified, the connection pool sized to
the in-flight cap, the connect and network time-outs, JSON bodies with their content type, and locust's own
statistics (logged directly, so the run's `plain_locust` comparison remains; latency from the actual send).

What is deliberately not kept: redirects are not followed (a 3xx is an answer with an unexpected status, an error
of its request: a load measures the endpoint the scenario names, and a redirect off the target's origin would
carry its credentials elsewhere), no cookie jar (the harness sends the target's headers, nothing a supplier set),
and a request to an absolute URL is refused unsent (the target's own origin only).

Every exchange is held to the harness's bounds (conformance/engine/bounded.py) here too: the whole exchange
(connect, send, headers, body) within the request time-out, at most MAX_BODY_BYTES on the wire and again after
gzip/deflate inflation (and at most MAX_INFLATE_RATIO times the wire size). A bound that trips is `BoundExceeded`,
an error of its request; the connection is closed, never returned to the pool half-read.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import gevent
from geventhttpclient.client import HTTPClient

MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_INFLATE_RATIO = 100
_CHUNK = 64 * 1024
_SENDABLE = re.compile(r"/[!-~]*")  # an origin-form target of visible ASCII: sent as it is, else percent-encoded
_SAFE = "/?&=%:@!$'()*+,;~-._"
JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class BoundExceeded(Exception):
    pass


def read_bounded(response: Any) -> bytes | bytearray:
    """The body of an answer (a geventhttpclient response whose headers were read): at most MAX_BODY_BYTES on the
    wire and again after gzip/deflate inflation. Raises BoundExceeded when a bound trips; the caller releases the
    response, which closes the connection of a message left incomplete (`Transport.send`, whose timer also bounds
    the time this may take).

    A small answer is usually complete once its headers are read: its body is then taken in one copy."""
    if response.message_complete:
        wire: bytes | bytearray = response.read()
        if len(wire) > MAX_BODY_BYTES:
            raise BoundExceeded(f"the answer's body is over {MAX_BODY_BYTES} bytes")
    else:
        wire = _read_in_chunks(response)
    encoding = response.get("content-encoding")
    if not encoding:
        return wire
    encoding = str(encoding).lower()
    if encoding not in ("gzip", "deflate"):
        return wire
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        body = inflater.decompress(bytes(wire), MAX_BODY_BYTES + 1)
    except zlib.error as exc:
        raise BoundExceeded(f"the answer's {encoding} body does not inflate: {exc}") from None
    if len(body) > MAX_BODY_BYTES or len(body) > MAX_INFLATE_RATIO * max(len(wire), 1024):
        raise BoundExceeded(f"the answer's body inflates past {MAX_BODY_BYTES} bytes or {MAX_INFLATE_RATIO}x")
    return body


def _read_in_chunks(response: Any) -> bytearray:
    wire = bytearray()
    while chunk := response.read(_CHUNK):
        wire += chunk
        if len(wire) > MAX_BODY_BYTES:
            raise BoundExceeded(f"the answer's body is over {MAX_BODY_BYTES} bytes")
    return wire


def _ssl_options(tls: Mapping[str, str | None] | None) -> dict[str, str] | None:
    """geventhttpclient's TLS options from the target's `tls` (targets file): the CA that signed the target's
    certificate (else the default bundle) and the harness's client certificate for mutual TLS. Verification stays
    on either way."""
    if not tls:
        return None
    options = {}
    if tls.get("ca"):
        options["ca_certs"] = str(tls["ca"])
    if tls.get("client_cert") and tls.get("client_key"):
        options["certfile"], options["keyfile"] = str(tls["client_cert"]), str(tls["client_key"])
    return options or None


class Transport:
    """Requests to one target: its base URL's origin (its path a prefix of every request's), through one
    connection pool of `concurrency` connections."""

    def __init__(self, base_url: str, *, concurrency: int, timeout_s: float, headers: Mapping[str, str],
                 tls: Mapping[str, str | None] | None = None) -> None:
        split = urlsplit(base_url or "")
        if split.scheme not in ("http", "https") or not split.hostname:
            raise ValueError(f"the target's base URL {base_url!r} is not an http(s) URL (pass it with --host)")
        self.prefix = split.path.rstrip("/")
        self.timeout_s = timeout_s
        self.client = HTTPClient(split.hostname, split.port, ssl=split.scheme == "https", insecure=False,
                                 ssl_options=_ssl_options(tls) if split.scheme == "https" else None,
                                 concurrency=concurrency, network_timeout=timeout_s, connection_timeout=timeout_s)
        self.headers = dict(headers)
        if split.username and not any(name.lower() == "authorization" for name in self.headers):
            pair = f"{unquote(split.username)}:{unquote(split.password or '')}".encode("latin-1")
            self.headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
        if not any(name.lower() == "accept-encoding" for name in self.headers):
            self.headers["Accept-Encoding"] = "gzip, deflate"  # what read_bounded inflates
        names = {name.lower() for name in self.headers}
        self.json_headers = {**{k: v for k, v in JSON_HEADERS.items() if k.lower() not in names}, **self.headers}

    def send(self, method: str, path: str, json_body: Any = None,
             headers: Mapping[str, str] | None = None) -> tuple[int, Any, bytes | bytearray]:
        """One exchange: (status, the answer's headers (case-insensitive), its body within the bounds)."""
        if not _SENDABLE.fullmatch(path):
            if not path.startswith("/"):
                raise ValueError(f"{path!r} is not a path on the target (the generator sends to its origin only)")
            path = quote(path, safe=_SAFE)
        sending = self.headers if json_body is None else self.json_headers
        if headers:
            sending = {**sending, **headers}
        body = b"" if json_body is None else json.dumps(json_body).encode("utf-8")
        # One timer for the whole exchange (connect, send, status line and headers, body): the socket's own
        # time-out bounds each read only, so a trickle of a byte a second would never trip it. When it fires
        # inside a read the response closes its connection (its message is incomplete) and frees its pool slot.
        # (geventhttpclient frees nothing if it fires inside a send, which blocks only when the target stops
        # reading a request larger than the socket's buffers: the scenarios' requests are a few hundred bytes.)
        timer = gevent.Timeout(self.timeout_s, BoundExceeded(f"the exchange did not end within {self.timeout_s:g} s"))
        timer.start()
        try:
            response = self.client.request(method, self.prefix + path, body=body, headers=sending)
            try:
                content = read_bounded(response)
            finally:
                response.release()
        finally:
            timer.close()
        return response.status_code, response.info(), content

    def close(self) -> None:
        self.client.close()
