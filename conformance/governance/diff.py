"""What changed between two versions of a profile, and whether each change breaks someone who built to the old one.

A change is **breaking** when a system built to the old version (a supplier's implementation, or a buyer's client
of it) can stop conforming or working: an operation, a response field, a status code or a link removed, a request
field or parameter made required, a type, an enum or a bound narrowed, a security requirement added, a new MUST.
It is **compatible** when such a system keeps working: an optional field, an operation, a status or a link added,
a type or enum widened. A **note** changes no obligation (a weight, a clause, a title) but a change board reads it.
`RULES` is the table of every rule with its severity and the version bump it needs
(tests/unit/test_profile_diff.py holds one case per rule). Interfaces are read through the one OpenAPI reader;
local `$ref`s resolve within the document.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from conformance.inputs.openapi import read_openapi
from conformance.model import Level, Parameter, Profile, Requirement, RequirementStatus

__all__ = ["RULES", "Change", "ProfileDiff", "Severity", "diff_interfaces", "diff_parameters", "diff_profiles",
           "diff_requirements"]


class Severity(StrEnum):
    BREAKING = "breaking"
    COMPATIBLE = "compatible"
    NOTE = "note"


_B, _C, _N = Severity.BREAKING, Severity.COMPATIBLE, Severity.NOTE
# rule -> (severity, the version bump it needs: major | minor | patch)
RULES: dict[str, tuple[Severity, str]] = {
    "requirement-added-must": (_B, "major"),
    "requirement-added": (_C, "minor"),
    "requirement-removed": (_B, "major"),
    "requirement-level-raised-to-must": (_B, "major"),
    "requirement-level-raised": (_C, "minor"),
    "requirement-level-lowered": (_C, "minor"),
    "requirement-check-changed": (_N, "minor"),
    "requirement-changed": (_N, "patch"),
    # a requirement's `applies_when`: a condition added holds fewer targets to it; removed or changed, a target
    # that was not-applicable may now be held to it
    "requirement-condition-added": (_C, "minor"),
    "requirement-condition-changed": (_B, "major"),
    # the profile's `parameters:`: a new required one (without a default) refuses every targets file written for
    # the old version
    "profile-parameter-added-required": (_B, "major"),
    "profile-parameter-added": (_C, "minor"),
    "profile-parameter-made-required": (_B, "major"),
    "profile-parameter-removed": (_C, "minor"),
    "operation-removed": (_B, "major"),
    "operation-added": (_C, "minor"),
    "status-removed": (_B, "major"),
    "status-added": (_C, "minor"),
    "link-removed": (_B, "major"),
    "link-added": (_C, "minor"),
    "security-added": (_B, "major"),
    "security-relaxed": (_C, "minor"),
    "parameter-removed": (_B, "major"),
    "parameter-added-required": (_B, "major"),
    "parameter-added-optional": (_C, "minor"),
    "parameter-made-required": (_B, "major"),
    "parameter-made-optional": (_C, "minor"),
    "request-body-made-required": (_B, "major"),
    "request-field-removed": (_B, "major"),
    "request-field-added-required": (_B, "major"),
    "request-field-added-optional": (_C, "minor"),
    "request-field-made-required": (_B, "major"),
    "request-field-made-optional": (_C, "minor"),
    "response-field-removed": (_B, "major"),
    "response-field-added": (_C, "minor"),
    "response-field-made-required": (_B, "major"),
    "response-field-made-optional": (_B, "major"),
    "type-narrowed": (_B, "major"),
    "type-widened": (_C, "minor"),
    "enum-narrowed": (_B, "major"),
    "enum-widened": (_C, "minor"),
    "bound-narrowed": (_B, "major"),
    "bound-widened": (_C, "minor"),
}

_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_UPPER = ("maxLength", "maximum", "maxItems", "maxProperties", "exclusiveMaximum")
_LOWER = ("minLength", "minimum", "minItems", "minProperties", "exclusiveMinimum")


@dataclass(frozen=True)
class Change:
    rule: str
    where: str  # a requirement id, or `METHOD /path ...` in the interface
    message: str

    @property
    def severity(self) -> Severity:
        return RULES[self.rule][0]

    @property
    def needs(self) -> str:
        return RULES[self.rule][1]

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "severity": self.severity.value, "needs": self.needs, "where": self.where,
                "message": self.message}


@dataclass(frozen=True)
class ProfileDiff:
    old: str  # id@version (or a folder)
    new: str
    requirements: tuple[Change, ...]
    interface: tuple[Change, ...]

    @property
    def changes(self) -> tuple[Change, ...]:
        return self.requirements + self.interface

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.severity is Severity.BREAKING)

    def to_dict(self) -> dict[str, Any]:
        return {"old": self.old, "new": self.new, "breaking": len(self.breaking),
                "requirements": [c.to_dict() for c in self.requirements],
                "interface": [c.to_dict() for c in self.interface]}


def diff_profiles(old: Profile, new: Profile) -> ProfileDiff:
    return ProfileDiff(old.ref, new.ref, (*diff_requirements(old.requirements, new.requirements),
                                          *diff_parameters(old.parameters, new.parameters)),
                       tuple(diff_interfaces(read_openapi(old.openapi_path), read_openapi(new.openapi_path))))


# --- requirements -------------------------------------------------------------------------------------------

_RANK = {Level.MAY: 0, Level.SHOULD: 1, Level.MUST: 2}


def diff_requirements(old: tuple[Requirement, ...], new: tuple[Requirement, ...]) -> Iterator[Change]:
    """Requirements added, removed and changed. A planned requirement counts as absent (it obliges nothing)."""
    before = {r.id: r for r in old if r.status is RequirementStatus.ACTIVE}
    after = {r.id: r for r in new if r.status is RequirementStatus.ACTIVE}
    for rid, req in after.items():
        if rid not in before:
            rule = "requirement-added-must" if req.level is Level.MUST else "requirement-added"
            yield Change(rule, rid, f"new {req.level.value} requirement: {req.title}")
    for rid, req in before.items():
        if rid not in after:
            yield Change("requirement-removed", rid, f"{req.level.value} requirement removed: {req.title}")
    for rid in before.keys() & after.keys():
        yield from _requirement_changes(before[rid], after[rid])


def diff_parameters(old: tuple[Parameter, ...], new: tuple[Parameter, ...]) -> Iterator[Change]:
    """The profile's parameters added, removed, or made required (a targets file must then give them)."""
    before, after = {p.name: p for p in old}, {p.name: p for p in new}
    for name, parameter in after.items():
        needed = parameter.required and parameter.default is None
        if name not in before:
            rule = "profile-parameter-added-required" if needed else "profile-parameter-added"
            yield Change(rule, f"parameters.{name}",
                         f"new {'required ' if needed else ''}parameter: {parameter.description}")
        elif needed and not (before[name].required and before[name].default is None):
            yield Change("profile-parameter-made-required", f"parameters.{name}", "parameter made required")
    for name in before.keys() - after.keys():
        yield Change("profile-parameter-removed", f"parameters.{name}", "parameter removed")


