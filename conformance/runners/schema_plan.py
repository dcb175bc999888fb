"""Which schema requirements share an engine run (a pass), and what the pass asks of the engine.

Requirements that ask for no check with different options (the same check with two `expected_statuses` cannot run
in one engine) are one pass, in order. The pass runs the union of their phases; each phase generates in the union
of the modes its members ask for (positive and negative together are `all`), with the largest example budget any
of them asks for it; every answer is checked against the union of their checks. Each member is then judged only on
the cases of its own phases and mode (`Member.judges`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.inputs.targets import Target
from conformance.model import Requirement

__all__ = ["ALL_PHASES", "DEFAULT_MAX_EXAMPLES", "Member", "engine_config", "path_parameters", "plan_passes"]

ALL_PHASES = ("examples", "coverage", "fuzzing", "stateful")
DEFAULT_MAX_EXAMPLES = 20
_BUDGETED_PHASES = ("fuzzing", "stateful")  # the phases an example budget applies to
# Checks whose `expected_statuses` option the engine takes as the check's `expected-statuses`.
_STATUS_CHECKS = ("positive_data_acceptance", "negative_data_rejection", "not_a_server_error",
                  "missing_required_header")


@dataclass(frozen=True)
class Member:
    """What one schema requirement asks of the engine."""

    requirement: Requirement
    mode: str  # positive | negative | all
    phases: tuple[str, ...]
    max_examples: int  # before the tier's factor
    checks: dict[str, dict[str, Any]]  # check name -> its engine options

    @classmethod
    def of(cls, requirement: Requirement) -> Member:
        options = requirement.check.options
        checks: dict[str, dict[str, Any]] = {}
        for name in options["checks"]:
            entry: dict[str, Any] = {"enabled": True}
            if "expected_statuses" in options and name in _STATUS_CHECKS:
                entry["expected-statuses"] = list(options["expected_statuses"])
            checks[name] = entry
        return cls(requirement, str(options.get("mode", "all")), tuple(options.get("phases", ALL_PHASES)),
                   int(options.get("max_examples", DEFAULT_MAX_EXAMPLES)), checks)

    @property
    def id(self) -> str:
        return self.requirement.id

    def judges(self, phase: str, mode: str | None) -> bool:
        """Whether a case of this phase and generation mode is one this requirement asked for."""
        return phase in self.phases and (self.mode == "all" or mode == self.mode)


def plan_passes(requirements: list[Requirement]) -> list[list[Member]]:
    """Group schema requirements into passes, in order: a requirement joins the first pass none of whose checks it
    asks for with other options (the same check with two `expected_statuses` cannot run in one engine)."""
    passes: list[list[Member]] = []
    for requirement in requirements:
        member = Member.of(requirement)
        for group in passes:
            taken = {name: entry for other in group for name, entry in other.checks.items()}
            if all(taken.get(name, entry) == entry for name, entry in member.checks.items()):
                group.append(member)
                break
        else:
            passes.append([member])
    return passes


def _union_mode(modes: set[str]) -> str:
    return modes.pop() if len(modes) == 1 else "all"


def _phase_mode(phase: str, asking: list[Member]) -> str:
    """The generation mode of a phase: the union of what its members ask. Workflows (stateful) are generated in the
    modes the members with a mode ask for: a mode-`all` member takes any case, and a negative step breaks the
    chain a positive member needs followed."""
    if phase == "stateful":
        named = {m.mode for m in asking if m.mode != "all"}
        if named:
            return _union_mode(named)
    return _union_mode({m.mode for m in asking})


def engine_config(members: list[Member], target: Target, headers: dict[str, str], seed: int, *,
                  examples_factor: int, request_timeout_s: float, max_time_s: int | None,
                  max_examples: int | None = None) -> dict[str, Any]:
    """The schemathesis configuration of one pass (the keys of schemathesis.toml). A failure does not end an
    operation's generation (`continue-on-failure`): one member's failure must not cut the cases of the others.
    `max_examples`, when the run's time budget affords fewer than the profile asks (session/budget.py), caps
    every phase's examples."""

    def examples(asked: int) -> int:
        wanted = asked * examples_factor
        return wanted if max_examples is None else min(wanted, max_examples)

    checks: dict[str, Any] = {"enabled": False}
    for member in members:
        checks.update(member.checks)
    phases: dict[str, Any] = {}
    for phase in ALL_PHASES:
        asking = [m for m in members if phase in m.phases]
        phases[phase] = {"enabled": bool(asking)}
        if asking:
            generation: dict[str, Any] = {"mode": _phase_mode(phase, asking)}
            if phase in _BUDGETED_PHASES:  # the others generate every case the schema defines
                generation["max-examples"] = examples(max(m.max_examples for m in asking))
            phases[phase]["generation"] = generation
    config: dict[str, Any] = {
        "seed": seed,
        "cache": {"enabled": False},
        "base-url": target.base_url,
        "request-timeout": request_timeout_s,
        "headers": dict(headers),
        "workers": 1,
        "continue-on-failure": True,
        "generation": {
            "max-examples": examples(max(m.max_examples for m in members)),
            "mode": _union_mode({m.mode for m in members}),
            "database": "none",
        },
        "phases": phases,
        "checks": checks,
    }
    tls = target.tls
    if tls is not None:
        if tls.ca:
            config["tls-verify"] = tls.ca
        if tls.client_cert:
            config["request-cert"] = tls.client_cert
            config["request-cert-key"] = tls.client_key
    if max_time_s is not None:
        config["max-time"] = max_time_s
    if target.params:
        config["parameters"] = path_parameters(target.params)
    return config


def path_parameters(params: dict[str, str]) -> dict[str, str]:
    """The target's parameters as the engine's path-parameter overrides: a path parameter named like one (e.g.
    `{collectionId}`) takes its value instead of generated data, so operations reach the target's real records.
    A value holding `${` is left out: the engine would read it as an environment variable."""
    return {f"path.{name}": value for name, value in params.items() if "${" not in value}
