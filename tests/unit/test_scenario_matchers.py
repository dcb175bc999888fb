"""The matchers that follow a server's data: date-time order as instants, ranges, every/no/any item; and the
scenario linter's one pass (every step's problems together, `${variables}` nobody captures)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.errors import EngineFailure, SupplierFailure
from conformance.inputs.scenarios import lint_scenario
from conformance.runners.assertions import instant, match


def fails(actual: Any, matcher: Any) -> str:
    with pytest.raises(SupplierFailure) as caught:
        match("x", actual, matcher)
    return str(caught.value)


def test_date_times_are_compared_as_instants_not_as_text() -> None:
    # 10:00+02:00 is 08:00Z: before 09:00Z although the text sorts after it
    match("x", "2026-12-05T10:00:00+02:00", {"before": "2026-12-05T09:00:00Z"})
    assert "expected an instant after" in fails("2026-12-05T10:00:00+02:00", {"after": "2026-12-05T09:00:00Z"})
    match("x", "2026-12-05T08:00:00Z", {"between": ["2026-12-05T09:00:00+01:00", "2026-12-05T08:00:00z"]})
    assert "between" in fails("2026-12-05T08:00:01Z", {"between": ["2026-12-05T09:00:00+01:00",
                                                                   "2026-12-05T08:00:00Z"]})
    assert "with its offset" in fails("2026-12-05T08:00:00", {"before": "2027-01-01T00:00:00Z"})  # no offset
    assert "with its offset" in fails("2026-02-30T08:00:00Z", {"before": "2027-01-01T00:00:00Z"})  # no such day
    assert instant("2026-12-05") is None and instant(20261205) is None
    with pytest.raises(EngineFailure):  # the profile's own bound is not a date-time: the harness's problem
        match("x", "2026-12-05T08:00:00Z", {"before": "soon"})


def test_number_ranges_include_their_bounds() -> None:
    match("x", 10, {"between": [10, 20]})
    match("x", 20.0, {"between": [10, 20]})
    assert "expected between 10 and 20, got 21" in fails(21, {"between": [10, 20]})
    assert "expected a number" in fails(True, {"between": [0, 1]})


def test_all_none_any_apply_a_nested_matcher_to_items() -> None:
    match("x", [1, 2, 3], {"all": {"between": [1, 3]}})
    match("x", [], {"all": {"equals": 1}})
    message = fails([1, 5, 7], {"all": {"lte": 3}})
    assert "2 do not" in message and "x[1]: expected at most 3, got 5" in message
    match("x", [{"a": 1}, {"a": 2}], {"none": {"contains": 3}})  # items are not lists: contains never holds
    assert "item 1 does" in fails(["a", "b"], {"none": {"matches": "^b$"}})
    match("x", ["2026-01-01T00:00:00Z", "1999-01-01T00:00:00Z"], {"any": {"before": "2000-01-01T00:00:00Z"}})
    assert "expected an item satisfying" in fails([1, 2], {"any": {"gte": 3}})
    assert "expected a list" in fails("abc", {"all": {"equals": "a"}})


SCENARIO = """\
name: many problems
steps:
  - name: first
    request: {method: GET, path: "/items/${params.colection}"}
    expect: {status: 200, jmespath: {"items[?": 1}}
    capture: {next: {jmespath: "links[?rel=='next'].href | [0]", optional: true}}
  - name: second
    request: {method: GOT, path: /x}
    expect: {status: 200}
    capture: {deadline: /body/until}
  - name: third
    request: {method: GET, path: "${nxet}"}
    expect: {status: 200, body: {/when: {before: "${deadline}"}}}
    repeat: {while: next, max: 5}
  - name: fourth
    request: {method: GET, path: "/items/${item.id}"}
    expect: {status: 200}
    for_each: {in: nowhere, as: item}
"""


def test_lint_reports_every_problem_of_every_step_in_one_pass(tmp_path: Path) -> None:
    file = tmp_path / "scenarios" / "s.yaml"
    file.parent.mkdir()
    file.write_text(SCENARIO)
    problems = [str(p) for p in lint_scenario(file, params=frozenset({"collection"}))]
    text = "\n".join(problems)
    assert len(problems) == 5, text
    assert "${params.colection}: the profile declares no parameter 'colection'" in text
    assert "JMESPath expression 'items[?' does not parse" in text
    assert "steps[1].request.method" in text  # a format problem in one step does not hide the others
    assert "${nxet} is used but no earlier step captures 'nxet'" in text and "did you mean ${next}?" in text
    assert "deadline" not in text  # captured by the malformed step: that step's problem is not repeated later
    assert "${nowhere} is used but no earlier step captures 'nowhere'" in text
    assert "item.id" not in text  # the step's own for_each variable is known
    assert all(f"{file}:" in p for p in problems)  # each located in the file, with a line


def test_shipped_scenarios_have_no_undefined_variables() -> None:
    root = Path(__file__).resolve().parents[2] / "profiles"
    files = sorted(root.glob("*/*/scenarios/*.yaml"))
    assert files
    for file in files:
        assert lint_scenario(file) == [], file


def test_profile_lint_is_one_pass_over_profile_interface_and_scenarios(tmp_path: Path) -> None:
    from conformance.inputs.profiles import lint_profile
    from tests.unit.test_profiles import make_profile

    profile = """\
id: mini
version: 1.0.0
title: Minimal
status: draft
summary: s
requirements:
  - id: MINI-A-001
    title: t
    level: MUSTN'T
    category: interface
    weight: 1
    rationale: r
    check: {kind: contract, description: d, scenario: scenarios/s.yaml}
"""
    folder = make_profile(tmp_path, profile, openapi="openapi: 3.1.0\ninfo: {title: t}\npaths: {}\n")
    (folder / "scenarios").mkdir()
    (folder / "scenarios" / "s.yaml").write_text(
        "name: s\nsteps:\n  - name: one\n    request: {method: GET, path: '/x/${idd}'}\n    expect: {status: 200}\n")
    text = "\n".join(str(p) for p in lint_profile(folder))
    assert "requirements[0].level" in text  # profile.yaml
    assert "invalid OpenAPI" in text  # the interface (info.version is missing)
    assert "${idd} is used but no earlier step captures 'idd'" in text  # the scenario


def test_an_appending_capture_is_bounded() -> None:
    import httpx

    from conformance.inputs.scenarios import Step
    from conformance.runners.scenario import MAX_COLLECTED, _capture

    step = Step(name="page", line=1, request={}, expect={"status": 200},
                capture={"ids": {"jmespath": "ids", "append": True}})
    page = httpx.Response(200, json={"ids": list(range(MAX_COLLECTED // 2 + 1))})
    variables: dict[str, Any] = {}
    _capture(step, page, variables)
    assert len(variables["ids"]) == MAX_COLLECTED // 2 + 1
    with pytest.raises(EngineFailure, match=f"more than {MAX_COLLECTED} items collected"):
        _capture(step, page, variables)
