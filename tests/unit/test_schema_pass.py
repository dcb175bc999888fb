"""How schema requirements are grouped into engine passes, what a pass asks of the engine, and what each member
is judged on (conformance/runners/schema_pass.py); how a finding names the request it describes."""

from __future__ import annotations

import shlex
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest

from conformance.inputs.profiles import load_profile
from conformance.inputs.targets import parse_target
from conformance.model import CheckKind, CheckSpec, Level, Requirement
from conformance.runners.schema_plan import Member, engine_config, plan_passes
from conformance.runners.schema_tally import curl_of, judges_answer, sent_of


def schema_requirements() -> list[Requirement]:
    return [r for r in load_profile("pole-records@1.1.0").requirements if r.check.kind is CheckKind.SCHEMA]


def requirement(rid: str, **options: Any) -> Requirement:
    return Requirement(rid, rid, Level.MUST, "interface", 1, "why", CheckSpec(CheckKind.SCHEMA, options))


def test_pole_records_schema_requirements_are_one_pass() -> None:
    passes = plan_passes(schema_requirements())
    assert [[m.id for m in group] for group in passes] == [[f"POLE-IF-00{n}" for n in range(1, 8)]]


def test_a_check_asked_for_with_other_options_starts_another_pass() -> None:
    a = requirement("A-1", checks=["not_a_server_error"], mode="positive", expected_statuses=["2xx"])
    b = requirement("B-1", checks=["not_a_server_error"], mode="positive", expected_statuses=["4xx"])
    c = requirement("C-1", checks=["not_a_server_error", "status_code_conformance"], mode="negative",
                    expected_statuses=["2xx"])
    assert [[m.id for m in group] for group in plan_passes([a, b, c])] == [["A-1", "C-1"], ["B-1"]]


def test_the_pass_config_is_the_union_and_each_phase_generates_what_its_members_ask() -> None:
    members = plan_passes(schema_requirements())[0]
    config = engine_config(members, parse_target("http://127.0.0.1:9"), {"X-Key": "k"}, 7, examples_factor=1,
                           request_timeout_s=10.0, max_time_s=None)
    checks = {name for name, entry in config["checks"].items() if name != "enabled" and entry["enabled"]}
    assert checks == {name for m in members for name in m.checks}
    assert config["checks"]["negative_data_rejection"]["expected-statuses"] == ["4xx"]
    phases = config["phases"]
    assert all(phases[p]["enabled"] for p in ("examples", "coverage", "fuzzing", "stateful"))
    # positive (IF-003, 005, 006) and negative (IF-004) requirements ask for the unit phases: both are generated
    assert {phases[p]["generation"]["mode"] for p in ("examples", "coverage", "fuzzing")} == {"all"}
    # workflows are generated positive: the requirements with a mode that ask for them are all positive
    assert phases["stateful"]["generation"] == {"mode": "positive", "max-examples": 40}  # IF-007's budget
    assert phases["fuzzing"]["generation"]["max-examples"] == 20
    assert config["seed"] == 7 and config["generation"]["database"] == "none" and config["workers"] == 1


def test_a_member_is_judged_only_on_the_phases_and_mode_it_asks_for() -> None:
    members = {m.id: m for m in plan_passes(schema_requirements())[0]}
    assert members["POLE-IF-003"].judges("fuzzing", "positive")
    assert not members["POLE-IF-003"].judges("fuzzing", "negative")  # a 5xx on malformed input is not its failure
    assert not members["POLE-IF-004"].judges("stateful", "negative")  # it asks for no workflows
    assert members["POLE-IF-001"].judges("coverage", "negative") and members["POLE-IF-001"].judges("stateful", None)
    assert not members["POLE-IF-007"].judges("fuzzing", "positive")


def test_a_single_requirement_config_is_what_it_asks_for() -> None:
    alone = replace(schema_requirements()[3])  # POLE-IF-004: negative, no workflows
    config = engine_config([Member.of(alone)], parse_target("http://127.0.0.1:9"), {}, 1, examples_factor=5,
                           request_timeout_s=30.0, max_time_s=200)
    assert not config["phases"]["stateful"]["enabled"]
    assert config["phases"]["fuzzing"]["generation"] == {"mode": "negative", "max-examples": 100}
    assert config["max-time"] == 200


def request(method: str, uri: str, headers: dict[str, list[str]], body: bytes | None) -> SimpleNamespace:
    return SimpleNamespace(method=method, uri=uri, headers=headers, body=body)


def test_a_finding_names_the_method_and_path_sent_and_its_curl_is_that_request() -> None:
    sent = request("POST", "http://127.0.0.1:9/api/persons/3f2a?x=1",
                   {"Content-Type": ["application/json"], "Content-Length": ["11"], "X-Key": ["it's"]},
                   b'{"a": "\xc3\xa9"}')
    assert sent_of(SimpleNamespace(request=sent), "http://127.0.0.1:9/api") == ("POST", "/persons/3f2a")
    argv = shlex.split(curl_of(sent) or "")
    assert argv[:3] == ["curl", "-X", "POST"] and argv[-1] == "http://127.0.0.1:9/api/persons/3f2a?x=1"
    assert argv[3:7] == ["-H", "Content-Type: application/json", "-H", "X-Key: it's"]
    assert "Content-Length: 11" not in argv
    assert argv[argv.index("--data-binary") + 1] == '{"a": "é"}'
    assert curl_of(request("POST", "http://h/x", {}, b"\xff\xfe")) is None  # not text: the engine's sample instead


@pytest.mark.parametrize(("check", "mode", "status", "judged"), [
    ("positive_data_acceptance", "positive", 201, True),
    ("positive_data_acceptance", "positive", 500, False),  # a server error is another requirement's
    ("positive_data_acceptance", "negative", 201, False),
    ("negative_data_rejection", "negative", 500, True),
    ("negative_data_rejection", "positive", 422, False),
    ("operation_implemented", "positive", 201, True),
    ("operation_implemented", "positive", 302, False),  # undocumented: says nothing about implementation
    ("operation_implemented", "positive", 500, False),  # documented, but a server error is not a working route
    ("operation_implemented", "negative", 201, False),
    ("response_schema_conformance", "negative", 422, True),
    ("response_schema_conformance", "positive", 302, False),
    ("not_a_server_error", "positive", 302, True),
])
def test_a_check_passes_only_on_answers_it_judges(check: str, mode: str, status: int, judged: bool) -> None:
    assert judges_answer(check, mode=mode, status=status, documented={201, 422, 500}) is judged
