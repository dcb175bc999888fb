"""Scenario assertions beyond JSON pointers: JMESPath comparisons and JSON Schema (with $refs into the
profile's own interface), each failing with expected against actual, and each mistake in a scenario file
found by the linter with file, line and step."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest

from conformance.errors import SupplierFailure
from conformance.inputs.scenarios import lint_scenario
from conformance.runners.assertions import assert_response
from tests.conftest import ROOT, conformance

POLE = ROOT / "profiles" / "pole-records" / "1.0.0"
MIGRATION = ROOT / "profiles" / "records-migration" / "1.0.0"
RESULTS = {"items": [{"id": "a", "flags": [{"code": "warning-marker"}]},
                     {"id": "b", "flags": [{"code": "child-at-risk"}, {"code": "domestic-abuse-victim"}]}],
           "total": 2}


def answer(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def unmet(expect: dict[str, Any], body: Any, scenario: Path | None = None) -> str:
    with pytest.raises(SupplierFailure) as caught:
        assert_response({"status": 200, **expect}, answer(body), scenario)
    return str(caught.value)


def test_jmespath_picks_out_a_record_wherever_it_is_listed() -> None:
    assert_response({"status": 200, "jmespath": {"items[?id=='b'] | [0].flags[].code": {"contains_all": [
        "child-at-risk"]}, "length(items)": 2, "total": {"gte": 2}}}, answer(RESULTS))
    message = unmet({"jmespath": {"items[?id=='a'] | [0].flags[].code": {"contains": "child-at-risk"}}}, RESULTS)
    assert message == ("jmespath items[?id=='a'] | [0].flags[].code: expected an item matching \"child-at-risk\", "
                       "got [\"warning-marker\"]")
    # A record that is not there at all: null is read as absent, and said so.
    message = unmet({"jmespath": {"items[?id=='c'] | [0].flags": {"exists": True}}}, RESULTS)
    assert message.endswith("expected it to be present, got nothing (absent)")
    assert unmet({"jmespath": {"total": 3}}, RESULTS) == "jmespath total: expected 3, got 2"


def test_schema_assertion_reads_the_profiles_interface_and_lists_what_is_wrong() -> None:
    scenario = POLE / "scenarios" / "rec-003-every-problem.yaml"
    schema = {"$ref": "../openapi.yaml#/components/schemas/Problem", "required": ["errors"]}
    good = {"type": "about:blank", "title": "Invalid", "status": 422,
            "errors": [{"pointer": "/body/gender", "detail": "not a code"}]}
    assert_response({"status": 200, "schema": schema}, answer(good), scenario)
    bad = {"title": "Invalid", "status": "422", "errors": [{"detail": "no pointer"}]}
    message = unmet({"schema": schema}, bad, scenario)
    assert message.startswith("body does not satisfy the expected schema: ")
    assert "/: 'type' is a required property" in message
    assert "/errors/0: 'pointer' is a required property" in message
    assert "/status: '422' is not of type 'integer'" in message
    assert unmet({"schema": schema}, {"type": "x", "title": "t", "status": 422}, scenario).endswith(
        "/: 'errors' is a required property")


def test_schema_from_an_openapi_3_0_interface_keeps_its_nullable_meaning() -> None:
    scenario = MIGRATION / "scenarios" / "any.yaml"  # refs resolve against the scenario's folder
    schema = {"$ref": "../openapi.yaml#/components/schemas/ExportEnd"}
    assert_response({"status": 200, "schema": schema}, answer({"kind": "end", "next_cursor": None, "count": 3}),
                    scenario)
    assert unmet({"schema": schema}, {"kind": "end", "next_cursor": 7, "count": 3}, scenario) == (
        "body does not satisfy the expected schema: /next_cursor: 7 is not of type 'string', 'null'")


def copy_profile(tmp_path: Path) -> Path:
    folder = tmp_path / "profiles" / "pole-records" / "1.0.0"
    shutil.copytree(POLE, folder)
    return folder


@pytest.mark.parametrize(("expect", "says"), [
    ('jmespath: {"items[?id==": {exists: true}}', "JMESPath expression 'items[?id==' does not parse"),
    ('schema: {$ref: "../openapi.yaml#/components/schemas/Nobody"}', "$ref '../openapi.yaml#/components/schemas/"
                                                                     "Nobody' leads nowhere"),
    ('schema: {$ref: "../../../../../pyproject.toml#/x"}', "leads nowhere"),  # outside the profile folder
    ("schema: {type: not-a-type}", "not a JSON Schema"),
])
def test_a_bad_assertion_is_found_by_the_linter_with_file_line_and_step(tmp_path: Path, expect: str,
                                                                        says: str) -> None:
    folder = copy_profile(tmp_path)
    scenario = folder / "scenarios" / "rec-005-lost-update.yaml"
    text = scenario.read_text()
    old = "expect: {status: 412}"
    assert text.count(old) == 1
    scenario.write_text(text.replace(old, f"expect: {{status: 412, {expect}}}"))
    problems = lint_scenario(scenario)
    assert len(problems) == 1, problems
    problem = problems[0]
    assert says in problem.problem and "(step 'officer B's save from the same old version is refused')" in \
        problem.problem
    assert problem.line == text.splitlines().index(next(line for line in text.splitlines() if old in line)) + 1
    proc = conformance("profiles", "lint", str(folder))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "rec-005-lost-update.yaml:" in proc.stderr and says in proc.stderr.replace("\n", "")
