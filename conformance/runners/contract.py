"""Contract checks: run a profile's YAML scenario (a business rule as steps) against the target.

Each step sends one request (`${variables}` filled from earlier captures), checks the expectations, and
captures values for later steps. The first unmet expectation is the finding (later steps depend on it):
it names the step, what was expected and what came back, with a curl that sends the same request.
A transport failure is an error, never a failure. The task's request count and elapsed time are always
measured, and bounded when the requirement sets `max_requests` / `max_seconds` (the workflow cost).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx

from conformance.engine.evidence import body_text, curl, jsonl
from conformance.errors import EngineFailure, SupplierFailure
from conformance.inputs.scenarios import VARIABLE, Scenario, Step, body_validator, jmespath_expression, load_scenario
from conformance.model import CheckKind, Finding, Outcome, Requirement, Result
from conformance.runners import RunContext

__all__ = ["ContractRunner"]

REQUEST_TIMEOUT_S = 30.0
MAX_BODY_BYTES = 8 * 1024 * 1024  # a contract answer larger than this is cut (a migration export stays well under)
_MISSING = object()


@dataclass
class _State:
    ctx: RunContext
    evidence: IO[str]
    clients: dict[str | None, httpx.Client]
    variables: dict[str, Any] = field(default_factory=dict)
    # A Python check may send from several threads at once (a burst): the count and the evidence file are shared.
    lock: threading.Lock = field(default_factory=threading.Lock)
    requests: int = 0
    last_curl: str = ""
    scenario_file: Path | None = None  # where an `expect.schema`'s $refs are resolved from


class ContractRunner:
    kind = CheckKind.CONTRACT

    def run(self, requirement: Requirement, ctx: RunContext) -> Result:
        if "python" in requirement.check.options:
            return self._run_python(requirement, ctx)
        scenario = load_scenario(Path(ctx.profile.path) / requirement.check.options["scenario"],
                                 datasets=Path(ctx.profile.path) / "datasets")
        started = time.monotonic()
        with ctx.run_dir.open_exchanges(requirement.id) as evidence, _clients(ctx) as clients:
            state = _State(ctx, evidence, clients, {"run_id": uuid.uuid4().hex[:12]},
                           scenario_file=Path(scenario.path))
            for number, step in enumerate(scenario.steps, 1):
                if ctx.stop.is_set():
                    raise KeyboardInterrupt
                ctx.progress(f"step {number}/{len(scenario.steps)}: {step.name}")
                try:
                    response = _attempt(step, state, requirement)
                    _capture(step, response, state)
                except SupplierFailure as unmet:
                    if step.setup:  # a precondition, not the rule: nothing about the rule was measured
                        return Result(requirement.id, Outcome.ERROR, (), measurements=_measurements(
                            requirement, scenario, state, started),
                            reason=ctx.redactor.text(f"could not be tested: setup step '{step.name}' not met: "
                                                     f"{unmet}")[:400])
                    return _result(requirement, scenario, state, started, step, str(unmet))
        return _result(requirement, scenario, state, started, None, None)

    def _run_python(self, requirement: Requirement, ctx: RunContext) -> Result:
        from conformance.contracts import ContractContext, Unmet, find_check

        name = requirement.check.options["python"]
        check = find_check(name)
        if check is None or requirement.id not in check.requirements:
            raise EngineFailure(f"no contract check '{name}' registered for {requirement.id}")
        examples = int(requirement.check.options.get("max_examples", 25)) * (5 if ctx.tier == "full" else 1)
        started = time.monotonic()
        with ctx.run_dir.open_exchanges(requirement.id) as evidence, _clients(ctx) as clients:
            state = _State(ctx, evidence, clients)

            def send(method: str, path: str, *, json: Any = None, query: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None, step: str = "", system: str | None = None,
                     content: bytes | None = None) -> httpx.Response:
                if ctx.stop.is_set():
                    raise KeyboardInterrupt
                if system is not None and system not in check.systems:
                    raise EngineFailure(f"contract check '{name}' sent to system '{system}' without declaring it "
                                        "in @contract_check(systems=...)")
                request: dict[str, Any] = {"method": method, "path": path}
                if json is not None:
                    request["json"] = json
                if content is not None:
                    request["content"] = content
                if query:
                    request["query"] = query
                if headers:
                    request["headers"] = headers
                where = f" on {system}" if system else ""
                ctx.progress(f"{step or method + ' ' + path}{where} ({state.requests} requests)")
                return _send(Step(step or f"{method} {path}", None, request, {}, {}, system=system), state,
                             requirement, fill=False)

            scenario = Scenario(name=check.name, path=name, steps=())
            try:
                check.function(ContractContext(send, ctx.profile.openapi_path, ctx.seed, examples,
                                               frozenset(ctx.systems)))
            except Unmet as unmet:
                failed = Step(f"property {name}", None, {"method": "", "path": ""}, {}, {})
                return _result(requirement, scenario, state, started, failed, str(unmet))
        return _result(requirement, scenario, state, started, None, None)


@contextlib.contextmanager
def _clients(ctx: RunContext) -> Iterator[dict[str | None, httpx.Client]]:
    """One HTTP client for the target (key None) and one for each other system the requirement needs."""
    with contextlib.ExitStack() as stack:
        clients: dict[str | None, httpx.Client] = {None: stack.enter_context(httpx.Client(
            base_url=ctx.target.base_url, timeout=REQUEST_TIMEOUT_S, follow_redirects=False,
            **ctx.target.http_options()))}
        for name, system in ctx.systems.items():
            clients[name] = stack.enter_context(httpx.Client(
                base_url=system.base_url, timeout=REQUEST_TIMEOUT_S, follow_redirects=False,
                headers=system.request_headers(), **system.http_options()))
        yield clients


def _attempt(step: Step, state: _State, requirement: Requirement) -> httpx.Response:
    """Send the step and check it; with `eventually`, again every interval until it holds or time runs out."""
    if step.eventually is None:
        response = _send(step, state, requirement)
        _check(_fill(step.expect, state.variables), response, state.scenario_file)
        return response
    within_s, interval_s = step.eventually
    deadline = time.monotonic() + within_s
    tries = 0
    while True:
        tries += 1
        response = _send(step, state, requirement)
        try:
            _check(_fill(step.expect, state.variables), response, state.scenario_file)
            return response
        except SupplierFailure as unmet:
            if time.monotonic() + interval_s > deadline:
                raise SupplierFailure(f"still not met after {within_s:g} s ({tries} tries): {unmet}") from None
        if state.ctx.stop.wait(interval_s):
            raise KeyboardInterrupt


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


def _send(step: Step, state: _State, requirement: Requirement, *, fill: bool = True) -> httpx.Response:
    ctx = state.ctx
    client = state.clients[step.system]
    spec = _fill(step.request, state.variables) if fill else step.request
    if step.system is None:
        headers = {**ctx.headers, **(ctx.auth() if ctx.auth else {}), **spec.get("headers", {})}
    else:  # the system's own credentials are the client's default headers
        headers = {**client.headers, **spec.get("headers", {})}
    body = json.dumps(spec["json"]).encode() if "json" in spec else spec.get("content")
    if "json" in spec:
        headers.setdefault("Content-Type", "application/json")
    request = client.build_request(spec["method"], spec["path"], params=spec.get("query"), headers=headers,
                                   content=body)
    redact = ctx.redactor
    with state.lock:
        state.last_curl = redact.text(curl(request.method, str(request.url), redact.headers(headers), body))
        state.requests += 1
        seq = state.requests
    record: dict[str, Any] = {
        "seq": seq, "step": step.name, **({"system": step.system} if step.system else {}),
        "request": {"method": request.method, "url": redact.text(str(request.url)),
                    "headers": redact.headers(dict(request.headers)), "body": body_text(body or b"", redact.text)},
        "response": None,
    }
    try:
        response = _bounded_send(client, request)
    except httpx.HTTPError as exc:
        with state.lock:
            state.evidence.write(jsonl({**record, "error": redact.text(f"{type(exc).__name__}: {exc}")}))
        where = f" on {step.system}" if step.system else ""
        raise EngineFailure(f"step '{step.name}': {spec['method']} {spec['path']}{where} got no answer: "
                            f"{type(exc).__name__}: {redact.text(str(exc))}") from None
    expected = step.expect.get("status", [])
    if response.status_code in (401, 403) and response.status_code not in (
            expected if isinstance(expected, list) else [expected]):
        with state.lock:
            state.evidence.write(jsonl({**record, "response": {"status": response.status_code}}))
        raise EngineFailure(f"step '{step.name}': the target refused the credentials ({response.status_code}), "
                            "so the rule could not be tested; check the target's auth settings")
    if response.extensions.get("truncated"):
        with state.lock:
            state.evidence.write(jsonl({**record, "response": {"status": response.status_code,
                                                               "truncated_at_bytes": MAX_BODY_BYTES}}))
        raise EngineFailure(f"step '{step.name}': the answer was larger than {MAX_BODY_BYTES // (1024 * 1024)} MiB "
                            "and was cut, so it could not be judged")
    record["response"] = {"status": response.status_code,
                          "elapsed_ms": round(response.elapsed.total_seconds() * 1000, 2),
                          "headers": redact.headers(dict(response.headers)),
                          "body": body_text(response.content, redact.text)}
    with state.lock:
        state.evidence.write(jsonl(record))
    return response


def _bounded_send(client: httpx.Client, request: httpx.Request) -> httpx.Response:
    """Send, reading at most MAX_BODY_BYTES of the answer: a huge body is cut and marked, never held whole."""
    response = client.send(request, stream=True)
    try:
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                response.extensions["truncated"] = True
                break
        content = b"".join(chunks)[:MAX_BODY_BYTES]
    finally:
        response.close()
    # The content is already decoded: a Content-Encoding kept here would make httpx decode it again.
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    cut = httpx.Response(response.status_code, headers=headers, content=content, request=request,
                         extensions=response.extensions)
    cut.elapsed = response.elapsed
    return cut


def _json_body(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return _MISSING


def _pointer(document: Any, pointer: str) -> Any:
    if pointer == "":
        return document
    node = document
    for raw in pointer.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return _MISSING
    return node


def _show(value: Any) -> str:
    if value is _MISSING:
        return "nothing (absent)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 300 else text[:300] + "..."


def _holds(item: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict) and isinstance(item, dict):
        return all(k in item and _holds(item[k], v) for k, v in wanted.items())
    return bool(item == wanted)


def _match(where: str, actual: Any, expected: Any) -> None:
    if not isinstance(expected, dict):
        expected = {"equals": expected}
    (op, want), = expected.items()
    if op == "exists":
        if (actual is not _MISSING) != want:
            raise SupplierFailure(f"{where}: expected it to be {'present' if want else 'absent'}, got {_show(actual)}")
    elif op == "equals":
        if actual is _MISSING or actual != want:
            raise SupplierFailure(f"{where}: expected {_show(want)}, got {_show(actual)}")
    elif op in ("contains", "not_contains"):
        if not isinstance(actual, list):
            raise SupplierFailure(f"{where}: expected a list, got {_show(actual)}")
        found = any(_holds(item, want) for item in actual)
        if found != (op == "contains"):
            verb = "an item matching" if op == "contains" else "no item matching"
            raise SupplierFailure(f"{where}: expected {verb} {_show(want)}, got {_show(actual)}")
    elif op == "contains_all":
        if not isinstance(actual, list):
            raise SupplierFailure(f"{where}: expected a list, got {_show(actual)}")
        missing = [w for w in want if not any(_holds(item, w) for item in actual)]
        if missing:
            raise SupplierFailure(f"{where}: expected items matching {_show(missing)} as well, got {_show(actual)}")
    elif op in ("gte", "lte"):
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            raise SupplierFailure(f"{where}: expected a number, got {_show(actual)}")
        if (actual < want) if op == "gte" else (actual > want):
            bound = "at least" if op == "gte" else "at most"
            raise SupplierFailure(f"{where}: expected {bound} {want}, got {_show(actual)}")
    elif op == "one_of":
        if actual is _MISSING or actual not in want:
            raise SupplierFailure(f"{where}: expected one of {_show(want)}, got {_show(actual)}")
    elif op == "matches":
        if not isinstance(actual, str) or not re.search(want, actual):
            raise SupplierFailure(f"{where}: expected text matching /{want}/, got {_show(actual)}")
    elif op in ("length", "min_length"):
        if not isinstance(actual, list | str | dict):
            raise SupplierFailure(f"{where}: expected something with a length, got {_show(actual)}")
        ok = len(actual) == want if op == "length" else len(actual) >= want
        if not ok:
            words = "exactly" if op == "length" else "at least"
            raise SupplierFailure(f"{where}: expected {words} {want} item(s), got {len(actual)}: {_show(actual)}")


def _check(expect: dict[str, Any], response: httpx.Response, scenario_file: Path | None = None) -> None:
    statuses = expect["status"] if isinstance(expect["status"], list) else [expect["status"]]
    if response.status_code not in statuses:
        raise SupplierFailure(f"status: expected {' or '.join(map(str, statuses))}, got {response.status_code}; "
                     f"body: {body_text(response.content[:500], str)}")
    for name, matcher in (expect.get("headers") or {}).items():
        _match(f"header {name}", response.headers.get(name, _MISSING), matcher)
    if not (expect.get("body") or expect.get("jmespath") or "schema" in expect):
        return
    document = _json_body(response)  # read once for every assertion on the body
    if document is _MISSING:
        raise SupplierFailure(f"body: expected JSON, got {body_text(response.content[:300], str)!r}")
    for pointer, matcher in (expect.get("body") or {}).items():
        _match(f"body {pointer or '/'}", _pointer(document, pointer), matcher)
    for expression, matcher in (expect.get("jmespath") or {}).items():
        value = jmespath_expression(expression).search(document)
        _match(f"jmespath {expression}", _MISSING if value is None else value, matcher)
    if "schema" in expect:
        if scenario_file is None:
            raise EngineFailure("a response schema needs the scenario file to resolve its $refs")
        errors = sorted(body_validator(expect["schema"], scenario_file).iter_errors(document),
                        key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            shown = "; ".join(f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5])
            more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
            raise SupplierFailure(f"body does not satisfy the expected schema: {shown}{more}")


def _capture(step: Step, response: httpx.Response, state: _State) -> None:
    for name, source in step.capture.items():
        if source == "/status":
            value: Any = response.status_code
        elif source.startswith("/headers/"):
            value = response.headers.get(source.removeprefix("/headers/"), _MISSING)
        else:
            document = _json_body(response)
            value = _MISSING if document is _MISSING else _pointer(document, source.removeprefix("/body"))
        if value is _MISSING:
            raise SupplierFailure(f"capture {name}: nothing at {source} in the response")
        state.variables[name] = value


def _measurements(requirement: Requirement, scenario: Scenario, state: _State, started: float) -> dict[str, Any]:
    elapsed = time.monotonic() - started
    options = requirement.check.options
    return {
        "engine": "contract", "scenario": Path(scenario.path).name if scenario.steps else None,
        "python": None if scenario.steps else scenario.path, "steps": len(scenario.steps), "task": scenario.task,
        "requests": state.requests, "elapsed_s": round(elapsed, 3),
        "max_requests": options.get("max_requests"), "max_seconds": options.get("max_seconds"),
        "evidence": str(Path("exchanges") / f"{requirement.id}.jsonl"),
    }


def _result(requirement: Requirement, scenario: Scenario, state: _State, started: float, failed: Step | None,
            why: str | None) -> Result:
    measurements = _measurements(requirement, scenario, state, started)
    elapsed = measurements["elapsed_s"]
    options = requirement.check.options
    if failed is None:
        over = []
        if options.get("max_requests") is not None and state.requests > options["max_requests"]:
            over.append(f"{state.requests} requests (at most {options['max_requests']})")
        if options.get("max_seconds") is not None and elapsed > options["max_seconds"]:
            over.append(f"{elapsed:.2f} s (at most {options['max_seconds']} s)")
        if not over:
            what = f"{len(scenario.steps)} step(s) met" if scenario.steps else f"property {scenario.path} held"
            if scenario.task:
                what = f"task '{scenario.task}' done: {what}"
            return Result(requirement.id, Outcome.PASS, (), measurements=measurements,
                          reason=f"{what} in {state.requests} requests, {elapsed:.2f} s")
        task = f"task '{scenario.task}'" if scenario.task else "the task"
        why = (f"{task} cost too much: {', '.join(over)}; every step met "
               f"({state.requests} requests, {elapsed:.2f} s in all)")
        finding = Finding(requirement_id=requirement.id, check="workflow cost", code=None,
                          title=f"{scenario.name}: {task} cost too much", message=why, operation=None, curl=None,
                          status_code=None, seed=state.ctx.seed)
        return Result(requirement.id, Outcome.FAIL, (finding,), measurements=measurements, reason=why[:300])
    finding = Finding(
        requirement_id=requirement.id, check=f"step: {failed.name}", code=None,
        title=f"{scenario.name}: step '{failed.name}' not met", message=state.ctx.redactor.text(why or ""),
        operation=f"{failed.request['method']} {failed.request['path']}".strip() or None, curl=state.last_curl,
        status_code=None, seed=state.ctx.seed,
    )
    return Result(requirement.id, Outcome.FAIL, (finding,), measurements=measurements,
                  reason=f"step '{failed.name}': {state.ctx.redactor.text(why or '')}"[:300])
