"""OAuth2 client credentials: fetch an access token for the harness, and a fresh one before it expires.

The client secret comes from an environment variable; every token obtained is added to the run's
`Redactor`, so neither ever reaches evidence, findings or logs.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.engine.redact import Redactor
from conformance.errors import TokenError
from conformance.inputs.targets import Target

__all__ = ["TokenError", "TokenSource", "token_source_for"]

REFRESH_MARGIN_S = 5.0
TOKEN_TIMEOUT_S = 30.0


@dataclass
class TokenSource:
    token_url: str
    client_id: str
    client_secret: str
    scope: str | None = None
    redactor: Redactor | None = None
    http_options: dict[str, Any] = field(default_factory=dict)
    issued: int = 0
    _token: str | None = None
    _expires_at: float = 0.0
    _lifetime: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def headers(self) -> dict[str, str]:
        """The Authorization header to send now; a new token is fetched when this one is about to expire."""
        return {"Authorization": f"Bearer {self.token()}"}

    def fresh(self) -> tuple[dict[str, str], float]:
        """A newly issued token's header and its lifetime in seconds: for work that cannot ask again (a load
        generator in another process sends the same header until it ends)."""
        with self._lock:
            self._fetch()
            assert self._token is not None
            return {"Authorization": f"Bearer {self._token}"}, self._lifetime

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def _fetch(self) -> None:
        form = {"grant_type": "client_credentials"}
        if self.scope:
            form["scope"] = self.scope
        try:
            with httpx.Client(timeout=TOKEN_TIMEOUT_S, follow_redirects=False, **self.http_options) as client:
                response = client.post(self.token_url, data=form, auth=(self.client_id, self.client_secret))
        except httpx.HTTPError as exc:
            raise TokenError(f"token endpoint {self.token_url} unreachable: {type(exc).__name__}: {exc}") from None
        if response.status_code != 200:
            raise TokenError(f"token endpoint {self.token_url} answered {response.status_code}; "
                             f"check the client id and the secret's environment variable")
        try:
            data = response.json()
            token = str(data["access_token"])
            lifetime = float(data.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenError(f"token endpoint {self.token_url} sent no usable access_token ({exc})") from None
        if self.redactor is not None:
            self.redactor.remember(token, "${OAUTH2_ACCESS_TOKEN}")
        self._token = token
        self._lifetime = lifetime
        # Renew a little early, but never sooner than half the token's life.
        self._expires_at = time.monotonic() + max(lifetime / 2, lifetime - REFRESH_MARGIN_S)
        self.issued += 1


def token_source_for(target: Target, redactor: Redactor) -> TokenSource | None:
    """For a target with OAuth2 client credentials: where fresh Authorization headers come from (else None)."""
    if target.auth is None or target.auth.type != "oauth2_client_credentials":
        return None
    url = target.auth.token_url or ""
    if url.startswith("/"):
        url = target.base_url + url
    return TokenSource(url, target.auth.client_id or "", target.oauth_secret(), target.auth.scope, redactor,
                       http_options=target.http_options())
