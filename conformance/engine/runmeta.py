"""run.json as a typed record: what a run was asked to do and where it stands.

`RunMeta.from_dict` reads a run.json (a missing or mistyped key is a RunDirError naming it); `to_dict` writes it
back with the same keys, plus any key a newer harness wrote that this one does not know (`extra`), so reopening a
run never drops what it recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

from conformance.errors import RunDirError

__all__ = ["RunMeta", "RunStatus"]


class RunStatus(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    INTERRUPTED = "interrupted"


@dataclass
class RunMeta:
    harness: dict[str, str]  # {"name", "version"}
    profile: dict[str, Any]  # {"id", "version", "digest", "path"}
    target: dict[str, Any]  # Target.to_dict(): no secrets, only the names of the variables holding them
    seed: int
    tier: str
    started_at: str
    budget_s: int | None = None
    only: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)
    finished_at: str | None = None
    status: RunStatus = RunStatus.RUNNING
    resumed_at: list[str] = field(default_factory=list)
    scoring: dict[str, Any] = field(default_factory=dict)  # a tender's waivers and category weights
    load: dict[str, Any] = field(default_factory=dict)  # load sized by the buyer
    systems_given: dict[str, str] = field(default_factory=dict)  # other systems by name -> URL
    systems_started: dict[str, Any] | None = None  # other systems the harness started for this run
    run_id: str = ""
    certification: bool = False  # a certification run (--certify): full tier, no selection, waiver or baseline
    # The run's time budget as applied: {"budget_s", "budget_from", "probe": the target's answer time measured
    # before the first requirement} (each requirement's share is in its result's measurements, `budget`)
    timing: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        return self.status == RunStatus.FINISHED

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extra" or (f.name == "systems_started" and value is None) \
                    or (f.name in ("certification", "timing") and not value):
                continue
            out[f.name] = str(value) if f.name == "status" else value
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, data: Any, *, file: str) -> RunMeta:
        if not isinstance(data, dict):
            raise RunDirError("run.json is not a JSON object", file=file, fix="the run cannot be used; start a new one")
        known = {f.name for f in fields(cls)} - {"extra"}
        values = {k: v for k, v in data.items() if k in known}
        missing = [name for name in ("harness", "profile", "target", "seed", "tier", "started_at")
                   if name not in values]
        if missing:
            raise RunDirError(f"run.json lacks {', '.join(missing)}", file=file,
                              fix="the run cannot be resumed or rescored; start a new one")
        for name in ("harness", "profile", "target"):
            if not isinstance(values[name], dict):
                raise RunDirError("must be an object", file=file, key=name, fix="start a new run")
        try:
            values["status"] = RunStatus(values.get("status", RunStatus.RUNNING))
            values["seed"] = int(values["seed"])
        except (ValueError, TypeError) as exc:
            raise RunDirError(f"run.json is inconsistent: {exc}", file=file, fix="start a new run") from None
        return cls(**values, extra={k: v for k, v in data.items() if k not in known})
