"""Run a profile's YAML scenario (a business rule as steps) against the target.

Each step sends one request (`${variables}` filled from earlier captures), checks the expectations
(`conformance.runners.assertions`), and captures values for later steps. The first unmet expectation is the
finding (later steps depend on it): it names the step, what was expected and what came back, with a curl that
sends the same request. A step marked `setup` that is not met is an error: nothing about the rule was measured.
The task's request count and elapsed time are always measured, and bounded when the requirement sets
`max_requests` / `max_seconds` (the workflow cost).
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from conformance.errors import EngineFailure, SupplierFailure
from conformance.inputs.scenarios import VARIABLE, Scenario, Step, load_scenario
from conformance.model import Outcome, Requirement, Result
from conformance.runners import RunContext
from conformance.runners.assertions import MISSING, assert_response, json_body, pointer
from conformance.runners.http import Exchanges, exchanges, held, measurements, not_met, send

__all__ = ["run_scenario"]


def run_scenario(requirement: Requirement, ctx: RunContext) -> Result:
    """Run the requirement's `check.scenario` step by step."""
    scenario = load_scenario(Path(ctx.profile.path) / requirement.check.options["scenario"],
                             datasets=Path(ctx.profile.path) / "datasets")
    variables: dict[str, Any] = {"run_id": uuid.uuid4().hex[:12]}
    with exchanges(requirement, ctx) as ex:
        for number, step in enumerate(scenario.steps, 1):
            if ctx.stop.is_set():
                raise KeyboardInterrupt
            ctx.progress(f"step {number}/{len(scenario.steps)}: {step.name}")
            try:
                response = _attempt(step, ex, variables, Path(scenario.path))
                _capture(step, response, variables)
            except SupplierFailure as unmet:
                measured = _measurements(requirement, ex, scenario)
                if step.setup:  # a precondition, not the rule: nothing about the rule was measured
                    return Result(requirement.id, Outcome.ERROR, (), measurements=measured,
                                  reason=ctx.redactor.text(f"could not be tested: setup step '{step.name}' not met: "
                                                           f"{unmet}")[:400])
                return not_met(requirement, ex, measured, name=scenario.name, step=step.name,
                               operation=ctx.redactor.text(_operation(step, variables)), why=str(unmet))
    return held(requirement, ex, _measurements(requirement, ex, scenario), name=scenario.name, task=scenario.task,
                what=f"{len(scenario.steps)} step(s) met")


def _operation(step: Step, variables: dict[str, Any]) -> str:
    """The step's method and path as sent: its variables expanded (as written where one was never captured)."""
    path = str(step.request.get("path", ""))
    with contextlib.suppress(EngineFailure):
        path = _fill_text(path, variables)
    return f"{step.request['method']} {path}".strip()


def _measurements(requirement: Requirement, ex: Exchanges, scenario: Scenario) -> dict[str, Any]:
    return measurements(requirement, ex, scenario=Path(scenario.path).name, python=None, steps=len(scenario.steps),
                        task=scenario.task)


def _attempt(step: Step, ex: Exchanges, variables: dict[str, Any], scenario_file: Path) -> httpx.Response:
    """Send the step and check it; with `eventually`, again every interval until it holds or time runs out."""
    if step.eventually is None:
        response = _send(step, ex, variables)
        assert_response(_fill(step.expect, variables), response, scenario_file)
        return response
    within_s, interval_s = step.eventually
    deadline = time.monotonic() + within_s
    tries = 0
    while True:
        tries += 1
        response = _send(step, ex, variables)
        try:
            assert_response(_fill(step.expect, variables), response, scenario_file)
            return response
        except SupplierFailure as unmet:
            if time.monotonic() + interval_s > deadline:
                raise SupplierFailure(f"still not met after {within_s:g} s ({tries} tries): {unmet}") from None
        if ex.ctx.stop.wait(interval_s):
            raise KeyboardInterrupt


def _send(step: Step, ex: Exchanges, variables: dict[str, Any]) -> httpx.Response:
    expected = step.expect.get("status", [])
    return send(ex, step.name, _fill(step.request, variables), system=step.system,
                expected=expected if isinstance(expected, list) else [expected])


def _fill(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = VARIABLE.fullmatch(value)
        if whole:
            if whole.group(1) not in variables:
                raise EngineFailure(f"${{{whole.group(1)}}} is used before it is captured")
            return variables[whole.group(1)]

        return _fill_text(value, variables)
    if isinstance(value, dict):  # keys too: a JMESPath expression may compare with a captured id
        return {(_fill_text(k, variables) if isinstance(k, str) else k): _fill(v, variables)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, variables) for v in value]
    return value


def _fill_text(text: str, variables: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        if match.group(1) not in variables:
            raise EngineFailure(f"${{{match.group(1)}}} is used before it is captured")
        return str(variables[match.group(1)])

    return VARIABLE.sub(one, text)


def _capture(step: Step, response: httpx.Response, variables: dict[str, Any]) -> None:
    for name, source in step.capture.items():
        if source == "/status":
            value: Any = response.status_code
        elif source.startswith("/headers/"):
            value = response.headers.get(source.removeprefix("/headers/"), MISSING)
        else:
            document = json_body(response)
            value = MISSING if document is MISSING else pointer(document, source.removeprefix("/body"))
        if value is MISSING:
            raise SupplierFailure(f"capture {name}: nothing at {source} in the response")
        variables[name] = value
