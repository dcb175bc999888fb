"""Runners verify requirements, one check kind each. The registry imports a runner only when used,
so that loading a profile never imports an engine (schemathesis, locust...)."""

from __future__ import annotations

import importlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from conformance.engine.oauth import TokenSource
from conformance.engine.redact import Redactor
from conformance.engine.rundir import RunDir
from conformance.errors import DeadlineExceeded
from conformance.inputs.targets import Target
from conformance.model import CheckKind, Profile, Requirement, Result

__all__ = ["Deadline", "RunContext", "Runner", "SharedRun", "get_runner", "landed_kinds"]

# kind -> "module:attribute" of a zero-argument factory returning a Runner
_REGISTRY: dict[CheckKind, str] = {
    CheckKind.SCHEMA: "conformance.runners.schema:SchemaRunner",
    CheckKind.CONTRACT: "conformance.runners.contract:ContractRunner",
    CheckKind.LOAD: "conformance.runners.load:LoadRunner",
}


@dataclass
class SharedRun:
    """What the runners of one run share. `planned`: the requirements this run will run, in order (a schema pass
    measures the schema requirements it can judge together when the first of them runs). `results`: requirement
    id -> the Result measured ahead of its turn (or the exception its pass ended with), taken when its turn comes."""

    planned: tuple[Requirement, ...] = ()
    results: dict[str, Result | Exception] = field(default_factory=dict)

    def measured(self, requirement_id: str) -> bool:
        """Measured already: its turn needs no reset of the target, its result is waiting."""
        return requirement_id in self.results


@dataclass(frozen=True)
class Deadline:
    """When the requirement must have ended: `at` (a `time.monotonic()` value), its share of the run's budget.
    Every runner honours it (the schema engine is stopped, the sender refuses to start a request after it and caps
    the one in flight, a Python check is abandoned, a load is refused when its duration cannot fit); a requirement
    cut short is `error` with `exceeded(...)`, naming the deadline and what was done."""

    at: float
    share_s: float
    budget_s: float

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def passed(self) -> bool:
        return self.remaining() <= 0

    def describe(self) -> str:
        return f"its deadline ({self.share_s:.0f} s, its share of the run's {self.budget_s:.0f} s --budget)"

    def exceeded(self, done: str) -> DeadlineExceeded:
        return DeadlineExceeded(f"deadline: stopped at {self.describe()}; {done}. A larger --budget gives it "
                                "more time")


@dataclass(frozen=True)
class RunContext:
    """What a runner may use: the profile, the target and its resolved headers, where to write evidence."""

    profile: Profile
    target: Target
    headers: dict[str, str]
    redactor: Redactor
    seed: int
    tier: str
    budget_s: int | None
    run_dir: RunDir
    progress: Callable[[str], None]
    # Set on Ctrl-C/SIGTERM. A runner stops its engine cleanly at the next event and raises
    # KeyboardInterrupt, so the interrupted requirement leaves no result and is re-run by --resume.
    stop: threading.Event = field(default_factory=threading.Event)
    # Headers that change during the run (OAuth2 access tokens), asked for before every request.
    auth: Callable[[], dict[str, str]] | None = None
    # Load sized by the buyer (a tender's `load`, or --load-rate/--load-duration/--workers):
    # {"arrival_rate", "duration_s", "workers"}; empty means the profile's quick-tier defaults.
    load: dict[str, Any] = field(default_factory=dict)
    # The other systems this run was given (or started), by the profile's names; a requirement needing one
    # that is missing is an error naming it.
    systems: dict[str, Target] = field(default_factory=dict)
    # OAuth2 targets: the token source, for work that needs a token it cannot renew (the load generator).
    oauth: TokenSource | None = None
    # Restarts the target's process through its `restart` hook and returns once it answers again (EngineFailure
    # if it cannot); None when the target declares no hook (a requirement that needs one is not run).
    restart: Callable[[], None] | None = None
    # By when the requirement must end (its share of the run's time budget); None: no deadline.
    deadline: Deadline | None = None
    # The planned number of generated examples (schema: max-examples per phase), when the requirement's share and
    # the target's measured answer time do not allow the profile's; None: the profile's.
    max_examples: int | None = None
    # The same object for every requirement of a run (see SharedRun); a fresh one measures each alone.
    shared: SharedRun = field(default_factory=SharedRun)

    def remaining_s(self, default: float) -> float:
        """Seconds an exchange may take: `default`, or less when the deadline is nearer."""
        return default if self.deadline is None else min(default, self.deadline.remaining())


class Runner(Protocol):
    kind: CheckKind

    def run(self, requirement: Requirement, ctx: RunContext) -> Result:
        """Verify one requirement. Raise EngineFailure when nothing could be measured."""
        ...


def landed_kinds() -> frozenset[CheckKind]:
    """The check kinds this harness version can run; others must be `status: planned` in a profile."""
    return frozenset(_REGISTRY)


_instances: dict[CheckKind, Runner] = {}


def get_runner(kind: CheckKind) -> Runner:
    if kind not in _instances:
        module_name, _, attribute = _REGISTRY[kind].partition(":")
        factory = getattr(importlib.import_module(module_name), attribute)
        _instances[kind] = factory()
    return _instances[kind]
