"""Contract scenarios: business rules as steps (request, expectations, captures), in YAML beside a profile.

Loading validates against `schemas/scenario.schema.json` and reports problems as
`file:line: steps[N].key: problem (step 'name'); fix`, like profile errors. Running is `runners/scenario.py`,
asserting with `runners/assertions.py`.
"""

from __future__ import annotations

import datetime
import difflib
import re
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jmespath
import jsonschema
import referencing
import referencing.exceptions
import referencing.jsonschema
from jmespath.exceptions import JMESPathError

from conformance.errors import ProfileError
from conformance.inputs.openapi import schema_view
from conformance.inputs.yamlfile import LocatedYaml, dotted, explain_schema_error, load_located_yaml
from conformance.schemas import load_schema

__all__ = ["VARIABLE", "Scenario", "Step", "body_validator", "jmespath_expression", "lint_scenario", "load_scenario",
           "scenario_schema"]

def scenario_schema() -> dict[str, Any]:
    return load_schema("scenario")


@dataclass(frozen=True)
class Step:
    name: str
    line: int | None
    request: dict[str, Any]
    expect: dict[str, Any]
    capture: dict[str, Any]  # variable -> a pointer string, or {jmespath|pointer: ..., optional: bool}
    setup: bool = False
    system: str | None = None  # None: the target
    eventually: tuple[float, float] | None = None  # (within_s, interval_s)
    repeat: dict[str, Any] | None = None  # {while: VAR | until: condition, max, interval_s}
    for_each: dict[str, Any] | None = None  # {in: VAR, as: NAME, max, first}
    applies_if: dict[str, Any] | None = None  # a condition on the answer; unmet: the requirement is not applicable


@dataclass(frozen=True)
class Scenario:
    name: str
    path: str
    steps: tuple[Step, ...]
    task: str | None = None  # the business task this scenario is: its requests and time are the task's cost

    @property
    def systems(self) -> frozenset[str]:
        return frozenset(step.system for step in self.steps if step.system)


def lint_scenario(path: Path, *, systems: frozenset[str] | None = None, datasets: Path | None = None,
                  params: frozenset[str] | None = None) -> list[ProfileError]:
    """Every problem of a scenario file, in one pass. With `systems` (the profile's) and `datasets` (its folder),
    steps' `system:` and `dataset:` are checked against them too; with `params` (the profile's declared
    parameters), `${params.NAME}` too. A `${variable}` no earlier step captures is a problem. Steps that do not
    match the format are reported and left out of the other checks; the well-formed ones are still checked."""
    try:
        doc = load_located_yaml(path, error=ProfileError)
    except ProfileError as exc:
        return [exc]
    problems = list(_problems(doc))
    if not isinstance(doc.data, dict) or not isinstance(doc.data.get("steps"), list):
        return problems
    bad_steps = {error_step for error_step in (_step_of(p) for p in problems) if error_step is not None}
    if any(_step_of(p) is None for p in problems if p.key not in (None, "name", "description", "task")):
        return problems  # a problem outside the steps (the file's shape): nothing more can be said
    return problems + list(_reference_problems(doc, systems, datasets, skip=bad_steps, params=params))


def _step_of(problem: ProfileError) -> int | None:
    match = re.match(r"steps\[(\d+)\]", problem.key or "")
    return int(match.group(1)) if match else None


def load_scenario(path: Path, *, datasets: Path | None = None) -> Scenario:
    """Load a scenario; `dataset:` bodies are read from `datasets` (the profile's datasets folder)."""
    doc = load_located_yaml(path, error=ProfileError)
    problems = list(_problems(doc))
    if not problems:
        problems = list(_reference_problems(doc, None, datasets, check_variables=False))
    if problems:
        raise problems[0]
    steps = []
    for i, raw in enumerate(doc.data["steps"]):
        request = dict(raw["request"])
        if "dataset" in request and datasets is not None:
            file, _, name = request.pop("dataset").partition("#")
            request["json"] = dataset_entries(datasets / f"{file}.yaml")[name]
        eventually = raw.get("eventually")
        steps.append(Step(name=raw["name"], line=doc.line_of(["steps", i]), request=request, expect=raw["expect"],
                          capture=dict(raw.get("capture") or {}), setup=bool(raw.get("setup", False)),
                          system=raw.get("system"),
                          eventually=(float(eventually["within_s"]), float(eventually.get("interval_s", 0.25)))
                          if eventually else None, repeat=raw.get("repeat"), for_each=raw.get("for_each"),
                          applies_if=raw.get("applies_if")))
    return Scenario(name=doc.data["name"], path=str(path), steps=tuple(steps), task=doc.data.get("task"))


