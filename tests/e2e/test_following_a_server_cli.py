"""`conformance run --param` and `profiles lint` as a user runs them, on the paging profile of
tests/component/test_following_a_server.py: a missing required parameter stops the run before it starts (exit 2,
naming it and its description); with it, the run pages through the collection and reports the conditional
requirements as not-applicable; lint reports every problem of the profile and its scenarios at once."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.component.test_following_a_server import _profile, linked_pages
from tests.conftest import conformance


def test_run_needs_its_parameter_then_pages_and_reports_not_applicable(tmp_path: Path) -> None:
    folder = _profile(tmp_path / "profiles")
    runs = tmp_path / "runs"
    with linked_pages() as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        refused = conformance("run", str(folder), "--target", url, "--runs-dir", str(runs))
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert "needs parameter 'collection' (the id of a collection the target serves)" in refused.stderr
        assert "--param collection=VALUE" in refused.stderr and not runs.exists() and server.requests == []
        done = conformance("run", str(folder), "--target", url, "--runs-dir", str(runs),
                           "--param", "collection=lakes")
    assert done.returncode == 0, done.stdout + done.stderr  # conformant: every requirement that applies passed
    run_dir = next(runs.iterdir())
    card = json.loads((run_dir / "scorecard.json").read_text())
    outcomes = {r["id"]: r["outcome"] for r in card["requirements"]}
    assert outcomes == {"PAGE-NEXT-001": "pass", "PAGE-EACH-001": "pass", "PAGE-TIME-001": "not-applicable",
                        "PAGE-TIME-002": "not-applicable"}, card["requirements"]
    assert card["score"] == 100.0 and card["verdict"] == "conformant", card["verdict_reason"]
    assert json.loads((run_dir / "run.json").read_text())["target"]["params"] == {"collection": "lakes"}
    assert "not applicable: the target gives no parameter 'temporal_collection'" in done.stdout
    skipped = [c for c in ET.parse(run_dir / "junit.xml").iter("testcase") if c.find("skipped") is not None]
    assert len(skipped) == 2


def test_lint_reports_every_problem_at_once(tmp_path: Path) -> None:
    folder = _profile(tmp_path / "profiles")
    paging = folder / "scenarios" / "paging.yaml"
    paging.write_text(paging.read_text().replace('path: "${next}"', 'path: "${nxt}"'))
    each = folder / "scenarios" / "each.yaml"
    each.write_text(each.read_text().replace("${params.collection}/items/${item}", "${params.colection}/items/x"))
    profile = folder / "profile.yaml"
    profile.write_text(profile.read_text().replace("weight: 1\n", "weight: -1\n", 1))
    linted = conformance("profiles", "lint", str(folder))
    assert linted.returncode == 2, linted.stdout + linted.stderr
    assert "requirements[0].weight" in linted.stderr
    assert "${nxt} is used but no earlier step captures 'nxt'" in linted.stderr
    assert "the profile declares no parameter 'colection'" in linted.stderr
