"""Replay a bundled run against a system: the same profile folder (digest checked), seed, tier and selection,
then compare each requirement's outcome, and the request fingerprint of schema requirements
(`request_sequence_sha256`, the same for the same seed against the same behaviour), with the recorded ones.

The replay imports and runs the bundled profile's Python checks: call it only on a bundle that verified.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.audit.archive import check_name
from conformance.audit.bundle import BundleContents
from conformance.engine.rundir import RunDir
from conformance.errors import BundleError
from conformance.inputs.profiles import profile_digest
from conformance.model import Result
from conformance.session.execute import RunListener, RunOutcome, start_run

__all__ = ["FINGERPRINT", "Difference", "Replay", "compare_results", "replay_run"]

FINGERPRINT = "request_sequence_sha256"


@dataclass(frozen=True)
class Difference:
    requirement_id: str
    what: str  # "outcome" or "request fingerprint"
    recorded: str
    replayed: str


@dataclass(frozen=True)
class Replay:
    run_path: str
    outcome: RunOutcome
    compared: int
    differences: tuple[Difference, ...]


def compare_results(recorded: list[Result], replayed: list[Result]) -> tuple[int, list[Difference]]:
    """How many requirements were compared, and where the replay differs from the record."""
    before = {r.requirement_id: r for r in recorded}
    after = {r.requirement_id: r for r in replayed}
    differences = []
    for rid in sorted(set(before) | set(after)):
        old, new = before.get(rid), after.get(rid)
        old_outcome = old.outcome.value if old else "absent"
        new_outcome = new.outcome.value if new else "absent"
        if old_outcome != new_outcome:
            differences.append(Difference(rid, "outcome", old_outcome, new_outcome))
            continue
        old_print = (old.measurements if old else {}).get(FINGERPRINT)
        new_print = (new.measurements if new else {}).get(FINGERPRINT)
        if old_print is not None and new_print is not None and old_print != new_print:
            differences.append(Difference(rid, "request fingerprint", str(old_print)[:16], str(new_print)[:16]))
    return len(set(before) | set(after)), differences


def _pick(contents: BundleContents, run_path: str | None) -> dict[str, Any]:
    runs = contents.runs()
    if run_path is None:
        if len(runs) == 1:
            return runs[0]
        raise BundleError(f"the bundle holds {len(runs)} runs; say which to replay", file=str(contents.root),
                          fix="add --run with one of: " + ", ".join(str(r.get("path")) for r in runs))
    for run in runs:
        if run.get("path") == run_path:
            return run
    raise BundleError(f"no run {run_path} in the bundle", file=str(contents.root),
                      fix="use one of: " + ", ".join(str(r.get("path")) for r in runs))


def replay_run(contents: BundleContents, target_spec: str, *, runs_dir: Path, listener: RunListener,
               run_path: str | None = None) -> Replay:
    claim = _pick(contents, run_path)
    path, profile_path = str(claim.get("path")), str((claim.get("profile") or {}).get("path"))
    if check_name(path) or check_name(profile_path):
        raise BundleError("the statement names a run or profile outside the bundle", file=str(contents.root),
                          fix="this bundle cannot be replayed")
    recorded_run = RunDir.open(contents.root / path)
    meta = recorded_run.meta
    folder = contents.root / profile_path
    if profile_digest(folder) != meta.profile.get("digest"):
        raise BundleError("the bundled profile is not the one the run recorded", file=str(folder),
                          fix="run `conformance verify` on the bundle first")
    outcome = start_run(str(folder), target_spec, runs_dir=runs_dir, listener=listener, seed=meta.seed,
                        tier=meta.tier, budget_s=meta.budget_s or meta.timing.get("budget_s"),  # the budget it had
                        only=tuple(meta.only), skip=tuple(meta.skip),
                        scoring=dict(meta.scoring), load=dict(meta.load),
                        params=dict(meta.target.get("params") or {}))  # the same records as the recorded run
    recorded, _ = recorded_run.results()
    replayed, _ = outcome.run_dir.results()
    compared, differences = compare_results(recorded, replayed)
    return Replay(path, outcome, compared, tuple(differences))
