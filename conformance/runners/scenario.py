"""Run a profile's YAML scenario (a business rule as steps) against the target.

Each step sends one request (`${variables}` filled from earlier captures and `${params.NAME}` from the target's
parameters), checks the expectations (`conformance.runners.assertions`), and captures values for later steps (by
JSON pointer or JMESPath). The first unmet expectation is the finding (later steps depend on it): it names the
step, what was expected and what came back, with a curl that sends the same request. A step marked `setup` that is
not met is an error: nothing about the rule was measured. A step's `applies_if` that the answer does not satisfy
makes the requirement `not-applicable` (the reason names the step and what was found).

A step may be sent several times: `for_each` item of a captured list, or `repeat` while a variable is set (follow
`rel=next` links to the end) or until a condition holds. Both stop at their `max` (default 100), at the
requirement's `max_seconds` and at a stop; a request to an absolute URL of another origin is refused unsent
(`runners/http.py`). The task's request count and elapsed time are always measured, and bounded when the
requirement sets `max_requests` / `max_seconds` (the workflow cost).
"""

from __future__ import annotations

import contextlib
import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

from conformance.errors import DeadlineExceeded, EngineFailure, SupplierFailure
from conformance.inputs.scenarios import VARIABLE, Scenario, Step, jmespath_expression, load_scenario
from conformance.model import Outcome, Requirement, Result
from conformance.runners import RunContext
from conformance.runners.assertions import MISSING, assert_response, json_body, pointer, show
from conformance.runners.http import Exchanges, at_deadline, exchanges, held, measurements, not_met, send

__all__ = ["DEFAULT_MAX_REPEATS", "MAX_COLLECTED", "run_scenario"]

DEFAULT_MAX_REPEATS = 100  # for_each items and repeat rounds when the step declares no `max`
MAX_COLLECTED = 100_000  # items one `append: true` capture may gather: a hostile server cannot fill the memory


class _NotApplicable(Exception):
    """A step's `applies_if` does not hold: the requirement does not apply to this target."""


def run_scenario(requirement: Requirement, ctx: RunContext) -> Result:
    """Run the requirement's `check.scenario` step by step."""
    scenario = load_scenario(Path(ctx.profile.path) / requirement.check.options["scenario"],
                             datasets=Path(ctx.profile.path) / "datasets")
    variables: dict[str, Any] = {"run_id": uuid.uuid4().hex[:12], "params": dict(ctx.target.params)}
    notes: list[str] = []
    with exchanges(requirement, ctx) as ex:
        runner = _Steps(requirement, ex, variables, Path(scenario.path), notes)
        for number, step in enumerate(scenario.steps, 1):
            if ctx.stop.is_set():
                raise KeyboardInterrupt
            ctx.progress(f"step {number}/{len(scenario.steps)}: {step.name}")
            try:
                runner.run(step)
            except _NotApplicable as why:
                return Result(requirement.id, Outcome.NOT_APPLICABLE, (),
                              measurements=_measurements(requirement, ex, scenario),
                              reason=ctx.redactor.text(f"not applicable: step '{step.name}': {why}")[:400])
            except DeadlineExceeded as cut:  # a task already over its cost has failed; otherwise an error
                return at_deadline(requirement, ex, _measurements(requirement, ex, scenario), name=scenario.name,
                                   task=scenario.task, cut=cut)
            except SupplierFailure as unmet:
                measured = _measurements(requirement, ex, scenario)
                if step.setup:  # a precondition, not the rule: nothing about the rule was measured
                    return Result(requirement.id, Outcome.ERROR, (), measurements=measured,
                                  reason=ctx.redactor.text(f"could not be tested: setup step '{step.name}' not met: "
                                                           f"{unmet}")[:400])
                return not_met(requirement, ex, measured, name=scenario.name, step=step.name,
                               operation=ctx.redactor.text(_operation(step, variables)), why=str(unmet))
    what = f"{len(scenario.steps)} step(s) met" + (f" ({'; '.join(notes)})" if notes else "")
    return held(requirement, ex, _measurements(requirement, ex, scenario), name=scenario.name, task=scenario.task,
                what=what)


