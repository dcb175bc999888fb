"""The run directory keeps every finished result, even a half-written last line, and reopens for resume."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.engine.rundir import RunDir, RunMeta
from conformance.errors import RunDirError
from conformance.model import Finding, Outcome, Result


def meta(**changes: object) -> RunMeta:
    return RunMeta.from_dict({"harness": {"name": "conformance-harness", "version": "t"},
                              "profile": {"id": "p", "version": "1.0.0", "digest": "sha256:0", "path": "p"},
                              "target": {"name": "t"}, "seed": 1, "tier": "quick",
                              "started_at": "2026-12-05T00:00:00Z", **changes}, file="run.json")


def test_results_round_trip_and_last_wins(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, meta(), supplier="Acme Ltd!", profile_id="pole-records")
    assert run.path.name.endswith("-acme-ltd-pole-records")
    finding = Finding("A-1", "not_a_server_error", "Server error", "500", operation="POST /x", curl="curl x")
    run.append_result(Result("A-1", Outcome.ERROR, reason="flaky"))
    run.append_result(Result("A-1", Outcome.FAIL, (finding,)))
    run.append_result(Result("A-2", Outcome.PASS, measurements={"requests": 3}))
    results, warnings = RunDir.open(run.path).results()
    assert not warnings
    by_id = {r.requirement_id: r for r in results}
    assert by_id["A-1"].outcome is Outcome.FAIL and by_id["A-1"].findings == (finding,)
    assert by_id["A-2"].measurements == {"requests": 3}


def test_torn_last_line_is_ignored_with_a_warning(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, meta(), supplier="s", profile_id="p")
    run.append_result(Result("A-1", Outcome.PASS))
    with (run.path / "results.jsonl").open("a") as fh:
        fh.write('{"requirement_id": "A-2", "outc')
    results, warnings = run.results()
    assert [r.requirement_id for r in results] == ["A-1"]
    assert len(warnings) == 1 and "results.jsonl:2" in warnings[0]


def test_two_runs_in_the_same_second_get_distinct_directories(tmp_path: Path) -> None:
    a = RunDir.create(tmp_path, meta(), supplier="s", profile_id="p")
    b = RunDir.create(tmp_path, meta(), supplier="s", profile_id="p")
    assert a.path != b.path and a.meta.run_id == a.path.name


def test_open_rejects_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(RunDirError, match="not a run directory"):
        RunDir.open(tmp_path)


def test_run_json_round_trips_and_keeps_keys_it_does_not_know(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path, meta(only=["A-1"], bundle={"signed_by": "k1"}), supplier="s", profile_id="p")
    run.update_meta(status="finished", finished_at="2026-12-05T00:01:00Z")
    again = RunDir.open(run.path)
    assert again.meta.finished and again.meta.only == ["A-1"] and again.meta.extra == {"bundle": {"signed_by": "k1"}}
    assert again.meta.to_dict() == run.meta.to_dict()


@pytest.mark.parametrize(("text", "says"), [("[]", "not a JSON object"), ('{"seed": 1}', "lacks harness, profile"),
                                            ("{", "unreadable")])
def test_a_broken_run_json_is_a_located_error(tmp_path: Path, text: str, says: str) -> None:
    (tmp_path / "run.json").write_text(text)
    with pytest.raises(RunDirError, match=says) as refused:
        RunDir.open(tmp_path)
    assert "run.json" in str(refused.value)
