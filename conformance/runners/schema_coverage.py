"""What a schema requirement's run covered of the interface, and whether that is enough to judge it: the
operations exercised, the documented status codes seen, the links followed (the profile's `min_coverage`)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from conformance.inputs.openapi import local_target, read_openapi

__all__ = ["NOT_PROVOKED", "below_minimum", "coverage", "coverage_line", "documented_interface", "link_key"]


# Documented statuses the engine never provokes, left out of the statuses' share: 413 (a body over the system's
# size limit: the engine's bodies are small) and 431 (request headers over the limit). A system declares them as a
# trusted server answers them; seeing them takes a hostile client, not generated cases.
NOT_PROVOKED = frozenset({413, 431})


@functools.cache
def documented_interface(openapi_path: Path | str) -> tuple[dict[str, set[int]], set[str]]:
    """Per operation label, the status codes the interface documents; and the links it defines."""
    doc = read_openapi(openapi_path)
    statuses: dict[str, set[int]] = {}
    links: set[str] = set()
    for path, item in (doc.get("paths") or {}).items():
        if isinstance(item, dict) and isinstance(item.get("$ref"), str):  # a path item kept elsewhere
            item = {**(local_target(doc, item["$ref"]) or {}), **{k: v for k, v in item.items() if k != "$ref"}}
        for method, op in item.items():
            if method not in {"get", "put", "post", "delete", "patch", "head", "options", "trace"}:
                continue
            label = f"{method.upper()} {path}"
            statuses[label] = {int(code) for code in op.get("responses", {}) if str(code).isdigit()}
            for code, response in op.get("responses", {}).items():
                for _ in range(10):  # a response may name another by $ref (internal: the reader's document is)
                    if not (isinstance(response, dict) and isinstance(response.get("$ref"), str)):
                        break
                    response = local_target(doc, response["$ref"]) or {}
                for name in (response or {}).get("links", {}) or {}:
                    links.add(f"{label} -> {code} -> {name}")
    return statuses, links


def coverage(operations: list[str], exercised_operations: set[str], statuses: dict[str, set[int]],
             links_taken: dict[str, Any], documented: dict[str, set[int]], links_defined: set[str]) -> dict[str, Any]:
    """What a schema run covered of the interface: operations, documented statuses, links (JSON-ready)."""
    exercised = set(operations) & exercised_operations
    counted = {op: codes - NOT_PROVOKED for op, codes in documented.items()}
    doc_total = sum(len(codes) for op, codes in counted.items() if op in operations)
    observed_documented = sum(len(statuses.get(op, set()) & codes) for op, codes in counted.items())
    followed = {name for name in map(link_key, links_taken) if name in links_defined}
    return {
        "operations_documented": len(operations),
        "operations_exercised": len(exercised),
        "operations_not_exercised": sorted(set(operations) - exercised_operations),
        "operations_ratio": round(len(exercised) / len(operations), 3) if operations else None,
        "statuses_documented": doc_total,
        "statuses_not_counted": sorted(NOT_PROVOKED),
        "statuses_observed_documented": observed_documented,
        "statuses_ratio": round(observed_documented / doc_total, 3) if doc_total else None,
        "statuses_observed": {op: sorted(s) for op, s in sorted(statuses.items())},
        "statuses_undocumented_observed": {
            op: sorted(s - documented.get(op, set())) for op, s in sorted(statuses.items())
            if s - documented.get(op, set())},
        "links_defined": len(links_defined),
        "links_followed": len(followed),
        "links_not_followed": sorted(links_defined - followed),
        "links_ratio": round(len(followed) / len(links_defined), 3) if links_defined else None,
        # Every transition the engine took, including links it inferred from the responses.
        "transitions_taken": dict(sorted(links_taken.items())),
    }


_TRANSITION = re.compile(r"^(?P<op>\S+ \S+) -> \[(?P<code>[^\]]+)\] (?P<name>\S+) -> ")


def link_key(transition_id: str) -> str:
    """The engine's 'POST /persons -> [201] GetPerson -> GET /persons/{id}' as the interface names it:
    'POST /persons -> 201 -> GetPerson' (see `documented_interface`)."""
    match = _TRANSITION.match(transition_id)
    return f"{match['op']} -> {match['code']} -> {match['name']}" if match else transition_id


def coverage_line(coverage: dict[str, Any]) -> str:
    parts = [f"operations {coverage['operations_exercised']}/{coverage['operations_documented']}",
             f"statuses {coverage['statuses_observed_documented']}/{coverage['statuses_documented']}"]
    if coverage["links_defined"]:
        parts.append(f"links {coverage['links_followed']}/{coverage['links_defined']}")
    return ", ".join(parts)


def below_minimum(coverage: dict[str, Any], minimum: dict[str, float]) -> list[str]:
    short = []
    for key, floor in sorted(minimum.items()):
        got = coverage.get(f"{key}_ratio")
        if got is None or got < floor:
            short.append(f"{key} {got if got is not None else 'n/a'} < {floor}")
    return short
