"""Baselines (accepted failures with an expiry) and certification runs: the file is checked, scoring keeps the
verdict honest and gives the CI job's verdict apart, expired entries fail the job, passing ones are named, every
report shows the entry, and a certification run refuses what would excuse or leave out a requirement."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest

from conformance.errors import BaselineError, UsageError
from conformance.inputs.profiles import load_profile
from conformance.model import Outcome
from conformance.reporters.html import render_html
from conformance.reporters.junit import render_junit
from conformance.reporters.markdown import render_markdown
from conformance.scoring.scorecard import score_run
from conformance.session.execute import start_run
from conformance.supplier.baseline import load_baseline
from tests.unit.test_scoring import SCORECARD_SCHEMA, profile, req, res

ENTRY = {"reason": "locking lands in 2.4 | <b>", "accepted_by": "J. Smith", "expires": "2027-03-31"}


def _card(outcomes: dict[str, Outcome], baseline: dict[str, dict[str, str]], on: str = "2027-01-01") -> dict:
    p = profile(*(req(rid) for rid in outcomes))
    card = score_run(p, [res(rid, o) for rid, o in outcomes.items()], baseline=baseline, on=on)
    jsonschema.validate(card, SCORECARD_SCHEMA)
    return dict(card)


def test_a_baselined_failure_keeps_the_verdict_honest_and_lets_the_job_pass() -> None:
    card = _card({"A-1": Outcome.PASS, "A-2": Outcome.FAIL}, {"A-2": ENTRY})
    assert card["verdict"] == "non-conformant" and card["score"] == 50.0
    assert card["baseline"] == {"accepted": ["A-2"], "expired": [], "now_passing": [], "verdict": "conformant",
                                "verdict_reason": "every active MUST requirement passed and nothing errored"}
    row = {r["id"]: r for r in card["requirements"]}["A-2"]
    assert row["baselined"] == {**ENTRY, "expired": False} and row["outcome"] == "fail"


def test_an_expired_entry_fails_the_job_by_name_and_a_passing_one_is_named() -> None:
    card = _card({"A-1": Outcome.PASS, "A-2": Outcome.FAIL}, {"A-1": ENTRY, "A-2": ENTRY}, on="2027-03-31")
    assert card["baseline"]["expired"] == ["A-1", "A-2"] and card["baseline"]["accepted"] == []
    assert card["baseline"]["verdict"] == "non-conformant"
    assert card["baseline"]["verdict_reason"] == "baseline entries expired: A-1, A-2"
    fresh = _card({"A-1": Outcome.PASS, "A-2": Outcome.FAIL}, {"A-1": ENTRY}, on="2027-03-30")
    assert fresh["baseline"]["now_passing"] == ["A-1"] and fresh["baseline"]["verdict"] == "non-conformant"


def test_without_a_baseline_the_scorecard_has_no_baseline_section() -> None:
    assert "baseline" not in _card({"A-1": Outcome.PASS}, baseline=None)  # type: ignore[arg-type]


def test_reports_show_the_entry() -> None:
    card = _card({"A-1": Outcome.FAIL, "A-2": Outcome.FAIL}, {"A-1": ENTRY, "A-2": {**ENTRY, "expires": "2026-01-01"}})
    md = render_markdown(card)
    assert "### Baseline (the CI job goes by: non-conformant" in md and "**A-2** **expired**" in md
    assert "A-1** accepted failure; locking lands in 2.4" in md
    cases = {c.get("name"): c for c in ET.fromstring(render_junit(card)).iter("testcase")}
    skipped = cases["A-1 A-1"].find("skipped")
    assert skipped is not None and skipped.get("message", "").startswith("baselined: locking lands in 2.4")
    failure = cases["A-2 A-2"].find("failure")
    assert failure is not None and failure.get("message", "").startswith("baseline expired 2026-01-01")
    html = render_html(card)
    assert "Baselined</strong> until 2027-03-31 by J. Smith" in html and "&lt;b&gt;" in html and "<b>" not in html


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "baseline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_load_baseline_reads_unquoted_dates_and_checks_ids(tmp_path: Path) -> None:
    pole = load_profile("pole-records")
    ok = _write(tmp_path, "profile: pole-records\nentries:\n  - requirement: POLE-REC-005\n    reason: r\n"
                          "    accepted_by: QA lead\n    expires: 2027-03-31\n")
    assert load_baseline(ok, pole) == {"POLE-REC-005": {"reason": "r", "accepted_by": "QA lead",
                                                        "expires": "2027-03-31"}}


@pytest.mark.parametrize(("text", "expected"), [
    ("profile: pole-records\nentries:\n  - requirement: POLE-NOPE-001\n    reason: r\n    accepted_by: a\n"
     "    expires: 2027-01-01\n", "baseline.yaml:3: entries[0].requirement: POLE-NOPE-001 is not a requirement"),
    ("profile: pole-records\nentries:\n  - requirement: POLE-REC-005\n    reason: r\n    expires: 2027-01-01\n",
     "missing required key 'accepted_by'"),
    ("profile: pole-records\nentries:\n  - requirement: POLE-REC-005\n    reason: r\n    accepted_by: a\n"
     "    expires: 2027-02-30\n", "baseline.yaml:6: entries[0].expires: '2027-02-30' cannot be read"),
    ("profile: case-file\nentries: []\n", "a baseline for case-file, not pole-records"),
    ("profile: pole-records\nentries:\n" + "  - {requirement: POLE-REC-005, reason: r, accepted_by: a, "
     "expires: 2027-01-01}\n" * 2, "POLE-REC-005 is listed twice"),
], ids=["unknown-id", "missing-key", "not-a-date", "other-profile", "twice"])
def test_load_baseline_refuses_with_a_located_message(tmp_path: Path, text: str, expected: str) -> None:
    with pytest.raises(BaselineError, match=re.escape(expected)) as raised:
        load_baseline(_write(tmp_path, text), load_profile("pole-records"))
    assert isinstance(raised.value, UsageError) and "\n" not in str(raised.value)


class _Silent:
    def __getattr__(self, name: str) -> object:
        return lambda *a, **k: None


@pytest.mark.parametrize(("kwargs", "named"), [
    ({"tier": "quick"}, "the quick tier"),
    ({"tier": "full", "only": ("POLE-REC-001",)}, "--only"),
    ({"tier": "full", "skip": ("POLE-REC-001",)}, "--skip"),
    ({"tier": "full", "scoring": {"baseline": {"POLE-REC-005": ENTRY}}}, "a baseline"),
    ({"tier": "full", "scoring": {"waivers": {"POLE-REC-005": "r"}}}, "waivers"),
])
def test_a_certification_run_refuses_what_would_excuse_or_leave_out_a_requirement(
        tmp_path: Path, kwargs: dict, named: str) -> None:
    with pytest.raises(BaselineError, match=f"a certification run refuses {named}"):
        start_run("pole-records", "http://127.0.0.1:9", runs_dir=tmp_path, listener=_Silent(),  # type: ignore[arg-type]
                  certification=True, **kwargs)
    assert not any(tmp_path.iterdir())  # nothing created


def test_only_a_certification_run_records_certification(tmp_path: Path) -> None:
    from conformance.engine.rundir import RunDir
    from conformance.engine.runmeta import RunMeta
    from conformance.session.execute import scorecard_of

    pole = load_profile("pole-records")
    for certification in (False, True):
        meta = RunMeta(harness={"name": "conformance-harness", "version": "0"},
                       profile={"id": pole.id, "version": pole.version, "digest": pole.digest, "path": pole.path},
                       target={"base_url": "http://127.0.0.1:9", "source": "http://127.0.0.1:9"}, seed=1, tier="full",
                       started_at="2027-01-01T00:00:00Z", certification=certification)
        assert ("certification" in meta.to_dict()) is certification
        run_dir = RunDir.create(tmp_path / str(certification), meta, supplier="s", profile_id=pole.id)
        assert RunDir.open(run_dir.path).meta.certification is certification
        card = scorecard_of(run_dir, pole)
        jsonschema.validate(card, SCORECARD_SCHEMA)
        assert card["run"].get("certification", False) is certification
