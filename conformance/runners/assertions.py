"""The assertion language of scenarios: what a step's `expect:` may say about an answer, and how a breach reads.

    expect:
      status: 201                      # or a list of statuses
      headers: {ETag: {exists: true}}  # header name -> matcher
      body: {/id: {exists: true}}      # JSON pointer -> matcher
      jmespath: {"length(items)": 2}   # JMESPath expression -> matcher (null reads as absent)
      schema: {$ref: ../openapi.yaml#/components/schemas/Problem}   # JSON Schema, $refs from the scenario file

A matcher is a value (equals) or one of: exists, equals, contains, not_contains, contains_all, gte, lte, one_of,
matches, length, min_length; `between: [low, high]` (numbers, or RFC 3339 date-times compared as instants),
`before` / `after` (RFC 3339 date-times with their offset, compared as instants, not as text); `all` / `none` /
`any` (each item of a list against a nested matcher). A breach raises `SupplierFailure` saying what was expected
and what came back; an assertion that cannot be evaluated (a schema without its file) is an `EngineFailure`. The
scenario format and its linter are `conformance.inputs.scenarios`.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from conformance.engine.evidence import body_text
from conformance.errors import EngineFailure, SupplierFailure
from conformance.inputs.scenarios import body_validator, jmespath_expression

__all__ = ["MISSING", "assert_response", "instant", "json_body", "match", "pointer", "show"]

MISSING: Any = object()  # what a pointer, header or expression found when there is nothing there


def json_body(response: httpx.Response) -> Any:
    """The answer's JSON, or MISSING when it is not JSON."""
    try:
        return response.json()
    except ValueError:
        return MISSING


def pointer(document: Any, where: str) -> Any:
    """The value at JSON pointer `where` (RFC 6901) in `document`, or MISSING."""
    if where == "":
        return document
    node = document
    for raw in where.lstrip("/").split("/"):
        part = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return MISSING
    return node


def show(value: Any) -> str:
    """A value as a finding shows it (JSON, cut at 300 characters)."""
    if value is MISSING:
        return "nothing (absent)"
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 300 else text[:300] + "..."


_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def instant(text: Any) -> datetime | None:
    """An RFC 3339 date-time (with its offset) as an aware datetime; None if `text` is not one."""
    if not isinstance(text, str) or not _RFC3339.fullmatch(text):
        return None
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError:  # 2026-02-30T...: the shape of a date-time, not a date
        return None


def _satisfies(actual: Any, matcher: Any) -> bool:
    try:
        match("", actual, matcher)
    except SupplierFailure:
        return False
    return True


def _holds(item: Any, wanted: Any) -> bool:
    if isinstance(wanted, dict) and isinstance(item, dict):
        return all(k in item and _holds(item[k], v) for k, v in wanted.items())
    return bool(item == wanted)


def match(where: str, actual: Any, expected: Any) -> None:
    """Raise SupplierFailure unless `actual` (found at `where`) satisfies the matcher `expected`."""
    if not isinstance(expected, dict):
        expected = {"equals": expected}
    (op, want), = expected.items()
    if op == "exists":
        if (actual is not MISSING) != want:
            raise SupplierFailure(f"{where}: expected it to be {'present' if want else 'absent'}, got {show(actual)}")
    elif op == "equals":
        if actual is MISSING or actual != want:
            raise SupplierFailure(f"{where}: expected {show(want)}, got {show(actual)}")
    elif op in ("contains", "not_contains"):
        if not isinstance(actual, list):
            raise SupplierFailure(f"{where}: expected a list, got {show(actual)}")
        found = any(_holds(item, want) for item in actual)
        if found != (op == "contains"):
            verb = "an item matching" if op == "contains" else "no item matching"
            raise SupplierFailure(f"{where}: expected {verb} {show(want)}, got {show(actual)}")
    elif op == "contains_all":
        if not isinstance(actual, list):
            raise SupplierFailure(f"{where}: expected a list, got {show(actual)}")
        missing = [w for w in want if not any(_holds(item, w) for item in actual)]
        if missing:
            raise SupplierFailure(f"{where}: expected items matching {show(missing)} as well, got {show(actual)}")
    elif op in ("gte", "lte"):
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            raise SupplierFailure(f"{where}: expected a number, got {show(actual)}")
        if (actual < want) if op == "gte" else (actual > want):
            bound = "at least" if op == "gte" else "at most"
            raise SupplierFailure(f"{where}: expected {bound} {want}, got {show(actual)}")
    elif op == "one_of":
        if actual is MISSING or actual not in want:
            raise SupplierFailure(f"{where}: expected one of {show(want)}, got {show(actual)}")
    elif op == "matches":
        if not isinstance(actual, str) or not re.search(want, actual):
            raise SupplierFailure(f"{where}: expected text matching /{want}/, got {show(actual)}")
    elif op in ("before", "after"):
        when, moment = instant(want), instant(actual)
        if when is None:
            raise EngineFailure(f"{where}: {op} needs an RFC 3339 date-time with its offset, got {show(want)}")
        if moment is None:
            raise SupplierFailure(f"{where}: expected an RFC 3339 date-time with its offset, got {show(actual)}")
        if (moment >= when) if op == "before" else (moment <= when):
            raise SupplierFailure(f"{where}: expected an instant {op} {want}, got {show(actual)}")
    elif op == "between":
        _between(where, actual, want)
    elif op in ("all", "none", "any"):
        if not isinstance(actual, list):
            raise SupplierFailure(f"{where}: expected a list, got {show(actual)}")
        held = [_satisfies(item, want) for item in actual]
        if op == "all" and not all(held):
            first = held.index(False)
            try:
                match(f"{where}[{first}]", actual[first], want)
            except SupplierFailure as breach:
                raise SupplierFailure(f"{where}: expected every item to satisfy {show(want)}; "
                                      f"{held.count(False)} do not, the first: {breach}") from None
        if op == "none" and any(held):
            first = held.index(True)
            raise SupplierFailure(f"{where}: expected no item to satisfy {show(want)}; item {first} does: "
                                  f"{show(actual[first])}")
        if op == "any" and not any(held):
            raise SupplierFailure(f"{where}: expected an item satisfying {show(want)}, got {show(actual)}")
    elif op in ("length", "min_length"):
        if not isinstance(actual, list | str | dict):
            raise SupplierFailure(f"{where}: expected something with a length, got {show(actual)}")
        ok = len(actual) == want if op == "length" else len(actual) >= want
        if not ok:
            words = "exactly" if op == "length" else "at least"
            raise SupplierFailure(f"{where}: expected {words} {want} item(s), got {len(actual)}: {show(actual)}")