def _requirement_changes(a: Requirement, b: Requirement) -> Iterator[Change]:
    if a.level is not b.level:
        if _RANK[b.level] > _RANK[a.level]:
            rule = "requirement-level-raised-to-must" if b.level is Level.MUST else "requirement-level-raised"
        else:
            rule = "requirement-level-lowered"
        yield Change(rule, a.id, f"level {a.level.value} -> {b.level.value}")
    if a.check != b.check:
        yield Change("requirement-check-changed", a.id, f"check changed: {_check_delta(a, b)}")
    if a.applies_when != b.applies_when:
        rule = "requirement-condition-added" if a.applies_when is None else "requirement-condition-changed"
        yield Change(rule, a.id, f"applies_when {a.applies_when!r} -> {b.applies_when!r}")
    for name in ("weight", "category", "clause", "title"):
        if getattr(a, name) != getattr(b, name):
            yield Change("requirement-changed", a.id, f"{name} {getattr(a, name)!r} -> {getattr(b, name)!r}")


def _check_delta(a: Requirement, b: Requirement) -> str:
    if a.check.kind is not b.check.kind:
        return f"kind {a.check.kind.value} -> {b.check.kind.value}"
    keys = sorted(set(a.check.options) | set(b.check.options))
    return ", ".join(f"{k} {a.check.options.get(k)!r} -> {b.check.options.get(k)!r}" for k in keys
                     if a.check.options.get(k) != b.check.options.get(k))


# --- interfaces ---------------------------------------------------------------------------------------------

