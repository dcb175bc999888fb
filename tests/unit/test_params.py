"""Target parameters: a profile declares them, a targets file's `params:` or `--param` gives them, a run without a
required one stops before it starts, and `applies_when` turns an unmet condition into `not-applicable`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.errors import TargetError, UsageError
from conformance.inputs.profiles import lint_profile, load_profile
from conformance.inputs.targets import parse_param_options, parse_target
from conformance.runners.schema_plan import path_parameters
from tests.unit.test_profiles import make_profile

PROFILE = """\
id: mini
version: 1.0.0
title: Minimal
status: draft
summary: A profile with parameters.
parameters:
  collection: {description: a collection id the target serves, required: true}
  temporal: {description: a collection with a temporal extent}
  page_size: {description: items per page, default: 10}
requirements:
  - id: MINI-IF-001
    title: No server errors
    level: MUST
    category: interface
    weight: 1
    rationale: Because.
    check: {kind: schema, checks: [not_a_server_error]}
  - id: MINI-TIME-001
    title: The datetime filter works
    level: MUST
    category: interface
    weight: 1
    rationale: Because.
    applies_when: {param: temporal}
    check: {kind: schema, checks: [not_a_server_error]}
  - id: MINI-TIME-002
    title: Only for lakes
    level: SHOULD
    category: interface
    weight: 1
    rationale: Because.
    applies_when: {param: collection, one_of: [lakes, rivers]}
    check: {kind: schema, checks: [not_a_server_error]}
"""


def test_profile_declares_parameters_and_conditions(tmp_path: Path) -> None:
    profile = load_profile(make_profile(tmp_path, PROFILE))
    assert [(p.name, p.required, p.default) for p in profile.parameters] == [
        ("collection", True, None), ("temporal", False, None), ("page_size", False, "10")]
    assert profile.resolve_params({"collection": "lakes"}) == {"collection": "lakes", "page_size": "10"}
    with pytest.raises(KeyError, match="collection"):
        profile.resolve_params({})
    timed, lakes = profile.requirement("MINI-TIME-001"), profile.requirement("MINI-TIME-002")
    assert timed.not_applicable_because({"collection": "x"}) == "not applicable: the target gives no parameter " \
                                                                  "'temporal'"
    assert timed.not_applicable_because({"temporal": "t"}) is None
    assert lakes.not_applicable_because({"collection": "rivers"}) is None
    assert "applies when one of 'lakes', 'rivers'" in str(lakes.not_applicable_because({"collection": "sea"}))
    assert profile.requirement("MINI-IF-001").not_applicable_because({}) is None


def test_a_condition_on_an_undeclared_parameter_is_a_located_lint_error(tmp_path: Path) -> None:
    folder = make_profile(tmp_path, PROFILE.replace("{param: temporal}", "{param: tmporal}"))
    problems = [str(p) for p in lint_profile(folder)]
    assert len(problems) == 1, problems
    assert "applies_when names parameter 'tmporal', which the profile does not declare" in problems[0]
    assert "profile.yaml:" in problems[0] and "requirements[1].applies_when.param" in problems[0]


def test_targets_file_params_and_the_command_line(tmp_path: Path) -> None:
    file = tmp_path / "targets.yaml"
    file.write_text("targets:\n  acme:\n    base_url: http://127.0.0.1:9\n"
                    "    params: {collection: lakes, limit: 5, open: true}\n")
    target = parse_target(f"{file}#acme")
    assert target.params == {"collection": "lakes", "limit": "5", "open": "true"}
    assert target.to_dict()["params"] == target.params  # recorded in run.json, so --resume and reports see them
    assert target.with_params({"collection": "rivers"}).params["collection"] == "rivers"
    assert parse_param_options(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    for bad in (["nope"], ["1a=2"], ["a=1", "a=2"]):
        with pytest.raises(UsageError):
            parse_param_options(bad)
    file.write_text("targets:\n  acme:\n    base_url: http://127.0.0.1:9\n    params: {collection: [a, b]}\n")
    with pytest.raises(TargetError, match="a parameter's value is text or a number"):
        parse_target(f"{file}#acme")


def test_a_run_without_a_required_parameter_stops_before_it_starts(tmp_path: Path) -> None:
    from conformance.session.execute import start_run

    folder = make_profile(tmp_path, PROFILE)
    runs = tmp_path / "runs"

    class Listener:
        def warning(self, text: str) -> None:  # the draft's validity: said before anything starts
            pass

        def __getattr__(self, name: str) -> Any:
            raise AssertionError(f"the run started ({name})")

    with pytest.raises(UsageError) as caught:
        start_run(str(folder), "http://127.0.0.1:9", runs_dir=runs, listener=Listener())  # type: ignore[arg-type]
    assert str(caught.value) == ("mini@1.0.0 needs parameter 'collection' (a collection id the target serves); give "
                                 "it with --param collection=VALUE or under `params:` of the target in the targets "
                                 "file")
    assert not runs.exists()


def test_schema_engine_gets_the_params_as_path_parameters() -> None:
    assert path_parameters({"collectionId": "lakes", "odd": "${HOME}"}) == {"path.collectionId": "lakes"}