def _operation(step: Step, variables: dict[str, Any]) -> str:
    """The step's method and path as sent: its variables expanded (as written where one was never captured)."""
    path = str(step.request.get("path", ""))
    with contextlib.suppress(EngineFailure):
        path = _fill_text(path, variables)
    return f"{step.request['method']} {path}".strip()


def _measurements(requirement: Requirement, ex: Exchanges, scenario: Scenario) -> dict[str, Any]:
    return measurements(requirement, ex, scenario=Path(scenario.path).name, python=None, steps=len(scenario.steps),
                        task=scenario.task)


class _Steps:
    """Sends steps with the scenario's variables, each as many times as its `for_each` or `repeat` says."""

    def __init__(self, requirement: Requirement, ex: Exchanges, variables: dict[str, Any], file: Path,
                 notes: list[str]) -> None:
        self.ex, self.variables, self.file, self.notes = ex, variables, file, notes
        max_seconds = requirement.check.options.get("max_seconds")
        self.deadline = ex.started + float(max_seconds) if max_seconds is not None else None

    def run(self, step: Step) -> None:
        if step.for_each is not None:
            self._for_each(step, step.for_each)
        elif step.repeat is not None:
            self._repeat(step, step.repeat)
        else:
            self._once(step)

    def _once(self, step: Step) -> httpx.Response:
        response = _attempt(step, self.ex, self.variables, self.file)
        _capture(step, response, self.variables)
        if step.applies_if is not None:
            try:
                assert_response(_fill(step.applies_if, self.variables), response, self.file)
            except SupplierFailure as unmet:
                raise _NotApplicable(str(unmet)) from None
        return response

    def _next_round(self, step: Step, done: int) -> None:
        """Between two sends of one step: a stop ends the run, and the requirement's max_seconds ends the loop."""
        if self.ex.ctx.stop.is_set():
            raise KeyboardInterrupt
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise SupplierFailure(f"the requirement's max_seconds passed after {done} round(s) of this step")

    def _for_each(self, step: Step, spec: dict[str, Any]) -> None:
        items = _lookup(str(spec["in"]), self.variables)
        if not isinstance(items, list):
            raise SupplierFailure(f"for_each: ${{{spec['in']}}} is not a list: {show(items)}")
        limit = int(spec.get("max", DEFAULT_MAX_REPEATS))
        if len(items) > limit and not spec.get("first"):
            raise EngineFailure(f"step '{step.name}': ${{{spec['in']}}} has {len(items)} items, more than "
                                f"for_each.max {limit}; raise max, or set `first: true` to check only the first "
                                f"{limit}")
        name = str(spec["as"])
        try:
            for index, item in enumerate(items[:limit]):
                self._next_round(step, index)
                self.variables[name] = item
                try:
                    self._once(step)
                except SupplierFailure as unmet:
                    raise SupplierFailure(f"item {index} ({show(item)}): {unmet}") from None
        finally:
            self.variables.pop(name, None)
        checked = min(len(items), limit)
        self.notes.append(f"'{step.name}' for each of {checked}" + (f" of {len(items)}" if checked < len(items)
                                                                    else "") + " item(s)")

    def _repeat(self, step: Step, spec: dict[str, Any]) -> None:
        limit = int(spec.get("max", DEFAULT_MAX_REPEATS))
        interval = float(spec.get("interval_s", 0))
        rounds = 0
        while True:
            variable = spec.get("while")
            if variable is not None and _lookup(str(variable), self.variables, missing=None) is None:
                break
            if rounds >= limit:
                more = (f"${{{variable}}} is still {show(self.variables.get(variable))}" if variable is not None
                        else "the condition still does not hold")
                raise SupplierFailure(f"repeated {limit} times (repeat.max) and {more}")
            if rounds:
                self._next_round(step, rounds)
                if interval and self.ex.ctx.stop.wait(max(0.0, self.ex.ctx.remaining_s(interval))):
                    raise KeyboardInterrupt
            response = self._once(step)
            rounds += 1
            if "until" in spec:
                try:
                    assert_response(_fill(spec["until"], self.variables), response, self.file)
                    break
                except SupplierFailure as unmet:
                    if rounds >= limit:
                        raise SupplierFailure(f"repeated {limit} times (repeat.max) and still: {unmet}") from None
        self.notes.append(f"'{step.name}' sent {rounds} time(s)")


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
        if ex.ctx.stop.wait(max(0.0, ex.ctx.remaining_s(interval_s))):
            raise KeyboardInterrupt


