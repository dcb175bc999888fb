"""Governing the standards from the command line (issue #18): `profiles diff`, `profiles lint --against`, and the
validity of results (a deprecated version's reports say until when; a retired one is refused without the flag)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.conftest import conformance

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = "http://127.0.0.1:9"  # nothing listens: every requirement run is an error, the reports still come


def _copy(tmp_path: Path, version: str) -> Path:
    folder = tmp_path / "profiles" / "pole-records" / version
    shutil.copytree(ROOT / "profiles" / "pole-records" / version, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def test_diff_of_1_0_0_and_the_2_0_0_draft_lists_the_breaking_changes() -> None:
    proc = conformance("profiles", "diff", "pole-records@1.0.0", "pole-records@2.0.0", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    diff = json.loads(proc.stdout)
    changes = diff["requirements"] + diff["interface"]
    breaking = {(c["rule"], c["where"]) for c in changes if c["severity"] == "breaking"}
    assert ("requirement-added-must", "POLE-IF-008") in breaking
    assert ("security-added", "POST /persons") in breaking
    markdown = conformance("profiles", "diff", "pole-records@1.0.0", "pole-records@2.0.0", "--format", "markdown")
    assert "| **breaking** | major | `POST /persons` | security requirement added" in markdown.stdout
    terminal = conformance("profiles", "diff", "pole-records@1.0.0", "pole-records@1.1.0")
    assert "0 breaking" in terminal.stdout and "status 413 added" in terminal.stdout


def test_list_and_show_give_status_dates_and_successor() -> None:
    listed = conformance("profiles", "list")
    assert listed.returncode == 0, listed.stderr
    rows = {tuple(cell.strip() for cell in line.split("│")[1:4]): line for line in listed.stdout.splitlines()
            if line.startswith("│")}
    assert "1.1.0" in rows[("pole-records", "1.0.0", "active")]  # its successor
    assert ("pole-records", "2.0.0", "draft") in rows
    shown = conformance("profiles", "show", "pole-records@1.1.0", "--json")
    lifecycle = json.loads(shown.stdout)["lifecycle"]
    assert (lifecycle["status"], lifecycle["published"], lifecycle["supersedes"]) == ("active", "2026-12-05", "1.0.0")
    assert lifecycle["decision"]["decided_by"].startswith("Network Code Board")


def test_lint_against_refuses_a_minor_version_that_sneaks_in_a_breaking_change(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "1.1.0")
    assert conformance("profiles", "lint", str(folder), "--against", "pole-records@1.0.0").returncode == 0
    openapi = folder / "openapi.yaml"
    text = openapi.read_text(encoding="utf-8")
    narrowed = "family_name: {type: string, minLength: 1, maxLength: 100}"
    assert text.count(narrowed) == 1
    openapi.write_text(text.replace(narrowed, narrowed.replace("100", "50")), encoding="utf-8")
    proc = conformance("profiles", "lint", str(folder), "--against", "pole-records@1.0.0")
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 2, proc.stderr  # createPerson and updatePerson take the same PersonInput
    for line in lines:
        assert "request body.family_name: maxLength 100 -> 50 (bound-narrowed, breaking) needs a major version: " \
               "2.0.0, not 1.1.0" in line
    assert "Traceback" not in proc.stderr


def _retire(folder: Path, status: str) -> None:
    dates = {"deprecated": "deprecated: 2026-12-01\nretires: 2099-06-30\n",
             "retired": "deprecated: 2026-01-01\nretires: 2026-06-30\n"}[status]
    (folder / "governance.yaml").write_text(
        f"status: {status}\npublished: 2025-11-24\n{dates}superseded_by: 1.1.0\n"
        "decision: {decided_by: Board, decided_on: 2025-11-20, rationale: because}\n", encoding="utf-8")


def test_a_retired_version_is_refused_without_the_flag(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "1.0.0")
    _retire(folder, "retired")
    args = ("run", str(folder), "--target", UNREACHABLE, "--only", "POLE-REC-001", "--runs-dir", str(tmp_path / "r"))
    proc = conformance(*args, timeout=120)
    assert proc.returncode == 2, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "retired on 2026-06-30" in lines[0] and "--allow-retired" in lines[0], proc.stderr
    assert not (tmp_path / "r").exists()
    allowed = conformance(*args, "--allow-retired", timeout=120)
    assert allowed.returncode == 3, allowed.stderr  # it ran (and could not reach the target)
    (run_dir,) = (tmp_path / "r").iterdir()
    assert "no longer valid: retired on 2026-06-30" in (run_dir / "report.md").read_text(encoding="utf-8")


def test_reports_of_a_deprecated_version_say_until_when(tmp_path: Path) -> None:
    folder = _copy(tmp_path, "1.0.0")
    _retire(folder, "deprecated")
    proc = conformance("run", str(folder), "--target", UNREACHABLE, "--only", "POLE-REC-001", "--runs-dir",
                       str(tmp_path / "r"), timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "valid until 2099-06-30" in proc.stdout
    (run_dir,) = (tmp_path / "r").iterdir()
    meta = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert meta["profile"]["lifecycle"]["status"] == "deprecated"
    assert "valid until 2099-06-30" in (run_dir / "report.md").read_text(encoding="utf-8")
    assert "valid until 2099-06-30" in (run_dir / "report.html").read_text(encoding="utf-8")
    # the body retires it early: `conformance report` says what the result is worth today
    _retire(folder, "retired")
    again = conformance("report", str(run_dir))
    assert again.returncode == 0, again.stderr
    assert "no longer valid: retired on 2026-06-30" in again.stdout
    scorecard = json.loads((run_dir / "scorecard.json").read_text(encoding="utf-8"))
    assert scorecard["profile"]["status"] == "deprecated"  # when it was run
    assert scorecard["profile"]["validity"]["status"] == "retired"  # today
