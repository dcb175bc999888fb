"""What the records-migration checks (migration.py) share: the legacy extract, talking to the two systems
(loading, paged exports, imports, reading back) and reconciling what arrived against what was sent.

Each check builds a synthetic legacy extract from the profile's `datasets/legacy-extract.yaml` and the run's seed
(fresh ids every time: a random UUID namespace, so records left by earlier runs never collide), moves it, and
reconciles what arrived against what was sent, only over the ids it loaded. A failure is a reconciliation
finding: which records are missing or changed, by id and count ("12 of 84 open records missing after import:
...").

A system may hold far more than this check loaded (a supplier's real volumes, other runs, other activity while a
check runs). Every export is therefore read in pages of the interface's largest `limit`, following next_cursor,
keeping only the lines about this check's ids as it reads; imports go in batches of the interface's largest
import. The harness reads at most MAX_PAGES pages of an export: a system holding more is an error (the harness's
limit), never the candidate's failure.

The peer is the other records system of the migration (with a single candidate, the harness starts the
profile's reference supplier for it). A peer that misbehaves is the harness's problem, never the candidate's:
it raises EngineFailure (the requirement is an error), whereas what the candidate does wrong is `c.fail`.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from conformance.kit import (
    ContractContext,
    EngineFailure,
    blame,
    chunks,
    component_validator,
    excerpt,
    interface,
    json_object,
    listed,
    parameter_maximum,
    same_time,
    who,
)

__all__ = ["Export", "Extract", "build_extract", "reconcile"]

PEER = "peer"
EXTRACT_FILE = "legacy-extract.yaml"
MAX_PAGES = 200  # pages of one export the harness reads before giving up (200 x 1000 lines)
DEFAULT_PAGE_LIMIT = 1000  # the interface's largest `limit` when openapi.yaml cannot be read for it
DEFAULT_IMPORT_ITEMS = 500  # the interface's largest import when openapi.yaml cannot be read for it
RECORD_FIELDS = ("record_type", "status", "owner", "flags", "summary", "reference", "recorded_at")
Key = tuple[str, ...]  # ("record", id) or ("relationship", from_id, to_id, type)


@dataclass(frozen=True)
class Extract:
    """A legacy extract: records (as POST /records takes them) and relationships (as POST /relationships)."""

    records: tuple[dict[str, Any], ...]
    relationships: tuple[dict[str, Any], ...]

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(r["id"] for r in self.records)

    def lines(self) -> list[dict[str, Any]]:
        """The extract as export lines (what POST /imports takes)."""
        return ([{"kind": "record", **r} for r in self.records]
                + [{"kind": "relationship", **r} for r in self.relationships])


# --- the extract ------------------------------------------------------------------------------------------

def build_extract(spec: Mapping[str, Any], seed: int, namespace: uuid.UUID) -> Extract:
    """The extract `spec` describes, the same for the same seed; ids are uuid5(namespace, type/number)."""
    rng = random.Random(seed)
    start, end = (datetime.fromisoformat(t.replace("Z", "+00:00")) for t in spec["recorded_between"])
    span_s = int((end - start).total_seconds())
    by_type: dict[str, list[dict[str, Any]]] = {}
    for record_type, count in spec["counts"].items():
        by_type[record_type] = []
        for n in range(1, count + 1):
            recorded = (start + timedelta(seconds=rng.randrange(span_s))).astimezone(UTC)
            summary = rng.choice(spec["summaries"][record_type]).format(
                name=rng.choice(spec["names"]), place=rng.choice(spec["places"]))
            record: dict[str, Any] = {
                "id": str(uuid.uuid5(namespace, f"{record_type}/{n}")),
                "record_type": record_type,
                "status": "open" if rng.random() < spec["open_share"][record_type] else "closed",
                "owner": rng.choice(spec["owners"][record_type]),
                "flags": [code for code, chance in spec["flags"][record_type].items() if rng.random() < chance],
                "summary": summary,
                "recorded_at": recorded.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
            if rng.random() >= spec["without_reference_share"]:
                record["reference"] = f"{spec['reference_prefix'][record_type]}/{recorded.year}/{n:06d}"
            by_type[record_type].append(record)
    people = by_type.get("person", [])
    events = by_type.get("crime", []) + by_type.get("incident", [])
    links: dict[Key, dict[str, Any]] = {}

    def link(source: dict[str, Any], target: dict[str, Any], kind: str) -> None:
        if source["id"] != target["id"]:
            links.setdefault(("relationship", source["id"], target["id"], kind),
                             {"from_id": source["id"], "to_id": target["id"], "type": kind})

    if people:
        for event in events:
            link(rng.choice(people), event, "victim-in")
            if rng.random() < 0.5:
                link(rng.choice(people), event, "suspect-in")
            if rng.random() < 0.3:
                link(rng.choice(people), event, "witness-in")
        for referral in by_type.get("referral", []):
            link(rng.choice(people), referral, "subject-of")
            if events:
                link(referral, rng.choice(events), "arising-from")
    for incident in by_type.get("incident", []):
        if by_type.get("crime") and rng.random() < 0.25:
            link(incident, rng.choice(by_type["crime"]), "linked-to")
    records = tuple(r for kind in spec["counts"] for r in by_type[kind])
    return Extract(records, tuple(links[k] for k in sorted(links)))


def extract_of(c: ContractContext) -> Extract:
    """A fresh extract for this check: the dataset's spec, the run's seed, a new UUID namespace."""
    spec = c.dataset(EXTRACT_FILE)["extract"]
    return build_extract(spec, c.seed, uuid.uuid4())


# --- talking to the two systems -----------------------------------------------------------------------------

def page_limit(openapi_path: str) -> int:
    """The largest `limit` GET /export takes (the interface's `maximum`; DEFAULT_PAGE_LIMIT if it states none)."""
    limit = parameter_maximum(openapi_path, "/export", "get", "limit")
    return int(limit) if isinstance(limit, int) and limit >= 1 else DEFAULT_PAGE_LIMIT


def import_limit(openapi_path: str) -> int:
    """The most items one POST /imports takes (ImportRequest.items.maxItems; DEFAULT_IMPORT_ITEMS if none)."""
    try:
        most = interface(openapi_path)["components"]["schemas"]["ImportRequest"]["properties"]["items"]["maxItems"]
    except (KeyError, TypeError, OSError, yaml.YAMLError):
        return DEFAULT_IMPORT_ITEMS
    return int(most) if isinstance(most, int) and most >= 1 else DEFAULT_IMPORT_ITEMS


def load_legacy(c: ContractContext, extract: Extract, system: str | None) -> None:
    """Load the extract record by record into a system, as its legacy data."""
    for n, record in enumerate(extract.records, 1):
        r = c.send("POST", "/records", json=record, step=f"load legacy record {n}/{len(extract.records)}",
                   system=system)
        if r.status_code != 201:
            blame(c, system, f"loading the legacy extract: POST /records for record {record['id']} answered "
                             f"{r.status_code}, expected 201: {excerpt(r)}")
    for n, rel in enumerate(extract.relationships, 1):
        r = c.send("POST", "/relationships", json=rel,
                   step=f"load legacy relationship {n}/{len(extract.relationships)}", system=system)
        if r.status_code != 201:
            blame(c, system, f"loading the legacy extract: POST /relationships {rel['from_id']} -> {rel['to_id']} "
                             f"({rel['type']}) answered {r.status_code}, expected 201: {excerpt(r)}")


def read_export(c: ContractContext, system: str | None, query: dict[str, Any] | None = None,
                step: str = "export everything") -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """One export stream: its record and relationship lines, and its end line."""
    r = c.send("GET", "/export", query=query, step=step, system=system)
    shown = {k: (v if len(str(v)) <= 40 else str(v)[:40] + "...") for k, v in (query or {}).items()}
    where = f"GET /export{'?' + '&'.join(f'{k}={v}' for k, v in shown.items()) if shown else ''}"
    if r.extensions.get("truncated"):
        raise EngineFailure(f"{where} on {who(system)}: the answer was larger than the harness reads and was cut, "
                            "so it could not be judged")
    if r.status_code != 200:
        blame(c, system, f"{where} answered {r.status_code}, expected 200: {excerpt(r)}")
    media = r.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/x-ndjson":
        blame(c, system, f"{where} answered Content-Type '{media}', expected application/x-ndjson")
    items: list[dict[str, Any]] = []
    end: dict[str, Any] | None = None
    for number, line in enumerate(r.text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError:
            blame(c, system, f"{where}: line {number} is not JSON: {line[:120]!r}")
        if not isinstance(item, dict) or item.get("kind") not in ("record", "relationship", "end"):
            blame(c, system, f"{where}: line {number} is not a record, relationship or end line: {line[:120]!r}")
        if end is not None:
            blame(c, system, f"{where}: line {number} follows the end line")
        if item["kind"] == "end":
            end = item
        else:
            items.append(item)
    if end is None:
        blame(c, system, f"{where}: the stream has no end line ({len(items)} lines): it was cut short")
    cursor = end.get("next_cursor")
    if cursor is not None and (not isinstance(cursor, str) or not cursor):
        blame(c, system, f"{where}: the end line's next_cursor is {json.dumps(cursor)[:60]}, expected a "
                         "non-empty string or null")
    return items, end


@dataclass
class Export:
    """An export as read in pages: the lines about one check's records (in the order read), each one's position
    among all the lines read, and how many lines (anyone's) and pages were read."""

    items: list[dict[str, Any]] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)
    lines: int = 0
    pages: int = 0
    sizes: list[int] = field(default_factory=list)  # the limit each page asked for


def read_paged(c: ContractContext, system: str | None, extract: Extract, *, most: int,
               sizes: Sequence[int] = (), step: str = "export everything") -> Export:
    """Read a system's whole export in pages, following next_cursor, keeping only the lines about `extract`'s ids.
    Page n asks for `sizes[n]` lines (`most` once `sizes` runs out). An export that goes on for MAX_PAGES pages
    past `sizes` is more than the harness reads (EngineFailure, unless it was repeating this check's lines); a
    cursor that comes back round is the system's fault."""
    ids = extract.ids
    out = Export()
    cursor: str | None = None
    given: set[str] = set()
    allowed = len(sizes) + MAX_PAGES
    while out.pages < allowed:
        size = sizes[out.pages] if out.pages < len(sizes) else most
        query: dict[str, Any] = {"limit": size}
        if cursor is not None:
            query["cursor"] = cursor
        out.pages += 1
        items, end = read_export(c, system, query, step=f"{step}: page {out.pages} (limit {size})"
                                                         + (", resumed from next_cursor" if cursor else ""))
        if len(items) > size:
            blame(c, system, f"export page {out.pages} asked for at most {size} lines and got {len(items)}")
        for item in items:
            if _about(item, ids):
                out.items.append(item)
                out.positions.append(out.lines)
            out.lines += 1
        out.sizes.append(size)
        cursor = end.get("next_cursor")
        if cursor is None:
            return out
        if cursor in given:
            blame(c, system, f"export page {out.pages} ended with a next_cursor an earlier page had already "
                             f"given ({cursor[:40]}): resuming from it goes round in circles")
        given.add(cursor)
    repeated = [k for k, n in Counter(key_of(i) for i in out.items).items() if n > 1]
    if repeated:
        blame(c, system, f"the export did not end within {allowed} pages: it repeated {len(repeated)} of the "
                         f"lines this check loaded ({listed([' '.join(k) for k in repeated])})")
    raise EngineFailure(f"{who(system)}'s export did not end within {allowed} pages of up to {most} lines "
                        f"({out.lines} lines read): the harness reads at most that many pages of an export, so this "
                        "system holds more than it can check (run it against a smaller deployment)")


def whole_export(c: ContractContext, system: str | None, extract: Extract, step: str = "export everything") -> Export:
    """A system's whole export, as far as `extract`'s records go, read in pages of the interface's largest limit.

    An export longer than one page depends on its cursor, and whether the cursor resumes exactly is MIG-EXP-002's
    business, not that of the requirement reading the export. So an export longer than one page is read twice,
    the second time in pages one line shorter (the page boundaries fall elsewhere), and the two are combined: a
    line is missing only if neither read holds it, and repeated only as often as both reads repeat it."""
    most = page_limit(c.openapi_path)
    first = read_paged(c, system, extract, most=most, step=step)
    if first.pages == 1 or most == 1:
        return first
    second = read_paged(c, system, extract, most=most - 1, step=f"{step} again, page boundaries elsewhere")
    once = Counter(key_of(i) for i in first.items)
    again = Counter(key_of(i) for i in second.items)
    items, placed = [], set()
    for item in first.items + second.items:
        key = key_of(item)
        if key not in placed:
            placed.add(key)
            items += [item] * (min(once[key], again[key]) if once[key] and again[key] else 1)
    return Export(items, first.positions, first.lines, first.pages + second.pages, first.sizes + second.sizes)


def full_export(c: ContractContext, system: str | None, extract: Extract,
                step: str = "export everything") -> list[dict[str, Any]]:
    """The lines of a system's whole export about `extract`'s records (see `whole_export`)."""
    return whole_export(c, system, extract, step).items


def key_of(item: Mapping[str, Any]) -> Key:
    if item.get("kind") == "relationship":
        return ("relationship", norm_id(item.get("from_id")), norm_id(item.get("to_id")), str(item.get("type")))
    return ("record", norm_id(item.get("id")))


def norm_id(value: Any) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return str(value)


def _about(item: Mapping[str, Any], ids: frozenset[str]) -> bool:
    key = key_of(item)
    return key[1] in ids if key[0] == "record" else key[1] in ids and key[2] in ids


def mine(items: Iterable[dict[str, Any]], extract: Extract) -> list[dict[str, Any]]:
    """The export lines about the extract's records (leftovers of other runs are not this check's business)."""
    ids = extract.ids
    return [i for i in items if _about(i, ids)]


def batches(items: Sequence[dict[str, Any]], size: int) -> list[list[dict[str, Any]]]:
    """Import batches of at most `size` items, records before relationships (as the interface asks)."""
    ordered = [i for i in items if i.get("kind") == "record"] + [i for i in items if i.get("kind") != "record"]
    return chunks(ordered, size)


def import_into(c: ContractContext, system: str | None, items: list[dict[str, Any]], source: str) -> dict[str, Any]:
    r = c.send("POST", "/imports", json={"source": source, "items": items},
               step=f"import {len(items)} records and relationships", system=system)
    if r.status_code != 201:
        blame(c, system, f"POST /imports of {len(items)} records and relationships exported by {source} answered "
                         f"{r.status_code}, expected 201: {excerpt(r)}")
    return json_object(c, system, r, "POST /imports")


def read_records(c: ContractContext, system: str | None, ids: Iterable[str]) -> dict[str, dict[str, Any] | None]:
    """Each record as the system serves it (None: 404)."""
    found: dict[str, dict[str, Any] | None] = {}
    wanted = sorted(ids)
    for n, record_id in enumerate(wanted, 1):
        r = c.send("GET", f"/records/{record_id}", step=f"read back record {n}/{len(wanted)}", system=system)
        if r.status_code == 404:
            found[record_id] = None
        elif r.status_code == 200:
            found[record_id] = json_object(c, system, r, f"GET /records/{record_id}")
        else:
            blame(c, system, f"GET /records/{record_id} answered {r.status_code}, expected 200 or 404: {excerpt(r)}")
    return found


def held_relationships(c: ContractContext, system: str | None, extract: Extract) -> set[Key]:
    return {key_of(i) for i in full_export(c, system, extract, step="export to read the relationships back")
            if i.get("kind") == "relationship"}


def interface_problems(openapi_path: str, items: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """The export lines that break the interface (ExportRecord / ExportRelationship), by what is wrong: {problem:
    ['record ID', 'relationship FROM -TYPE-> TO', ...]}."""
    validators = {kind: component_validator(openapi_path, name)
                  for kind, name in (("record", "ExportRecord"), ("relationship", "ExportRelationship"))}
    out: dict[str, list[str]] = {}
    for item in items:
        key = key_of(item)
        label = f"record {key[1]}" if key[0] == "record" else f"relationship {key[1]} -{key[3]}-> {key[2]}"
        validator = validators.get(str(item.get("kind")))
        errors = ([e.message for e in validator.iter_errors(dict(item))] if validator is not None
                  else [f"kind {json.dumps(item.get('kind'))} is not record or relationship"])
        for error in sorted(set(errors)):
            out.setdefault(error[:200], []).append(label)
    return out


# --- reconciliation ------------------------------------------------------------------------------------------

def differences(sent: Mapping[str, Any], held: Mapping[str, Any]) -> list[str]:
    """What changed between the record sent and the record held, field by field ('status open -> closed')."""
    out = []
    for name in RECORD_FIELDS:
        a, b = sent.get(name), held.get(name)
        if name == "flags":
            b = [] if b is None else b  # absent: none (what the flags lost then says)
            if not (isinstance(b, list) and all(isinstance(flag, str) for flag in b)):
                out.append(f"flags {json.dumps(a)} -> {json.dumps(b, ensure_ascii=False)[:120]} (not a list of codes)")
                continue
            lost = sorted(set(a or []) - set(b))
            added = sorted(set(b) - set(a or []))
            if lost:
                out.append(f"flags lost: {', '.join(lost)}")
            if added:
                out.append(f"flags added: {', '.join(added)}")
        elif name == "recorded_at":
            if not same_time(a, b):
                out.append(f"recorded_at {a} -> {b}")
        elif a != b:
            out.append(f"{name} {json.dumps(a, ensure_ascii=False)} -> {json.dumps(b, ensure_ascii=False)}")
    return out


def reconcile(extract: Extract, records: Mapping[str, Mapping[str, Any] | None], relationships: set[Key],
              where: str) -> list[str]:
    """Every difference between the extract and what a system holds, as findings naming ids and counts: missing
    and changed open records first (the failure the standard exists for), then closed ones, then relationships."""
    findings = []
    for status in ("open", "closed"):
        sent = [r for r in extract.records if r["status"] == status]
        missing = [r["id"] for r in sent if records.get(r["id"]) is None]
        changed = []
        for r in sent:
            held = records.get(r["id"])
            if held is not None and (diff := differences(r, held)):
                changed.append(f"{r['id']} ({'; '.join(diff)})")
        if missing:
            findings.append(f"{len(missing)} of {len(sent)} {status} records missing {where}: {listed(missing)}")
        if changed:
            findings.append(f"{len(changed)} of {len(sent)} {status} records changed {where}: {listed(changed)}")
    wanted = [key_of({"kind": "relationship", **r}) for r in extract.relationships]
    lost = [f"{k[1]} -{k[3]}-> {k[2]}" for k in wanted if k not in relationships]
    if lost:
        findings.append(f"{len(lost)} of {len(wanted)} relationships missing {where}: {listed(lost)}")
    return findings


def records_in(items: Iterable[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Record lines by id, and the ids that appear more than once."""
    seen: dict[str, dict[str, Any]] = {}
    twice = []
    for item in items:
        if item.get("kind") == "record":
            rid = key_of(item)[1]
            if rid in seen:
                twice.append(rid)
            seen[rid] = item
    return seen, twice