class _Doc:
    """An OpenAPI document with its local `$ref`s resolved on demand (never mutated: it is the reader's cache)."""

    def __init__(self, data: Any) -> None:
        self.data = data if isinstance(data, dict) else {}

    def deref(self, node: Any) -> Any:
        for _ in range(32):  # a chain of references, not a cycle
            if not (isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/")):
                return node
            target: Any = self.data
            for step in node["$ref"][2:].split("/"):
                step = step.replace("~1", "/").replace("~0", "~")
                target = target.get(step) if isinstance(target, dict) else None
            node = target
        return node

    def operations(self) -> dict[str, tuple[dict[str, Any], list[Any]]]:
        """`METHOD /path` -> (operation, path-level parameters)."""
        found = {}
        for path, item in (self.data.get("paths") or {}).items():
            item = self.deref(item)
            for method in _METHODS:
                if isinstance(item.get(method), dict):
                    found[f"{method.upper()} {path}"] = (item[method], list(item.get("parameters") or []))
        return found

    def security(self, op: Mapping[str, Any]) -> set[frozenset[str]]:
        raw = op["security"] if "security" in op else self.data.get("security") or [{}]
        return {frozenset(alt) for alt in raw} or {frozenset()}


def diff_interfaces(old: Any, new: Any) -> Iterator[Change]:
    """Changes between two OpenAPI documents (parsed), each classified by `RULES`."""
    a, b = _Doc(old), _Doc(new)
    ops_a, ops_b = a.operations(), b.operations()
    for name in ops_a.keys() - ops_b.keys():
        yield Change("operation-removed", name, f"operation removed ({ops_a[name][0].get('operationId', name)})")
    for name in ops_b.keys() - ops_a.keys():
        yield Change("operation-added", name, f"operation added ({ops_b[name][0].get('operationId', name)})")
    for name in sorted(ops_a.keys() & ops_b.keys()):
        yield from _operation(a, b, name, ops_a[name], ops_b[name])


def _operation(a: _Doc, b: _Doc, name: str, old: tuple[dict[str, Any], list[Any]],
               new: tuple[dict[str, Any], list[Any]]) -> Iterator[Change]:
    op_a, op_b = old[0], new[0]
    sec_a, sec_b = a.security(op_a), b.security(op_b)
    lost = [alt for alt in sec_a if not any(other <= alt for other in sec_b)]
    if lost:
        needed = " or ".join("+".join(sorted(alt)) or "none" for alt in sorted(sec_b, key=sorted))
        yield Change("security-added", name, f"security requirement added: now {needed}")
    elif sec_a != sec_b:
        yield Change("security-relaxed", name, "security relaxed: more ways to authenticate")
    yield from _parameters(a, b, name, [*old[1], *op_a.get("parameters", [])], [*new[1], *op_b.get("parameters", [])])
    body_a, body_b = a.deref(op_a.get("requestBody")), b.deref(op_b.get("requestBody"))
    if isinstance(body_b, dict) and body_b.get("required") and not (isinstance(body_a, dict)
                                                                  and body_a.get("required")):
        yield Change("request-body-made-required", name, "the request body is now required")
    if isinstance(body_a, dict) and isinstance(body_b, dict):
        yield from _contents(a, b, f"{name} request", body_a, body_b, "request")
    resp_a, resp_b = op_a.get("responses") or {}, op_b.get("responses") or {}
    for status in sorted(set(resp_a) - set(resp_b)):
        yield Change("status-removed", f"{name} {status}", f"status {status} removed")
    for status in sorted(set(resp_b) - set(resp_a)):
        yield Change("status-added", f"{name} {status}", f"status {status} added")
    for status in sorted(set(resp_a) & set(resp_b), key=str):
        ra, rb = a.deref(resp_a[status]), b.deref(resp_b[status])
        where = f"{name} {status}"
        links_a, links_b = set((ra or {}).get("links") or {}), set((rb or {}).get("links") or {})
        for link in sorted(links_a - links_b):
            yield Change("link-removed", where, f"link {link} removed")
        for link in sorted(links_b - links_a):
            yield Change("link-added", where, f"link {link} added")
        if isinstance(ra, dict) and isinstance(rb, dict):
            yield from _contents(a, b, where, ra, rb, "response")


def _parameters(a: _Doc, b: _Doc, name: str, old: list[Any], new: list[Any]) -> Iterator[Change]:
    def keyed(doc: _Doc, params: list[Any]) -> dict[str, dict[str, Any]]:
        out = {}
        for raw in params:
            p = doc.deref(raw)
            if isinstance(p, dict) and "name" in p:
                out[f"{p.get('in')} {p['name']}"] = p
        return out

    pa, pb = keyed(a, old), keyed(b, new)
    for key in sorted(pa.keys() - pb.keys()):
        yield Change("parameter-removed", name, f"parameter {key} removed")
    for key in sorted(pb.keys() - pa.keys()):
        required = bool(pb[key].get("required"))
        yield Change("parameter-added-required" if required else "parameter-added-optional", name,
                     f"{'required' if required else 'optional'} parameter {key} added")
    for key in sorted(pa.keys() & pb.keys()):
        was, now = bool(pa[key].get("required")), bool(pb[key].get("required"))
        if now != was:
            yield Change("parameter-made-required" if now else "parameter-made-optional", name,
                         f"parameter {key} made {'required' if now else 'optional'}")
        yield from _schema(a, b, f"{name} parameter {key}", pa[key].get("schema"), pb[key].get("schema"),
                           "request", set())


def _contents(a: _Doc, b: _Doc, where: str, old: dict[str, Any], new: dict[str, Any],
              direction: str) -> Iterator[Change]:
    ca, cb = old.get("content") or {}, new.get("content") or {}
    for media in sorted(ca.keys() & cb.keys()):
        yield from _schema(a, b, f"{where} body", (ca[media] or {}).get("schema"), (cb[media] or {}).get("schema"),
                           direction, set())


def _types(doc: _Doc, schema: dict[str, Any]) -> set[str]:
    raw = schema.get("type")
    types = set(raw) if isinstance(raw, list) else ({raw} if isinstance(raw, str) else set())
    if types and schema.get("nullable") is True:
        types.add("null")
    if "number" in types:
        types.add("integer")  # every integer is a number: integer -> number widens
    return types


def _schema(a: _Doc, b: _Doc, where: str, old: Any, new: Any, direction: str,
            seen: set[tuple[int, int]]) -> Iterator[Change]:
    old, new = a.deref(old), b.deref(new)
    if not isinstance(old, dict) or not isinstance(new, dict) or (id(old), id(new)) in seen:
        return
    seen = seen | {(id(old), id(new))}
    ta, tb = _types(a, old), _types(b, new)
    if ta and tb and ta != tb:
        if ta - tb or not tb:
            yield Change("type-narrowed", where, f"type {_type_text(old)} -> {_type_text(new)}")
        else:
            yield Change("type-widened", where, f"type {_type_text(old)} -> {_type_text(new)}")
    elif not ta and tb:
        yield Change("type-narrowed", where, f"type now {_type_text(new)}")
    ea, eb = old.get("enum"), new.get("enum")
    if isinstance(eb, list) and (not isinstance(ea, list) or set(map(str, ea)) - set(map(str, eb))):
        gone = sorted(set(map(str, ea)) - set(map(str, eb))) if isinstance(ea, list) else None
        yield Change("enum-narrowed", where, f"values no longer allowed: {', '.join(gone)}" if gone
                     else f"now restricted to: {', '.join(map(str, eb))}")
    elif isinstance(ea, list) and (eb is None or set(map(str, eb)) - set(map(str, ea))):
        added = sorted(set(map(str, eb)) - set(map(str, ea))) if isinstance(eb, list) else None
        yield Change("enum-widened", where, f"values added: {', '.join(added)}" if added else "any value now")
    yield from _bounds(where, old, new)
    yield from _properties(a, b, where, old, new, direction, seen)
    if "items" in old or "items" in new:
        yield from _schema(a, b, f"{where}[]", old.get("items"), new.get("items"), direction, seen)


def _type_text(schema: dict[str, Any]) -> str:
    raw = schema.get("type")
    text = "|".join(raw) if isinstance(raw, list) else str(raw)
    return text + ("|null" if schema.get("nullable") is True else "")


def _bounds(where: str, old: dict[str, Any], new: dict[str, Any]) -> Iterator[Change]:
    for key in (*_UPPER, *_LOWER):
        va, vb = old.get(key), new.get(key)
        if va == vb or isinstance(va, bool) or isinstance(vb, bool):
            continue
        upper = key in _UPPER
        if vb is None:
            narrowed = False
        elif va is None:
            narrowed = True
        else:
            narrowed = vb < va if upper else vb > va
        yield Change("bound-narrowed" if narrowed else "bound-widened", where, f"{key} {va} -> {vb}")
    if old.get("pattern") != new.get("pattern") and new.get("pattern") is not None:
        yield Change("bound-narrowed", where, f"pattern {old.get('pattern')!r} -> {new.get('pattern')!r}")
    if old.get("additionalProperties") is not False and new.get("additionalProperties") is False \
            and "properties" in new:
        yield Change("bound-narrowed", where, "no longer accepts properties it does not define")


def _properties(a: _Doc, b: _Doc, where: str, old: dict[str, Any], new: dict[str, Any], direction: str,
                seen: set[tuple[int, int]]) -> Iterator[Change]:
    pa, pb = old.get("properties") or {}, new.get("properties") or {}
    if not pa and not pb:
        return
    ra, rb = set(old.get("required") or ()), set(new.get("required") or ())
    side = "request" if direction == "request" else "response"
    for key in sorted(pa.keys() - pb.keys()):
        yield Change(f"{side}-field-removed", f"{where}.{key}", f"field {key} removed")
    for key in sorted(pb.keys() - pa.keys()):
        if side == "request":
            rule = "request-field-added-required" if key in rb else "request-field-added-optional"
        else:
            rule = "response-field-added"
        yield Change(rule, f"{where}.{key}", f"{'required' if key in rb else 'optional'} field {key} added")
    for key in sorted(pa.keys() & pb.keys()):
        if (key in rb) != (key in ra):
            made = "required" if key in rb else "optional"
            yield Change(f"{side}-field-made-{made}", f"{where}.{key}", f"field {key} made {made}")
        yield from _schema(a, b, f"{where}.{key}", pa[key], pb[key], direction, seen)
