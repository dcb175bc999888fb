"""Lifecycle and decision records (governance.yaml): one case per consistency rule, located lint errors, what a
result is worth on a given day, which version a bare profile id means, and the scorecard's record of it."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import jsonschema
import pytest

from conformance.errors import UsageError
from conformance.inputs.lifecycle import inconsistencies
from conformance.inputs.profiles import lint_profile, load_profile, resolve_profile
from conformance.model import Decision, Lifecycle, ProfileStatus
from conformance.schemas import load_schema
from conformance.scoring.scorecard import score_run

ROOT = Path(__file__).resolve().parents[2]
D = dt.date.fromisoformat
DECISION = Decision("Board", D("2026-01-10"), "because")
ACTIVE = Lifecycle(ProfileStatus.ACTIVE, published=D("2026-01-15"), decision=DECISION)
DEPRECATED = Lifecycle(ProfileStatus.DEPRECATED, published=D("2026-01-15"), deprecated=D("2026-06-01"),
                       retires=D("2027-06-30"), superseded_by="2.0.0", decision=DECISION)
RETIRED = Lifecycle(ProfileStatus.RETIRED, published=D("2026-01-15"), deprecated=D("2026-06-01"),
                    retires=D("2026-09-30"), superseded_by="2.0.0", decision=DECISION)


def _with(life: Lifecycle, **changes: object) -> Lifecycle:
    return Lifecycle(**{**life.__dict__, **changes})  # type: ignore[arg-type]


@pytest.mark.parametrize(("life", "key", "says"), [
    (_with(ACTIVE, decision=None), "decision", "needs its decision record"),
    (_with(ACTIVE, published=None), "published", "needs the day it was published"),
    (Lifecycle(ProfileStatus.DRAFT, published=D("2026-01-01")), "published", "a draft has not been published"),
    (_with(ACTIVE, retires=D("2027-01-01")), "retires", "an active version has no deprecation"),
    (_with(DEPRECATED, deprecated=None), "deprecated", "needs the day it was deprecated"),
    (_with(DEPRECATED, retires=None), "retires", "until when results stay valid"),
    (_with(RETIRED, superseded_by=None), "superseded_by", "a retired version must name its successor"),
    (_with(DEPRECATED, deprecated=D("2025-12-01")), "deprecated", "is before published"),
    (_with(DEPRECATED, retires=D("2026-05-01")), "retires", "is before deprecated"),
    (_with(ACTIVE, decision=Decision("Board", D("2026-02-01"), "late")), "decision.decided_on", "after it was"),
    (_with(ACTIVE, supersedes="1.0.0"), "supersedes", "is not earlier than 1.0.0"),
    (_with(DEPRECATED, superseded_by="0.9.0"), "superseded_by", "is not later than 1.0.0"),
])
def test_each_lifecycle_rule(life: Lifecycle, key: str, says: str) -> None:
    found = inconsistencies(life, "1.0.0")
    assert [(i.key, says in i.problem) for i in found] == [(key, True)], found


@pytest.mark.parametrize("life", [ACTIVE, DEPRECATED, RETIRED, Lifecycle(ProfileStatus.DRAFT, supersedes="0.9.0")])
def test_consistent_records_pass(life: Lifecycle) -> None:
    assert inconsistencies(life, "1.0.0") == []


def test_validity_says_until_when_and_since_when() -> None:
    day = D("2026-12-05")
    assert ACTIVE.validity(day).text == "valid (active version)"
    assert DEPRECATED.validity(day).text.startswith("valid until 2027-06-30")
    assert DEPRECATED.validity(day).valid
    assert RETIRED.validity(day).text == "no longer valid: retired on 2026-09-30; superseded by 2.0.0"
    assert not RETIRED.validity(day).valid
    after = DEPRECATED.validity(D("2027-06-30"))  # a deprecated version past its date is retired
    assert after.status is ProfileStatus.RETIRED and after.text.startswith("no longer valid: retired on 2027-06-30")
    assert not Lifecycle(ProfileStatus.DRAFT).validity(day).valid


GOVERNANCE = """\
status: deprecated
published: 2026-11-24
deprecated: 2026-12-01
retires: 2027-06-30
superseded_by: 1.1.0
decision: {decided_by: Board, decided_on: 2026-11-20, rationale: because}
"""


@pytest.fixture
def pole_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "profiles" / "pole-records" / "1.0.0"
    shutil.copytree(ROOT / "profiles" / "pole-records" / "1.0.0", folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setenv("CONFORMANCE_PROFILES_PATH", str(tmp_path / "profiles"))
    return folder


def test_governance_yaml_is_read_and_left_out_of_the_digest(pole_copy: Path) -> None:
    before = load_profile(pole_copy).digest
    (pole_copy / "governance.yaml").write_text(GOVERNANCE, encoding="utf-8")
    profile = load_profile(pole_copy)
    assert profile.status is ProfileStatus.DEPRECATED and profile.governance.retires == D("2027-06-30")
    assert profile.governance.decision and profile.governance.decision.decided_by == "Board"
    assert profile.digest == before


@pytest.mark.parametrize(("text", "line", "key", "says"), [
    (GOVERNANCE.replace("retires: 2027-06-30\n", "retires: 2026-11-30\n"), 4, "retires",
     "retires 2026-11-30 is before deprecated 2026-12-01; dates go in order"),
    (GOVERNANCE.replace("superseded_by: 1.1.0\n", "superseeded_by: 1.1.0\n"), 5, "superseeded_by",
     "unknown key; did you mean 'superseded_by'?"),
    (GOVERNANCE.replace("status: deprecated", "status: deprecate"), 1, "status", "did you mean 'deprecated'?"),
    (GOVERNANCE.replace("retires: 2027-06-30", "retires: '2027-13-45'"), 4, "retires", "is not a date"),
])
def test_lint_locates_each_governance_problem(pole_copy: Path, text: str, line: int, key: str, says: str) -> None:
    (pole_copy / "governance.yaml").write_text(text, encoding="utf-8")
    problems = lint_profile(pole_copy)
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert (problem.file, problem.line, problem.key) == (str(pole_copy / "governance.yaml"), line, key)
    assert says in str(problem)


def test_status_in_profile_yaml_beside_governance_yaml_is_refused(pole_copy: Path) -> None:
    profile_yaml = pole_copy / "profile.yaml"
    profile_yaml.write_text(profile_yaml.read_text().replace("title:", "status: active\ntitle:", 1))
    (problem,) = lint_profile(pole_copy)
    assert problem.key == "status" and "remove `status:` from profile.yaml" in str(problem)


def test_a_bare_id_means_the_latest_active_version_never_a_draft(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "profiles" / "mini"
    for version, status in (("1.0.0", "deprecated"), ("1.1.0", "active"), ("2.0.0", "draft")):
        (root / version).mkdir(parents=True)
        (root / version / "profile.yaml").write_text(f"id: mini\nversion: {version}\n")
        (root / version / "governance.yaml").write_text(f"status: {status}\n")
    monkeypatch.setenv("CONFORMANCE_PROFILES_PATH", str(tmp_path / "profiles"))
    assert resolve_profile("mini") == root / "1.1.0"
    assert resolve_profile("mini@2.0.0") == root / "2.0.0"
    (root / "1.1.0" / "governance.yaml").write_text("status: retired\n")
    assert resolve_profile("mini") == root / "1.0.0"  # no active one: the latest deprecated
    (root / "1.0.0" / "governance.yaml").write_text("status: retired\n")
    with pytest.raises(UsageError, match="no active version"):
        resolve_profile("mini")


def test_the_scorecard_records_the_lifecycle_at_run_time_and_validity_as_of_a_day(pole_copy: Path) -> None:
    (pole_copy / "governance.yaml").write_text(GOVERNANCE, encoding="utf-8")
    profile = load_profile(pole_copy)
    at_run = {**profile.governance.to_dict(), "status": "deprecated"}
    scorecard = score_run(profile, [], lifecycle_at_run=at_run, as_of=D("2027-07-01"))
    jsonschema.validate(scorecard, load_schema("scorecard"))
    assert scorecard["profile"]["status"] == "deprecated"
    assert scorecard["profile"]["lifecycle"]["retires"] == "2027-06-30"
    assert scorecard["profile"]["validity"]["text"].startswith("no longer valid: retired on 2027-06-30")
    assert "validity" not in score_run(profile, [])["profile"]  # pure callers that give no day get none
