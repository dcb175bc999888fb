"""Keep secrets out of everything the harness writes: evidence, findings, curl commands, logs.

A secret value is replaced by `${ENV_NAME}` (the environment variable it came from), so a reproduction
still says what to supply. Headers that carry credentials by convention, and any header whose name looks like
one (it contains secret, token, key, password, passwd, auth, cookie or session), are masked whatever their value
or source: a literal `X-Client-Secret` from a targets file never reaches an exchanges file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["SENSITIVE_HEADERS", "Redactor", "looks_like_credential"]

SENSITIVE_HEADERS = frozenset({
    "authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie",
    "x-auth-token", "x-access-token",
})
MASK = "[REDACTED]"
_CREDENTIAL_WORDS = ("secret", "token", "key", "password", "passwd", "auth", "cookie", "session")
_NOT_CREDENTIALS = frozenset({"idempotency-key", "www-authenticate"})  # no secret; shown for reproductions


def looks_like_credential(name: str) -> bool:
    """Whether a header of this name should be masked in evidence whatever its value."""
    lower = name.lower()
    return lower in SENSITIVE_HEADERS or (lower not in _NOT_CREDENTIALS
                                          and any(word in lower for word in _CREDENTIAL_WORDS))


@dataclass(frozen=True)
class Redactor:
    """Replaces each known secret value by its placeholder, longest first."""

    secrets: Mapping[str, str] = field(default_factory=dict)  # secret value -> placeholder

    def text(self, value: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            if secret:
                value = value.replace(secret, self.secrets[secret])
        return value

    def remember(self, secret: str, placeholder: str) -> None:
        """Add a secret learnt during the run (an access token). The mapping is shared, not copied."""
        if isinstance(self.secrets, dict) and secret:
            self.secrets[secret] = placeholder

    def header(self, name: str, value: str) -> str:
        redacted = self.text(value)
        if looks_like_credential(name) and redacted == value:
            return MASK
        return redacted

    def headers(self, headers: Mapping[str, Any]) -> dict[str, str]:
        out = {}
        for name, value in headers.items():
            joined = ", ".join(value) if isinstance(value, list | tuple) else str(value)
            out[name] = self.header(name, joined)
        return out

    def value(self, data: Any) -> Any:
        """Redact every string inside a JSON-like structure."""
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {k: self.value(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.value(v) for v in data]
        return data
