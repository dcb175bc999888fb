"""The harness's exceptions: one root, user errors distinguishable from harness faults.

    ConformanceError                 root of everything the harness raises on purpose
    ├── UsageError(ValueError)       the user asked for something that cannot be done (exit 2)
    │   ├── ProfileError             a profile file is invalid: carries file, line, key
    │   ├── TargetError              a target (URL, targets file, credentials) is invalid
    │   ├── TenderError              a tender file is invalid
    │   └── RunDirError              a run directory cannot be created, read or resumed
    └── EngineFailure(RuntimeError)  a check engine could not run; the requirement is `error`

A user error is printed as one line (``file:line: key: what is wrong; what to do``), never a traceback.
"""

from __future__ import annotations

__all__ = [
    "ConformanceError",
    "EngineFailure",
    "ProfileError",
    "RunDirError",
    "TargetError",
    "TenderError",
    "UsageError",
]


class ConformanceError(Exception):
    """Root of every exception the harness raises deliberately."""


class UsageError(ConformanceError, ValueError):
    """The user's input cannot be used; the message says what to do instead."""


class _LocatedError(UsageError):
    """A user error located in a file, optionally at a line and key."""

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None,
                 key: str | None = None, fix: str | None = None) -> None:
        self.file = file
        self.line = line
        self.key = key
        self.problem = message
        self.fix = fix
        super().__init__(self.render())

    def render(self) -> str:
        where = ""
        if self.file:
            where = self.file + (f":{self.line}" if self.line else "") + ": "
        key = f"{self.key}: " if self.key else ""
        fix = f"; {self.fix}" if self.fix else ""
        return f"{where}{key}{self.problem}{fix}"


class ProfileError(_LocatedError):
    """A profile (profile.yaml, openapi.yaml, layout) is invalid."""


class TargetError(_LocatedError):
    """A target URL, targets file or credential is invalid or missing."""


class TenderError(_LocatedError):
    """A tender file (profiles, weights, waivers, candidates) is invalid."""


class RunDirError(_LocatedError):
    """A run directory cannot be written, read or resumed."""


class EngineFailure(ConformanceError, RuntimeError):
    """A check engine could not produce a measurement (the requirement becomes `error`)."""