def dataset_entries(path: Path) -> dict[str, Any]:
    """A datasets file: a mapping of entry name -> JSON body."""
    doc = load_located_yaml(path, error=ProfileError)
    if not isinstance(doc.data, dict):
        raise ProfileError("a datasets file is a mapping of entry name -> body", file=str(path), line=1,
                           fix="write `name: {field: value, ...}` entries")
    return dict(doc.data)


# ${name} or ${name.key.key} in a scenario's strings; the runner fills it. ${params.NAME} is a target parameter.
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_-]*)*)\}")
BUILTIN_VARIABLES = frozenset({"run_id", "params"})


@lru_cache(maxsize=512)
def jmespath_expression(text: str) -> Any:
    """A compiled JMESPath expression (raises JMESPathError on bad syntax)."""
    return jmespath.compile(text)


def body_validator(schema: dict[str, Any], scenario_file: Path) -> Any:
    """A validator for an `expect.schema`: `$ref`s resolve against the scenario file, and only files inside
    its profile folder (`profiles/<id>/<version>/`) can be named."""
    here = scenario_file.resolve()
    return jsonschema.Draft202012Validator({**schema, "$id": here.as_uri()}, registry=_registry(here))


def _registry(here: Path) -> referencing.Registry[Any]:
    root = here.parent.parent

    def retrieve(uri: str) -> referencing.Resource[Any]:
        parts = urllib.parse.urlsplit(uri)
        path = Path(urllib.request.url2pathname(parts.path)).resolve() if parts.scheme == "file" else None
        if path is None or not path.is_relative_to(root) or not path.is_file():
            raise referencing.exceptions.NoSuchResource(uri)
        return referencing.Resource.from_contents(schema_view(path),
                                                  default_specification=referencing.jsonschema.DRAFT202012)

    return referencing.Registry(retrieve=retrieve)  # type: ignore[call-arg]


def _stand_in(expression: str) -> str:
    """The expression with each ${variable} replaced by something of its kind, to parse it before any run: a JSON
    literal where it stands in backticks (a captured list, `${ids}`), a name elsewhere."""
    literal = re.compile(r"`" + VARIABLE.pattern + r"`")
    return VARIABLE.sub("x", literal.sub("`0`", expression))


def _assertion_problems(doc: LocatedYaml, skip: frozenset[int] | set[int]) -> Iterator[ProfileError]:
    """JMESPath expressions that do not parse; response schemas that are not JSON Schema or whose $ref leads
    nowhere. Found when the profile is linted, not half-way through a supplier's run."""
    for i, raw in enumerate(doc.data["steps"]):
        if i in skip:
            continue
        expect = raw["expect"]
        blocks: list[tuple[list[str | int], dict[str, Any]]] = [(["expect"], expect)]
        if raw.get("applies_if"):
            blocks.append((["applies_if"], raw["applies_if"]))
        if (raw.get("repeat") or {}).get("until"):
            blocks.append((["repeat", "until"], raw["repeat"]["until"]))
        expressions = [([*where, "jmespath", e], e) for where, block in blocks for e in block.get("jmespath") or {}]
        expressions += [(["capture", name, "jmespath"], spec["jmespath"])
                        for name, spec in (raw.get("capture") or {}).items()
                        if isinstance(spec, dict) and "jmespath" in spec]
        for where, expression in expressions:
            try:
                jmespath_expression(_stand_in(expression))
            except JMESPathError as exc:
                problem = " ".join(str(exc).split())
                yield ProfileError(f"JMESPath expression {expression!r} does not parse: {problem} "
                                   f"(step '{raw['name']}')", file=doc.file,
                                   line=doc.line_of(["steps", i, *where]),
                                   key=f"steps[{i}].{dotted(where[:-1])}",
                                   fix="see https://jmespath.org/specification.html; quote literals as 'text'")
        if "schema" not in expect:
            continue
        line, key = doc.line_of(["steps", i, "expect", "schema"]), f"steps[{i}].expect.schema"
        try:
            jsonschema.Draft202012Validator.check_schema(expect["schema"])
        except jsonschema.SchemaError as exc:
            yield ProfileError(f"not a JSON Schema: {exc.message} (step '{raw['name']}')", file=doc.file, line=line,
                               key=key, fix="see https://json-schema.org/draft/2020-12")
            continue
        here = Path(doc.file).resolve()
        resolver = _registry(here).resolver(base_uri=here.as_uri())
        refs = (node["$ref"] for _, node in _walk(expect["schema"], [])
                if isinstance(node, dict) and isinstance(node.get("$ref"), str))
        for ref in refs:
            try:
                resolver.lookup(ref)
            except referencing.exceptions.Unresolvable:
                yield ProfileError(f"$ref {ref!r} leads nowhere (step '{raw['name']}')", file=doc.file, line=line,
                                   key=key, fix="name a file of the profile folder relative to this scenario, e.g. "
                                                "'../openapi.yaml#/components/schemas/Person'")