def _send(step: Step, ex: Exchanges, variables: dict[str, Any]) -> httpx.Response:
    expected = step.expect.get("status", [])
    return send(ex, step.name, _fill(step.request, variables), system=step.system,
                expected=expected if isinstance(expected, list) else [expected])


_UNSET: Any = object()


def _lookup(name: str, variables: dict[str, Any], missing: Any = _UNSET) -> Any:
    """`name` or `name.key.key` among the variables (`params.NAME` is a target parameter)."""
    head, *keys = name.split(".")
    if head not in variables:
        if missing is not _UNSET:
            return missing
        raise EngineFailure(f"${{{name}}} is used before it is captured")
    value = variables[head]
    for key in keys:
        if not isinstance(value, dict) or key not in value:
            if missing is not _UNSET:
                return missing
            if head == "params":
                raise EngineFailure(f"${{{name}}}: the target gives no parameter '{key}'; give it with --param "
                                    f"{key}=VALUE or under the target's `params:`")
            raise EngineFailure(f"${{{name}}}: ${{{head}}} has no key '{key}' (it is {show(variables[head])})")
        value = value[key]
    return value


def _fill(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str):
        whole = VARIABLE.fullmatch(value)
        if whole:
            return _lookup(whole.group(1), variables)
        return _fill_text(value, variables)
    if isinstance(value, dict):  # keys too: a JMESPath expression may compare with a captured id
        return {(_fill_text(k, variables) if isinstance(k, str) else k): _fill(v, variables)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, variables) for v in value]
    return value


def _fill_text(text: str, variables: dict[str, Any]) -> str:
    def one(match: re.Match[str]) -> str:
        value = _lookup(match.group(1), variables)
        return json.dumps(value) if isinstance(value, list | dict) else str(value)

    return VARIABLE.sub(one, text)


def _capture(step: Step, response: httpx.Response, variables: dict[str, Any]) -> None:
    for name, spec in step.capture.items():
        optional = isinstance(spec, dict) and bool(spec.get("optional"))
        if isinstance(spec, dict) and "jmespath" in spec:
            document = json_body(response)
            found = None if document is MISSING else jmespath_expression(spec["jmespath"]).search(document)
            value: Any = MISSING if found is None else found
            source = f"jmespath {spec['jmespath']}"
        else:
            source = spec["pointer"] if isinstance(spec, dict) else spec
            value = _at(response, source)
        if value is MISSING:
            if optional:
                variables.pop(name, None)  # unset: a `repeat: {while: NAME}` ends here
                continue
            raise SupplierFailure(f"capture {name}: nothing at {source} in the response")
        if isinstance(spec, dict) and spec.get("append"):
            held_before = variables.get(name)
            collected = list(held_before) if isinstance(held_before, list) else []
            value = collected + (value if isinstance(value, list) else [value])
            if len(value) > MAX_COLLECTED:
                raise EngineFailure(f"capture {name}: more than {MAX_COLLECTED} items collected; the harness "
                                    "stops there (bound the step's repeat.max)")
        variables[name] = value


def _at(response: httpx.Response, source: str) -> Any:
    if source == "/status":
        return response.status_code
    if source.startswith("/headers/"):
        return response.headers.get(source.removeprefix("/headers/"), MISSING)
    document = json_body(response)
    return MISSING if document is MISSING else pointer(document, source.removeprefix("/body"))
