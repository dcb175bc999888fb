"""The harness's exceptions: one root, and each branch carries the outcome it leads to.

    ConformanceError                    root of everything the harness raises on purpose
    ├── UsageError(ValueError)          the user asked for something that cannot be done: exit 2, one located line
    │   ├── ProfileError                a profile file is invalid: carries file, line, key and the fix
    │   ├── TargetError                 a target (URL, targets file, credentials) is invalid
    │   ├── TenderError                 a tender file is invalid
    │   ├── RunDirError                 a run directory cannot be created, read or resumed
    │   ├── BundleError                 an evidence bundle or signing key cannot be made, read or used
    │   ├── DiffError                   two results cannot be compared (unreadable, or of different profiles)
    │   └── BaselineError               a baseline file is invalid, or a certification run was asked to use one
    ├── EngineFailure(RuntimeError)     the harness could not measure: the requirement is `error`
    │   ├── LaunchError                 a process (candidate, reference, other system) did not start or announce its URL
    │   ├── TokenError                  the OAuth2 token endpoint issued no token
    │   ├── DeadlineExceeded            the requirement's share of the run's time budget ran out before it ended
    │   └── SystemUnavailable           another system a requirement needs (a peer, a receiver) is missing or failed
    └── SupplierFailure(AssertionError) the target broke the rule: the requirement is `fail`

Where each becomes an outcome: a runner lets `SupplierFailure` become `fail` and `EngineFailure` become `error`
(`conformance.runners`); any other exception in a runner is a harness bug, logged to harness-errors.log and
reported as `error`, never as a pass or a fail. A `UsageError` stops the command before anything runs.

A user error is printed as one line (``file:line: key: what is wrong; what to do``), never a traceback.
"""

from __future__ import annotations

__all__ = [
    "BaselineError",
    "BundleError",
    "ConformanceError",
    "DeadlineExceeded",
    "DiffError",
    "EngineFailure",
    "LaunchError",
    "ProfileError",
    "RunDirError",
    "SupplierFailure",
    "SystemUnavailable",
    "TargetError",
    "TenderError",
    "TokenError",
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


class BundleError(_LocatedError):
    """An evidence bundle, a signing key or a folder to bundle cannot be used (conformance.audit)."""


class DiffError(_LocatedError):
    """`conformance diff` was given something that is not a scorecard, run directory or bundle, or two results of
    different profiles (conformance.supplier.diff)."""


class BaselineError(_LocatedError):
    """A baseline file is invalid, or a run combines options that cannot go together (`--certify` with a baseline,
    waivers, `--only/--skip` or the quick tier) (conformance.supplier.baseline)."""


class EngineFailure(ConformanceError, RuntimeError):
    """A check engine could not produce a measurement (the requirement becomes `error`)."""


class DeadlineExceeded(EngineFailure):
    """The requirement's deadline (its share of the run's time budget) passed before it ended: nothing is
    concluded about the rule. The message names the deadline and what was done by then."""


class LaunchError(EngineFailure):
    """A process did not start, or did not say where it listens in time. `summary` says which, without the
    command line or the process's output (they may carry anything; the log keeps them)."""

    def __init__(self, message: str, summary: str) -> None:
        super().__init__(message)
        self.summary = summary


class TokenError(EngineFailure):
    """The OAuth2 token endpoint did not issue a token."""


class SystemUnavailable(EngineFailure):
    """Another system a requirement talks to (a migration peer, a court receiver) is missing or failed."""


class SupplierFailure(ConformanceError, AssertionError):
    """The target broke the rule: the message says what was expected and what came back (the requirement
    becomes `fail`). Raised by scenario assertions and by a profile's Python checks (`c.fail(...)`)."""