def _reference_problems(doc: LocatedYaml, systems: frozenset[str] | None, datasets: Path | None, *,
                        skip: frozenset[int] | set[int] = frozenset(), params: frozenset[str] | None = None,
                        check_variables: bool = True) -> Iterator[ProfileError]:
    yield from _assertion_problems(doc, skip)
    if check_variables:
        yield from _variable_problems(doc, skip, params)
    for i, raw in enumerate(doc.data["steps"]):
        if i in skip:
            continue
        system = raw.get("system")
        if systems is not None and system is not None and system not in systems:
            known = ", ".join(sorted(systems)) or "none"
            yield ProfileError(f"system '{system}' is not declared by the profile (step '{raw['name']}')",
                               file=doc.file, line=doc.line_of(["steps", i, "system"]), key=f"steps[{i}].system",
                               fix=f"declare it under `systems:` in profile.yaml (declared: {known})")
        ref = raw["request"].get("dataset")
        if ref is None or datasets is None:
            continue
        file, _, name = ref.partition("#")
        line, key = doc.line_of(["steps", i, "request", "dataset"]), f"steps[{i}].request.dataset"
        if not (datasets / f"{file}.yaml").is_file():
            yield ProfileError(f"no datasets file {datasets / (file + '.yaml')} (step '{raw['name']}')",
                               file=doc.file, line=line, key=key,
                               fix="create it, or fix FILE in FILE#NAME")
            continue
        try:
            entries = dataset_entries(datasets / f"{file}.yaml")
        except ProfileError as exc:
            yield exc
            continue
        if name not in entries:
            yield ProfileError(f"{file}.yaml has no entry '{name}' (step '{raw['name']}')", file=doc.file, line=line,
                               key=key,
                               fix=f"use one of: {', '.join(sorted(map(str, entries)))}")


def _variable_problems(doc: LocatedYaml, skip: frozenset[int] | set[int],
                       params: frozenset[str] | None) -> Iterator[ProfileError]:
    """A `${variable}` must be captured by an earlier step (or be the step's own `for_each.as`, `run_id`, or a
    declared `${params.NAME}`): a typo is caught here, not half-way through a supplier's run."""
    captured: set[str] = set()
    for i, raw in enumerate(doc.data["steps"]):
        if not isinstance(raw, dict):
            continue
        if i in skip:  # its format problem is reported; what it captures still counts for the steps after it
            capture = raw.get("capture")
            captured |= set(map(str, capture)) if isinstance(capture, dict) else set()
            continue
        known = captured | BUILTIN_VARIABLES | ({raw["for_each"]["as"]} if raw.get("for_each") else set())
        uses: list[tuple[list[str | int], str]] = []
        for key in ("request", "expect", "applies_if", "repeat"):
            for path, value in _walk(raw.get(key), [key]):
                if isinstance(value, str):
                    uses += [(path, m.group(1)) for m in VARIABLE.finditer(value)]
                if path and isinstance(path[-1], str) and "${" in path[-1]:  # a JMESPath key may hold one
                    uses += [(path, m.group(1)) for m in VARIABLE.finditer(path[-1])]
        for key, name in (("repeat", (raw.get("repeat") or {}).get("while")),
                          ("for_each", (raw.get("for_each") or {}).get("in"))):
            if name:
                uses.append(([key, "while" if key == "repeat" else "in"], name))
        for path, name in uses:
            head, _, rest = name.partition(".")
            line = doc.line_of(["steps", i, *path])
            where = f"steps[{i}].{dotted(path)}"
            if head not in known:
                close = difflib.get_close_matches(head, sorted(known - {"params"}), n=1)
                hint = f"did you mean ${{{close[0]}}}?" if close else "capture it in an earlier step's `capture:`"
                yield ProfileError(f"${{{name}}} is used but no earlier step captures '{head}' (step "
                                   f"'{raw.get('name')}')", file=doc.file, line=line, key=where, fix=hint)
            elif head == "params" and params is not None:
                parameter = rest.partition(".")[0]
                if not rest:
                    yield ProfileError("${params} needs a name: ${params.NAME}", file=doc.file, line=line, key=where,
                                       fix="name a parameter the profile declares")
                elif parameter not in params:
                    declared = ", ".join(sorted(params)) or "none"
                    yield ProfileError(f"${{{name}}}: the profile declares no parameter '{parameter}' (step "
                                       f"'{raw.get('name')}')", file=doc.file, line=line, key=where,
                                       fix=f"declare it under `parameters:` in profile.yaml (declared: {declared})")
        captured |= set(raw.get("capture") or {})


def _walk(node: Any, path: list[str | int]) -> Iterator[tuple[list[str | int], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, [*path, str(key)])
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, [*path, index])


def _problems(doc: LocatedYaml) -> Iterator[ProfileError]:
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
