"""README's own commands, typed as README shows them, with their default options (end-to-end: real processes).

The default `--runs-dir runs` is relative to where the user stands, while the load generator runs in the
requirement's own folder: every path the harness hands a child process must survive that change of directory.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.engine.processes import candidate_command, launched
from tests.conftest import conformance, only_run_dir, read_scorecard

# README: "conformance reference serve --profile ID --port 0"
SERVE = "conformance reference serve --profile pole-records --port 0"
LOAD_REQUIREMENT = "POLE-PERF-001"  # the shortest load requirement: 40 arrivals/s for 6 s


@pytest.mark.slow
@pytest.mark.serial  # it measures load
def test_run_with_the_default_relative_runs_dir_measures_the_load(tmp_path: Path) -> None:
    """`conformance run pole-records --target URL` from a folder of the user's, no --runs-dir: the load
    requirement is measured (pass or fail, never `error`) and its results land under ./runs."""
    with launched(candidate_command(SERVE), log_path=tmp_path / "reference.log") as url:
        proc = conformance("run", "pole-records", "--target", url, "--only", LOAD_REQUIREMENT,
                           "--load-duration", "3", cwd=tmp_path, timeout=180)
    runs = tmp_path / "runs"  # the default, relative to the working directory
    run_dir = only_run_dir(runs)
    row = next(r for r in read_scorecard(run_dir)["requirements"] if r["id"] == LOAD_REQUIREMENT)
    folder = run_dir / "load" / LOAD_REQUIREMENT
    log = (folder / "locust.log").read_text(encoding="utf-8") if (folder / "locust.log").exists() else ""
    assert row["outcome"] != "error", (row.get("reason"), log[-1500:], proc.stdout[-1500:])
    assert row["outcome"] in ("pass", "fail")
    results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    assert results["schedule"]["scheduled"] > 0
    assert (folder / "locust.json").is_file()  # locust's own statistics, also written where the run dir says
    assert not list(folder.glob("runs")), "a child process wrote under a path relative to its own folder"
