"""Writing files that must survive a crash: one atomic writer and one harness-error log.

`write_text_atomic` writes beside the target, fsyncs, then renames over it, so a reader sees the old file or
the new one, never half of either. `log_harness_error` appends the traceback of the exception being handled
to `harness-errors.log` (a harness bug, never a supplier's failure), passed through `redact` when given.
"""

from __future__ import annotations

import json
import os
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["HARNESS_ERRORS_LOG", "loads_strict", "log_harness_error", "utc_now", "write_json_atomic",
           "write_text_atomic"]

HARNESS_ERRORS_LOG = "harness-errors.log"


def utc_now() -> str:
    """Now, as ISO 8601 UTC with milliseconds and a Z (the timestamps of run.json and the logs)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def write_text_atomic(path: Path, text: str) -> Path:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_strict(text: str | bytes) -> Any:
    """JSON as the format defines it: Python's reader also accepts NaN and Infinity, which the harness never
    writes, so a run directory, scorecard or bundle holding one was not written by it (a score of NaN must not
    reach a comparison). ValueError, like any other unreadable JSON."""
    return json.loads(text, parse_constant=_not_json)


def write_json_atomic(path: Path, data: Any) -> Path:
    """`data` as JSON. NaN and infinities are refused (ValueError): they are not JSON, and a score or weight that
    is not a number must never reach a file a reader trusts."""
    return write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def log_harness_error(folder: Path, heading: str, *, redact: Callable[[str], str] | None = None) -> Path:
    """Append the exception being handled, under `--- <time> <heading>`, to `folder/harness-errors.log`."""
    log = folder / HARNESS_ERRORS_LOG
    text = traceback.format_exc()
    with log.open("a", encoding="utf-8") as fh:
        fh.write(f"--- {utc_now()} {heading}\n{redact(text) if redact else text}\n")
    return log
