"""conformance.governance.diff: one case per rule of RULES (interface and requirements), and semantic versioning
enforced on top of it (`lint --against`)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from conformance.governance.diff import (
    RULES,
    Severity,
    diff_interfaces,
    diff_parameters,
    diff_profiles,
    diff_requirements,
)
from conformance.governance.semver import bump_of, version_problems
from conformance.inputs.profiles import load_profile
from conformance.model import CheckKind, CheckSpec, Level, Parameter, Requirement, RequirementStatus

BASE: dict[str, Any] = {
    "openapi": "3.0.3",
    "security": [{"apiKey": []}, {}],
    "paths": {
        "/persons": {
            "post": {
                "operationId": "createPerson",
                "parameters": [{"$ref": "#/components/parameters/Key"}],
                "requestBody": {"required": True, "content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/PersonInput"}}}},
                "responses": {
                    "201": {"description": "made", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Person"}}},
                        "links": {"GetPerson": {"operationId": "getPerson"}}},
                    "422": {"description": "bad"},
                },
            },
        },
        "/persons/{id}": {
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
            "get": {"operationId": "getPerson", "responses": {"200": {"description": "ok", "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/Person"}}}}}},
        },
    },
    "components": {
        "parameters": {"Key": {"name": "Idempotency-Key", "in": "header", "required": False,
                               "schema": {"type": "string", "maxLength": 64}}},
        "schemas": {
            "PersonInput": {"type": "object", "required": ["family_name"], "properties": {
                "family_name": {"type": "string", "minLength": 1, "maxLength": 100},
                "given_names": {"type": "string"},
                "gender": {"type": "string", "enum": ["female", "male", "other", "unknown"]},
                "age": {"type": "integer"},
            }},
            "Person": {"type": "object", "required": ["id", "family_name"], "properties": {
                "id": {"type": "string"}, "family_name": {"type": "string"}, "given_names": {"type": "string"},
                "friends": {"type": "array", "items": {"$ref": "#/components/schemas/Person"}},  # a cycle
            }},
        },
    },
}

Edit = Callable[[dict[str, Any]], Any]


def _schemas(doc: dict[str, Any]) -> dict[str, Any]:
    schemas: dict[str, Any] = doc["components"]["schemas"]
    return schemas


def _post(doc: dict[str, Any]) -> dict[str, Any]:
    post: dict[str, Any] = doc["paths"]["/persons"]["post"]
    return post


INTERFACE_CASES: list[tuple[str, Edit, str]] = [
    ("operation-removed", lambda d: d["paths"].pop("/persons/{id}"), "GET /persons/{id}"),
    ("operation-added", lambda d: d["paths"]["/persons"].update(get={"responses": {"200": {"description": "x"}}}),
     "GET /persons"),
    ("status-removed", lambda d: _post(d)["responses"].pop("422"), "POST /persons 422"),
    ("status-added", lambda d: _post(d)["responses"].update({"413": {"description": "too large"}}),
     "POST /persons 413"),
    ("link-removed", lambda d: _post(d)["responses"]["201"].pop("links"), "POST /persons 201"),
    ("link-added", lambda d: _post(d)["responses"]["201"]["links"].update(Search={"operationId": "x"}),
     "POST /persons 201"),
    ("security-added", lambda d: d.update(security=[{"apiKey": []}]), "POST /persons"),
    ("security-relaxed", lambda d: d.update(security=[{"apiKey": []}, {"oauth": []}, {}]), "POST /persons"),
    ("parameter-removed", lambda d: _post(d).pop("parameters"), "POST /persons"),
    ("parameter-added-required", lambda d: _post(d)["parameters"].append(
        {"name": "X-Force", "in": "header", "required": True, "schema": {"type": "string"}}), "POST /persons"),
    ("parameter-added-optional", lambda d: _post(d)["parameters"].append(
        {"name": "dry_run", "in": "query", "schema": {"type": "boolean"}}), "POST /persons"),
    ("parameter-made-required", lambda d: d["components"]["parameters"]["Key"].update(required=True),
     "POST /persons"),
    ("parameter-made-optional", lambda d: d["paths"]["/persons/{id}"]["parameters"][0].update(required=False),
     "GET /persons/{id}"),
    ("request-body-made-required", lambda d: d["paths"]["/persons/{id}"]["get"].update(
        requestBody={"required": True, "content": {}}),
     "GET /persons/{id}"),
    ("request-field-removed", lambda d: _schemas(d)["PersonInput"]["properties"].pop("given_names"),
     "POST /persons request body.given_names"),
    ("request-field-added-required", lambda d: (
        _schemas(d)["PersonInput"]["properties"].update(urn={"type": "string"}),
        _schemas(d)["PersonInput"]["required"].append("urn")), "POST /persons request body.urn"),
    ("request-field-added-optional", lambda d: _schemas(d)["PersonInput"]["properties"].update(
        place_of_birth={"type": "string"}), "POST /persons request body.place_of_birth"),
    ("request-field-made-required", lambda d: _schemas(d)["PersonInput"]["required"].append("given_names"),
     "POST /persons request body.given_names"),
    ("request-field-made-optional", lambda d: _schemas(d)["PersonInput"].update(required=[]),
     "POST /persons request body.family_name"),
    ("response-field-removed", lambda d: _schemas(d)["Person"]["properties"].pop("given_names"),
     "GET /persons/{id} 200 body.given_names"),
    ("response-field-added", lambda d: _schemas(d)["Person"]["properties"].update(age={"type": "integer"}),
     "GET /persons/{id} 200 body.age"),
    ("response-field-made-required", lambda d: _schemas(d)["Person"]["required"].append("given_names"),
     "GET /persons/{id} 200 body.given_names"),
    ("response-field-made-optional", lambda d: _schemas(d)["Person"]["required"].remove("family_name"),
     "GET /persons/{id} 200 body.family_name"),
    ("type-narrowed", lambda d: _schemas(d)["PersonInput"]["properties"]["given_names"].update(type="integer"),
     "POST /persons request body.given_names"),
    ("type-widened", lambda d: _schemas(d)["PersonInput"]["properties"]["age"].update(type="number"),
     "POST /persons request body.age"),
    ("enum-narrowed", lambda d: _schemas(d)["PersonInput"]["properties"]["gender"]["enum"].remove("other"),
     "POST /persons request body.gender"),
    ("enum-widened", lambda d: _schemas(d)["PersonInput"]["properties"]["gender"]["enum"].append("not-stated"),
     "POST /persons request body.gender"),
    ("bound-narrowed", lambda d: _schemas(d)["PersonInput"]["properties"]["family_name"].update(maxLength=50),
     "POST /persons request body.family_name"),
    ("bound-widened", lambda d: _schemas(d)["PersonInput"]["properties"]["family_name"].update(maxLength=200),
     "POST /persons request body.family_name"),
]


def test_every_interface_rule_has_a_case() -> None:
    covered = ({rule for rule, _, _ in INTERFACE_CASES} | {rule for rule, *_ in REQUIREMENT_CASES}
               | {rule for rule, *_ in PARAMETER_CASES})
    assert covered == set(RULES), set(RULES) ^ covered


def test_an_unchanged_interface_has_no_changes() -> None:
    assert list(diff_interfaces(BASE, copy.deepcopy(BASE))) == []


@pytest.mark.parametrize(("rule", "edit", "where"), INTERFACE_CASES, ids=[c[0] for c in INTERFACE_CASES])
def test_interface_rule(rule: str, edit: Edit, where: str) -> None:
    new = copy.deepcopy(BASE)
    edit(new)
    changes = list(diff_interfaces(BASE, new))
    assert (rule, where) in {(c.rule, c.where) for c in changes}, [c.to_dict() for c in changes]
    found = next(c for c in changes if c.rule == rule)
    assert found.severity is RULES[rule][0]
    if found.severity is Severity.BREAKING:
        assert found.needs == "major"


def _req(rid: str = "R-1", level: Level = Level.MUST, **changes: Any) -> Requirement:
    base: dict[str, Any] = {"id": rid, "title": "A rule", "level": level, "category": "records", "weight": 1.0,
                            "rationale": "why", "check": CheckSpec(CheckKind.CONTRACT, {"scenario": "a.yaml"}),
                            "clause": "1"}
    base.update(changes)
    return Requirement(**base)


REQUIREMENT_CASES: list[tuple[str, tuple[Requirement, ...], tuple[Requirement, ...]]] = [
    ("requirement-added-must", (), (_req(),)),
    ("requirement-added", (), (_req(level=Level.SHOULD),)),
    ("requirement-removed", (_req(),), ()),
    ("requirement-level-raised-to-must", (_req(level=Level.SHOULD),), (_req(),)),
    ("requirement-level-raised", (_req(level=Level.MAY),), (_req(level=Level.SHOULD),)),
    ("requirement-level-lowered", (_req(),), (_req(level=Level.SHOULD),)),
    ("requirement-check-changed", (_req(),), (_req(check=CheckSpec(CheckKind.CONTRACT, {"scenario": "b.yaml"})),)),
    ("requirement-changed", (_req(),), (_req(weight=3.0),)),
    ("requirement-condition-added", (_req(),), (_req(applies_when={"param": "temporal"}),)),
    ("requirement-condition-changed", (_req(applies_when={"param": "temporal"}),), (_req(),)),
]

_OPTIONAL, _REQUIRED = Parameter("collection", "a collection"), Parameter("collection", "a collection", required=True)
PARAMETER_CASES: list[tuple[str, tuple[Parameter, ...], tuple[Parameter, ...]]] = [
    ("profile-parameter-added-required", (), (_REQUIRED,)),
    ("profile-parameter-added", (), (_OPTIONAL,)),
    ("profile-parameter-made-required", (_OPTIONAL,), (_REQUIRED,)),
    ("profile-parameter-removed", (_OPTIONAL,), ()),
]


@pytest.mark.parametrize(("rule", "old", "new"), PARAMETER_CASES, ids=[c[0] for c in PARAMETER_CASES])
def test_parameter_rule(rule: str, old: tuple[Parameter, ...], new: tuple[Parameter, ...]) -> None:
    assert [c.rule for c in diff_parameters(old, new)] == [rule]


def test_a_required_parameter_with_a_default_asks_nothing_new_of_a_targets_file() -> None:
    defaulted = Parameter("collection", "a collection", required=True, default="lakes")
    assert [c.rule for c in diff_parameters((), (defaulted,))] == ["profile-parameter-added"]
    assert list(diff_parameters((_OPTIONAL,), (defaulted,))) == []


@pytest.mark.parametrize(("rule", "old", "new"), REQUIREMENT_CASES, ids=[c[0] for c in REQUIREMENT_CASES])
def test_requirement_rule(rule: str, old: tuple[Requirement, ...], new: tuple[Requirement, ...]) -> None:
    assert [c.rule for c in diff_requirements(old, new)] == [rule]


def test_a_planned_requirement_becoming_active_counts_as_new() -> None:
    changes = list(diff_requirements((_req(status=RequirementStatus.PLANNED),), (_req(),)))
    assert [c.rule for c in changes] == ["requirement-added-must"]


@pytest.mark.parametrize(("old", "new", "bump"), [
    ("1.0.0", "2.0.0", "major"), ("1.0.0", "1.1.0", "minor"), ("1.0.0", "1.0.1", "patch"),
    ("0.1.0", "0.2.0", "major"), ("1.1.0", "1.0.0", None), ("1.0.0", "1.0.0", None)])
def test_bump_of(old: str, new: str, bump: str | None) -> None:
    assert bump_of(old, new) == bump


def test_the_shipped_revisions_are_classified() -> None:
    v100, v110, v200 = (load_profile(f"pole-records@{v}") for v in ("1.0.0", "1.1.0", "2.0.0"))
    minor = diff_profiles(v100, v110)
    assert minor.changes and not minor.breaking
    assert {c.rule for c in minor.changes} >= {"status-added", "request-field-added-optional"}
    assert version_problems(minor, "1.0.0", "1.1.0") == []
    major = diff_profiles(v100, v200)
    assert {c.rule for c in major.breaking} == {"security-added", "requirement-added-must"}
    assert version_problems(major, "1.0.0", "2.0.0") == []
    problems = version_problems(major, "1.0.0", "1.1.0")
    assert any("POLE-IF-008" in p and "needs a major version: 2.0.0, not 1.1.0" in p for p in problems)
    assert any(p.startswith("GET /persons: security requirement added") for p in problems)


def test_a_compatible_addition_in_a_patch_needs_a_minor_version() -> None:
    v100, v110 = load_profile("pole-records@1.0.0"), load_profile("pole-records@1.1.0")
    problems = version_problems(diff_profiles(v100, v110), "1.0.0", "1.0.1")
    assert problems and all("needs a minor version: 1.1.0, not 1.0.1" in p for p in problems)
