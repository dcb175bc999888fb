"""Contract scenarios: business rules as steps (request, expectations, captures), in YAML beside a profile.

Loading validates against `schemas/scenario.schema.json` and reports problems as
`file:line: steps[N].key: problem (step 'name'); fix`, like profile errors. Running is `runners/contract.py`.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from conformance.errors import ProfileError
from conformance.yamlfile import LocatedYaml, dotted, load_located_yaml

__all__ = ["Scenario", "Step", "lint_scenario", "load_scenario", "scenario_schema"]

SCHEMA_FILE = Path(__file__).parent / "schemas" / "scenario.schema.json"


@cache
def scenario_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class Step:
    name: str
    line: int | None
    request: dict[str, Any]
    expect: dict[str, Any]
    capture: dict[str, str]
    setup: bool = False


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    steps: tuple[Step, ...]


def lint_scenario(path: Path) -> list[ProfileError]:
    try:
        doc = load_located_yaml(path, error=ProfileError)
    except ProfileError as exc:
        return [exc]
    return list(_problems(doc))


def load_scenario(path: Path) -> Scenario:
    doc = load_located_yaml(path, error=ProfileError)
    problems = list(_problems(doc))
    if problems:
        raise problems[0]
    steps = tuple(
        Step(name=raw["name"], line=doc.line_of(["steps", i]), request=raw["request"], expect=raw["expect"],
             capture=dict(raw.get("capture") or {}), setup=bool(raw.get("setup", False)))
        for i, raw in enumerate(doc.data["steps"]))
    return Scenario(name=doc.data["name"], path=str(path), steps=steps)


def _walk(node: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, [*path, str(key)])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, [*path, index])


def _problems(doc: LocatedYaml) -> Iterator[ProfileError]:
    from conformance.profiles import explain_schema_error

    if not isinstance(doc.data, dict):
        yield ProfileError("a scenario is a mapping with name and steps", file=doc.file, line=1,
                           fix="see docs/how-to/write-a-contract-requirement.md")
        return
    for path, value in _walk(doc.data, []):
        if isinstance(value, datetime.date):
            yield ProfileError(f"{value} was read as a date, not text", file=doc.file, line=doc.line_of(path),
                               key=dotted(path), fix=f'quote it: "{value}"')
            return
    validator = jsonschema.Draft202012Validator(scenario_schema())
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        for problem in explain_schema_error(error, doc, schema_name="schemas/scenario.schema.json"):
            path = list(error.absolute_path)
            if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
                steps = doc.data.get("steps") or []
                step = steps[path[1]] if path[1] < len(steps) and isinstance(steps[path[1]], dict) else {}
                if step.get("name"):
                    problem = ProfileError(f"{problem.problem} (step '{step['name']}')", file=problem.file,
                                           line=problem.line, key=problem.key, fix=problem.fix)
            yield problem
