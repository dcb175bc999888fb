"""Shared fixtures: reference suppliers started as real processes on 127.0.0.1, and CLI runs against them.

The expensive runs (a whole profile against the clean reference, and against `schema-drift`) happen once
per session and are shared by the end-to-end tests and the detection matrix.

Every test is marked with its tier, the name of its folder (tests/README.md says where a new test goes), and
`serial` when it must not run beside other work at equal priority: it measures load (a busy machine makes a load
generator miss its schedule), as tests/load, the matrix's load-bearing rows and the users of the whole clean run
do. `make test` runs the serial tests in their own session at normal priority and, at the same time, the rest two
at a time (pytest-xdist, tests sharing a session run grouped on one worker) at the idle scheduling policy.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from conformance.engine.processes import launched, run_command
from conformance.inputs.checks import ProfileChecks, load_checks
from conformance.runners.load import UNKEPT_SCHEDULE
from fixtures.kit.launch import reference_command, reference_stack, restartable_target

# No per-example deadline in the suite's own properties: a deadline is a timed assertion, and on a shared
# two-core machine a busy neighbour made one fail (test_scoring's verdict rules). Speed is measured in benchmarks/.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")

# `make test` starts both its sessions in the background of a shell without job control, which starts them with
# SIGINT ignored, and Python then installs no KeyboardInterrupt handler: Ctrl-C would leave them running for minutes.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

ROOT = Path(__file__).resolve().parent.parent
SEED = "20261124"


def shipped_checks(profile_id: str, version: str = "1.0.0") -> ProfileChecks:
    """The Python checks of a shipped profile (profiles/<id>/<version>/checks/), as the profile loader loads them."""
    return load_checks(ROOT / "profiles" / profile_id / version, profile_id, version)


RUN_TIMEOUT_S = 600


TIERS = ("unit", "component", "e2e", "matrix", "load", "browser")
SERIAL_TIERS = ("load",)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.path)).parent.name
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid}: every test lives in a tier folder ({', '.join(TIERS)}); "
                                    "see tests/README.md")
        item.add_marker(getattr(pytest.mark, tier))
        uses = getattr(item, "fixturenames", ())
        if tier in SERIAL_TIERS or "clean_run" in uses:  # the clean run measures load
            item.add_marker(pytest.mark.serial)
        elif "drift_run" in uses:  # one worker makes it, for every test that reads it
            item.add_marker(pytest.mark.xdist_group("pole-records-drift"))


def conformance(*args: str, env: dict[str, str] | None = None, timeout: float = RUN_TIMEOUT_S,
                cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    """Run the real `conformance` command as a user would."""
    return run_command([sys.executable, "-m", "conformance", *args], cwd=cwd, timeout=timeout,
                       env={"COLUMNS": "200", **(env or {})})


@contextmanager
def reference(*faults: str, api_key_env: str | None = None, env: dict[str, str] | None = None,
              log: Path | None = None, extra: Sequence[str] = ()) -> Iterator[str]:
    """A reference supplier process on a free loopback port; yields its base URL."""
    with launched([*reference_command("pole-records", faults, api_key_env=api_key_env), *extra], env=env,
                  log_path=log) as url:
        yield url


def only_run_dir(runs_dir: Path) -> Path:
    dirs = [p for p in runs_dir.iterdir() if p.is_dir()]
    assert len(dirs) == 1, f"expected one run under {runs_dir}, found {dirs}"
    return dirs[0]


def read_scorecard(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "scorecard.json").read_text(encoding="utf-8"))
    return data


def outcomes(card: dict[str, Any]) -> dict[str, str]:
    return {r["id"]: r["outcome"] for r in card["requirements"]}


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    run_dir: Path
    scorecard: dict[str, Any]
    url: str
    # What `run_against(after=...)` found while the supplier was still up (a replay of the findings).
    after: Any = None


def skip_load(profile: str) -> list[str]:
    """`--skip ID` for each load requirement of a profile."""
    from conformance.inputs.profiles import load_profile
    from conformance.model import CheckKind

    return [arg for r in load_profile(profile).requirements if r.check.kind is CheckKind.LOAD
            for arg in ("--skip", r.id)]


def run_profile(url: str, runs_dir: Path, *extra: str, profile: str = "pole-records", target: str | None = None) -> Run:
    """`conformance run` of `profile` against `url` (or `target`, a targets file naming it, when given)."""
    proc = conformance("run", profile, "--target", target or url, "--seed", SEED, "--runs-dir", str(runs_dir),
                       *extra)
    run_dir = only_run_dir(runs_dir)
    return Run(proc.returncode, proc.stdout, proc.stderr, run_dir, read_scorecard(run_dir), url)


def run_against(faults: Sequence[str], runs_dir: Path, *extra: str, profile: str = "pole-records",
                after: Callable[[Run], Any] | None = None) -> Run:
    """A run of `profile` against its reference supplier with `faults`, started (with any systems it talks to)
    for this run alone; logs beside `runs_dir`. `after(run)`, called while the supplier is still up, is kept as
    `run.after`."""
    logs = runs_dir.parent / f"{runs_dir.name}-logs"
    logs.mkdir(parents=True, exist_ok=True)
    with reference_stack(profile, faults, log_dir=logs) as (url, systems):
        system_args = [arg for name, system_url in systems.items() for arg in ("--system", f"{name}={system_url}")]
        # a profile whose requirements restart the target gets the reference's restart hook, in a targets file
        target = restartable_target(url, logs) if _restarts_target(profile) else None
        run = run_profile(url, runs_dir, *system_args, *extra, profile=profile, target=target)
        if after is not None:
            run.after = after(run)
        return run


def _restarts_target(profile: str) -> bool:
    from conformance.inputs.profiles import load_profile
    from conformance.session.execute import restart_needed

    loaded = load_profile(profile)
    return any(restart_needed(loaded, r) for r in loaded.requirements)


UNKEPT = UNKEPT_SCHEDULE  # how the harness's reason for a load it left unmeasured begins: an error, never a verdict
REMEASURES = 2


def unkept_schedule(run: Run) -> dict[str, str]:
    """The load requirements of `run` that the harness left unmeasured because its generator fell behind its
    schedule (on a machine the other tiers share, a stall of a few tens of milliseconds is enough)."""
    return {r["id"]: r["reason"] for r in run.scorecard["requirements"]
            if r["outcome"] == "error" and (r.get("reason") or "").startswith(UNKEPT)}


def measured(make: Callable[[], Run], label: str) -> Run:
    """`make()`'s run, made again (at most REMEASURES times, each with a warning naming it) while the harness
    itself declared one of its loads unmeasured: its own `error`, never a verdict, as a user would measure again.
    A failure or a pass is never re-run, nor hidden: a new measurement replaces the old only when every
    requirement but the unmeasured loads came out the same in both; otherwise the first run stands (and fails
    its test, naming what differed). A run still unmeasured after that is returned as it is, and fails its test."""
    run = make()
    for _ in range(REMEASURES):
        unkept = unkept_schedule(run)
        if not unkept:
            break
        warnings.warn(f"{label} measured again: {unkept}", stacklevel=2)
        again = make()
        aside = set(unkept) | set(unkept_schedule(again))
        first, second = ({rid: got for rid, got in outcomes(r.scorecard).items() if rid not in aside}
                         for r in (run, again))
        if first != second:
            differ = {rid: (first.get(rid), second.get(rid)) for rid in first.keys() | second.keys()
                      if first.get(rid) != second.get(rid)}
            warnings.warn(f"{label}: measured again, other requirements came out differently (first, second): "
                          f"{differ}; the first run stands", stacklevel=2)
            return run
        run = again
    return run


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The whole profile against the clean reference supplier, once per session (measured again if its load
    generator fell behind: `measured`)."""
    return measured(lambda: run_against([], tmp_path_factory.mktemp("clean") / "runs"), "pole-records clean run")


@pytest.fixture(scope="session")
def drift_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    """The whole profile against `--fault schema-drift`; the supplier stays up so findings can be replayed."""
    runs = tmp_path_factory.mktemp("drift") / "runs"
    # schema-drift shows in every answer, with or without load: the load requirements (about 40 s) are the
    # clean run's and the load faults' business, so this run leaves them out.
    with reference("schema-drift", log=runs.parent / "reference.log") as url:
        yield run_profile(url, runs, *skip_load("pole-records"))
