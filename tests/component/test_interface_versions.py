"""OpenAPI 3.0, 3.1 and Swagger 2.0 interfaces (issue #21, item 1): each lints, is read as it means (a nullable
field in each dialect), and drives the schema engine, which passes a system that answers the field as null and
fails one that answers a number."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.inputs.openapi import component_schema, schema_view
from conformance.inputs.profiles import lint_profile, load_profile
from conformance.session.execute import start_run
from tests.component.test_remote_references import records_api
from tests.component.test_runners_in_process import Recorder

PROFILE = """\
id: dialects
version: 1.0.0
title: Interface dialects
status: draft
summary: The same record in three OpenAPI dialects.
requirements:
  - id: DIA-IF-001
    title: Records match the interface
    level: MUST
    category: interface
    weight: 1
    rationale: The interface is the contract.
    check: {kind: schema, checks: [response_schema_conformance], phases: [examples, fuzzing], max_examples: 5,
            mode: positive}
"""
INTERFACES = {
    "3.0": """\
openapi: 3.0.3
info: {title: dialects, version: 1.0.0}
paths:
  /records/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string, pattern: "^[a-z]{1,8}$"}}]
      responses:
        "200":
          description: the record
          content: {application/json: {schema: {$ref: "#/components/schemas/Record"}}}
components:
  schemas:
    Record:
      type: object
      required: [id, name]
      properties: {id: {type: string}, name: {type: string, nullable: true}}
""",
    "3.1": """\
openapi: 3.1.0
info: {title: dialects, version: 1.0.0}
paths:
  /records/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: string, pattern: "^[a-z]{1,8}$"}}]
      responses:
        "200":
          description: the record
          content: {application/json: {schema: {$ref: "#/components/schemas/Record"}}}
components:
  schemas:
    Record:
      type: object
      required: [id, name]
      properties: {id: {type: string}, name: {type: ["string", "null"]}}
""",
    "2.0": """\
swagger: "2.0"
info: {title: dialects, version: 1.0.0}
produces: [application/json]
paths:
  /records/{id}:
    get:
      parameters: [{name: id, in: path, required: true, type: string, pattern: "^[a-z]{1,8}$"}]
      responses:
        "200":
          description: the record
          schema: {$ref: "#/definitions/Record"}
definitions:
  Record:
    type: object
    required: [id, name]
    properties: {id: {type: string}, name: {type: string, x-nullable: true}}
""",
}


def profile_folder(root: Path, dialect: str) -> Path:
    folder = root / "profiles" / "dialects" / "1.0.0"
    folder.mkdir(parents=True)
    (folder / "profile.yaml").write_text(PROFILE)
    (folder / "openapi.yaml").write_text(INTERFACES[dialect])
    (folder / "CHANGELOG.md").write_text("# 1.0.0\n")
    return folder


@pytest.mark.parametrize("dialect", sorted(INTERFACES))
def test_each_dialect_lints_and_reads_nullable_as_json_schema_means_it(tmp_path: Path, dialect: str) -> None:
    folder = profile_folder(tmp_path, dialect)
    assert lint_profile(folder) == []
    import jsonschema

    schema = component_schema(folder / "openapi.yaml", "Record")
    validator = jsonschema.Draft202012Validator(schema)
    assert validator.is_valid({"id": "a", "name": None})
    assert validator.is_valid({"id": "a", "name": "Ann"})
    assert not validator.is_valid({"id": "a", "name": 5})
    assert "nullable" not in str(schema_view(folder / "openapi.yaml"))


def test_an_invalid_swagger_2_document_is_a_located_problem(tmp_path: Path) -> None:
    folder = profile_folder(tmp_path, "2.0")
    (folder / "openapi.yaml").write_text(INTERFACES["2.0"].replace("type: object", "type: objet"))
    (problem,) = lint_profile(folder)
    assert str(problem).startswith(f"{folder / 'openapi.yaml'}:") and "invalid OpenAPI" in str(problem)


@pytest.mark.parametrize(("dialect", "name", "outcome"), [("3.0", None, "pass"), ("3.1", None, "pass"),
                                                          ("2.0", None, "pass"), ("2.0", 5, "fail"),
                                                          ("3.1", 5, "fail")])
def test_the_schema_engine_judges_each_dialect(tmp_path: Path, dialect: str, name: Any, outcome: str) -> None:
    folder = profile_folder(tmp_path, dialect)
    load_profile(folder)
    with records_api({"name": name}) as url:
        listener = Recorder()
        run = start_run(str(folder), url, runs_dir=tmp_path / "runs", listener=listener, seed=7)
    result = listener.finished["DIA-IF-001"]
    assert run.scorecard["requirements"][0]["outcome"] == outcome, result.reason
    assert result.measurements["checks_evaluated"]["response_schema_conformance"] > 0