def _between(where: str, actual: Any, want: Any) -> None:
    low, high = want
    if all(isinstance(b, int | float) and not isinstance(b, bool) for b in (low, high)):
        if isinstance(actual, bool) or not isinstance(actual, int | float):
            raise SupplierFailure(f"{where}: expected a number, got {show(actual)}")
        if not low <= actual <= high:
            raise SupplierFailure(f"{where}: expected between {low} and {high}, got {show(actual)}")
        return
    start, end = instant(low), instant(high)
    if start is None or end is None:
        raise EngineFailure(f"{where}: between needs two numbers or two RFC 3339 date-times, got {show(want)}")
    seen = instant(actual)
    if seen is None:
        raise SupplierFailure(f"{where}: expected an RFC 3339 date-time with its offset, got {show(actual)}")
    if not start <= seen <= end:
        raise SupplierFailure(f"{where}: expected an instant between {low} and {high}, got {show(actual)}")


def assert_response(expect: dict[str, Any], response: httpx.Response, scenario_file: Path | None = None) -> None:
    """Raise SupplierFailure at the first expectation of `expect` the answer does not meet. `scenario_file` is
    where an `expect.schema`'s $refs are resolved from. Without `status` (a step's `applies_if`, `repeat.until`) the
    status is not checked."""
    statuses = expect.get("status")
    statuses = statuses if isinstance(statuses, list) else [statuses] if statuses is not None else None
    if statuses is not None and response.status_code not in statuses:
        raise SupplierFailure(f"status: expected {' or '.join(map(str, statuses))}, got {response.status_code}; "
                              f"body: {body_text(response.content[:500], str)}")
    for name, matcher in (expect.get("headers") or {}).items():
        match(f"header {name}", response.headers.get(name, MISSING), matcher)
    if not (expect.get("body") or expect.get("jmespath") or "schema" in expect):
        return
    document = json_body(response)  # read once for every assertion on the body
    if document is MISSING:
        raise SupplierFailure(f"body: expected JSON, got {body_text(response.content[:300], str)!r}")
    for where, matcher in (expect.get("body") or {}).items():
        match(f"body {where or '/'}", pointer(document, where), matcher)
    for expression, matcher in (expect.get("jmespath") or {}).items():
        value = jmespath_expression(expression).search(document)
        match(f"jmespath {expression}", MISSING if value is None else value, matcher)
    if "schema" in expect:
        if scenario_file is None:
            raise EngineFailure("a response schema needs the scenario file to resolve its $refs")
        errors = sorted(body_validator(expect["schema"], scenario_file).iter_errors(document),
                        key=lambda e: list(map(str, e.absolute_path)))
        if errors:
            shown = "; ".join(f"/{'/'.join(map(str, e.absolute_path))}: {e.message[:200]}" for e in errors[:5])
            more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
            raise SupplierFailure(f"body does not satisfy the expected schema: {shown}{more}")
