"""How exchanges are written as evidence: one JSON object per line, bodies capped, secrets redacted."""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["BODY_EVIDENCE_LIMIT", "body_text", "curl", "jsonl"]

BODY_EVIDENCE_LIMIT = 16 * 1024
_LINE_BREAKS = str.maketrans({"\u2028": "\\u2028", "\u2029": "\\u2029", "\x85": "\\u0085"})


def jsonl(record: dict[str, Any]) -> str:
    """One JSON line, readable (names stay as written) yet one line for every reader: the characters
    that str.splitlines() and some editors treat as line breaks are escaped."""
    return json.dumps(record, ensure_ascii=False).translate(_LINE_BREAKS) + "\n"


def body_text(body: bytes, redact: Callable[[str], str]) -> str:
    text = body[:BODY_EVIDENCE_LIMIT].decode("utf-8", errors="replace")
    if len(body) > BODY_EVIDENCE_LIMIT:
        text += f"... [{len(body) - BODY_EVIDENCE_LIMIT} more bytes not kept]"
    return str(redact(text))


def curl(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> str:
    """A curl command that sends the same request (pass headers already redacted)."""
    parts = ["curl", "-X", method]
    for name, value in headers.items():
        parts += ["-H", f"{name}: {value}"]
    if body:
        parts += ["-d", body.decode("utf-8", errors="replace")]
    parts.append(url)
    return " ".join(shlex.quote(p) for p in parts)
