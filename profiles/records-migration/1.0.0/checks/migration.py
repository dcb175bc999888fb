"""Two-system contracts of records-migration: a legacy extract moved between the candidate and a peer system.

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
import math
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
    contract_check,
    excerpt,
    interface,
    json_object,
    listed,
    parameter_maximum,
    plan_pages,
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


def _extract(c: ContractContext) -> Extract:
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
        return ("relationship", _norm_id(item.get("from_id")), _norm_id(item.get("to_id")), str(item.get("type")))
    return ("record", _norm_id(item.get("id")))


def _norm_id(value: Any) -> str:
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


def _records_in(items: Iterable[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], list[str]]:
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


# --- the checks ----------------------------------------------------------------------------------------------

@contract_check("records_migration.export_complete", requirements=("MIG-EXP-001",))
def export_complete(c: ContractContext) -> None:
    """Load the legacy extract into the candidate; its full export holds every record, relationship and flag,
    unchanged, once."""
    extract = _extract(c)
    load_legacy(c, extract, None)
    items = full_export(c, None, extract)
    records, twice = _records_in(items)
    findings = reconcile(extract, records, {key_of(i) for i in items if i.get("kind") == "relationship"},
                         "from the candidate's export")
    if twice:
        findings.append(f"{len(twice)} records exported more than once: {listed(twice)}")
    if findings:
        c.fail("; ".join(findings))


def _page_sizes(total: int, most: int) -> tuple[int, int]:
    """About six pages over the whole export, never the largest page (the full read used that), and the pages
    after the first a different size again, as a client that reconnects may ask."""
    first = max(1, min(max(3, math.ceil(total / 6)), most - 1))
    return first, (first + 2 if first + 2 < most else max(1, first - 2))


@contract_check("records_migration.export_resumable", requirements=("MIG-EXP-002",))
def export_resumable(c: ContractContext) -> None:
    """Read the export a page at a time, resuming each page from the last next_cursor (with a different page size
    than the first, as a client that reconnects may); over the lines this check loaded, the pages together are the
    full export: nothing repeated, nothing skipped. Lines other activity adds or removes meanwhile are not the
    check's business; each page boundary is put at one of this check's lines, so a cursor that slips shows."""
    extract = _extract(c)
    load_legacy(c, extract, None)
    most = page_limit(c.openapi_path)
    full = whole_export(c, None, extract, step=f"export everything in pages of {most}")
    first, then = _page_sizes(full.lines, most)
    plan = plan_pages(full.positions, first, then, most)
    paged = read_paged(c, None, extract, most=most, sizes=plan, step="export in pages resumed from next_cursor")
    wanted = [key_of(i) for i in full.items]
    counts = Counter(key_of(i) for i in paged.items)
    repeated = [k for k, n in counts.items() if n > 1]
    in_full = set(wanted)
    skipped = [k for k in wanted if k not in counts]
    extra = [k for k in counts if k not in in_full]
    findings = []

    def named(keys: list[Key]) -> str:
        return listed([f"{k[0]} {' '.join(k[1:])}" for k in keys])

    mine_total = f"{len(wanted)} lines this check loaded"
    if skipped:
        findings.append(f"resuming from next_cursor skipped {len(skipped)} of the {mine_total}: {named(skipped)}")
    if repeated:
        findings.append(f"resuming from next_cursor repeated {len(repeated)} of the {mine_total}: {named(repeated)}")
    if extra:
        findings.append(f"the pages held {len(extra)} lines of this check's records the full export does not: "
                        f"{named(extra)}")
    if findings:
        c.fail(f"read in {paged.pages} pages of {min(paged.sizes)} to {max(paged.sizes)} lines, each resumed from "
               "the previous page's next_cursor: " + "; ".join(findings))


@contract_check("records_migration.import_from_peer", requirements=("MIG-IMP-001",), systems=(PEER,))
def import_from_peer(c: ContractContext) -> None:
    """Migrate the extract from the peer into the candidate: load it into the peer, export it from the peer,
    import it into the candidate; every record then reads back from the candidate with its status, owner and flags,
    and every relationship is held."""
    extract = _extract(c)
    load_legacy(c, extract, PEER)
    items = full_export(c, PEER, extract, step="export everything from the peer")
    peer_records, _ = _records_in(items)
    if (gaps := reconcile(extract, peer_records, {key_of(i) for i in items if i.get("kind") == "relationship"},
                          "from the peer's export")):
        blame(c, PEER, "; ".join(gaps))
    for batch in batches(items, import_limit(c.openapi_path)):
        import_into(c, None, batch, "peer")
    findings = reconcile(extract, read_records(c, None, extract.ids), held_relationships(c, None, extract),
                         "after import into the candidate")
    if findings:
        c.fail("; ".join(findings))


def _refusal(response: Any, batch: Sequence[Mapping[str, Any]]) -> str:
    """What a 422 from the peer says: how many problems, and the first few pointers with the lines they name."""
    try:
        body = response.json()
    except ValueError:
        return excerpt(response)
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, list) or not errors:
        return excerpt(response)
    pointers = [str(e.get("pointer", "")) if isinstance(e, dict) else "" for e in errors]

    def named(pointer: str) -> str:
        parts = pointer.split("/")
        if len(parts) > 3 and parts[1:3] == ["body", "items"] and parts[3].isdigit() and int(parts[3]) < len(batch):
            key = key_of(batch[int(parts[3])])
            return f"{pointer} ({key[0]} {key[1]}{' ...' if len(key) > 2 else ''})"
        return pointer

    order = sorted(set(pointers), key=lambda p: [int(x) if x.isdigit() else -1 for x in p.split("/")[1:]])
    shown = ", ".join(named(p) for p in order[:3])
    return f"{len(errors)} problems, at {shown}" + (f" and {len(order) - 3} more places" if len(order) > 3 else "")


@contract_check("records_migration.export_to_peer", requirements=("MIG-INT-001",), systems=(PEER,))
def export_to_peer(c: ContractContext) -> None:
    """Migrate the extract from the candidate into the peer: load it into the candidate, export it, import the
    export into the peer; the peer then holds every record, relationship and flag unchanged. An export that is
    incomplete, changed, or breaks the interface (which the harness checks itself) is the candidate's failure
    whether or not the peer refused it; a peer that refuses or loses a complete, conforming export is the peer's
    (an error: nothing more about the candidate was measured)."""
    extract = _extract(c)
    load_legacy(c, extract, None)
    items = full_export(c, None, extract, step="export everything from the candidate")
    broken = interface_problems(c.openapi_path, items)
    refused: list[str] = []
    parts = batches(items, import_limit(c.openapi_path))
    for n, batch in enumerate(parts, 1):
        r = c.send("POST", "/imports", json={"source": "candidate", "items": batch}, system=PEER,
                   step=f"import the candidate's export into the peer: batch {n}/{len(parts)}, {len(batch)} lines")
        if r.status_code == 422:
            refused.append(f"batch {n} of {len(batch)} lines: {_refusal(r, batch)}")
        elif r.status_code == 201:
            json_object(c, PEER, r, "POST /imports")
        else:
            blame(c, PEER, f"POST /imports answered {r.status_code}, expected 201 or 422: {excerpt(r)}")
    if broken:
        peer = (f"the peer refused the import as breaking the interface (422; {'; '.join(refused)})" if refused
                else "the peer accepted them, but a system that conforms to the interface must refuse them")
        count = sum(len(labels) for labels in broken.values())
        what = "; ".join(f"{problem}: {len(labels)} lines: {listed(labels)}" for problem, labels in broken.items())
        c.fail(f"the candidate's export breaks the interface, so another records system cannot import it: "
               f"{count} problems in the {len(items)} lines exported for this check's records; {peer}. {what}")
    exported, _ = _records_in(items)
    if (gaps := reconcile(extract, exported, {key_of(i) for i in items if i.get("kind") == "relationship"},
                          "from the candidate's export")):
        c.fail("; ".join(gaps))  # what the candidate sent was already incomplete or changed
    if refused:
        blame(c, PEER, "it refused (422) the candidate's export, whose lines all conform to the interface: "
                       + "; ".join(refused))
    # The export was complete and conformed: anything now missing in the peer was lost by the peer.
    findings = reconcile(extract, read_records(c, PEER, extract.ids), held_relationships(c, PEER, extract),
                         "in the peer after migrating the candidate's complete export")
    if findings:
        blame(c, PEER, "; ".join(findings))


def _count(table: Mapping[str, Any], record_type: str, status: str) -> Any:
    row = table.get(record_type)
    return row.get(status) if isinstance(row, dict) else None


@contract_check("records_migration.import_report", requirements=("MIG-REC-001",))
def import_report(c: ContractContext) -> None:
    """Import the extract into the candidate, with two items it must reject (a record whose id it already holds
    with different content, a relationship to a record nobody holds); its reconciliation report must agree with
    what it then holds: counts received and imported, every rejection by id, records by type and status."""
    extract = _extract(c)
    clash = next(r for r in extract.records if r["status"] == "open")
    held_first = {**clash, "summary": clash["summary"] + " (already migrated by hand, different content)"}
    r = c.send("POST", "/records", json=held_first, step="hold one record already, with different content")
    if r.status_code != 201:
        c.fail(f"POST /records for record {clash['id']} answered {r.status_code}, expected 201: {excerpt(r)}")
    nobody = str(uuid.uuid5(uuid.UUID(clash["id"]), "nobody"))
    dangling = {"kind": "relationship", "from_id": clash["id"], "to_id": nobody, "type": "linked-to"}
    lines = [*extract.lines(), dangling]
    if len(lines) > import_limit(c.openapi_path):
        raise EngineFailure(f"the legacy extract has {len(lines)} lines, more than one import takes "
                            f"({import_limit(c.openapi_path)}): make datasets/{EXTRACT_FILE} smaller")
    report = import_into(c, None, lines, "legacy")
    held = read_records(c, None, extract.ids)
    rels = held_relationships(c, None, extract)
    received, imported, rejected, by_type = (report.get(k) for k in ("received", "imported", "rejected", "by_type"))
    unreadable = [f"`{name}` is not an object" for name, value in
                  (("received", received), ("imported", imported), ("by_type", by_type))
                  if not isinstance(value, dict)]
    if not isinstance(rejected, list) or not all(isinstance(x, dict) for x in rejected):
        unreadable.append("`rejected` is not a list of objects")
    if unreadable or not isinstance(imported, dict) or not isinstance(by_type, dict) or not isinstance(rejected,
                                                                                                      list):
        c.fail(f"the import's reconciliation report cannot be read: {'; '.join(unreadable)}: "
               f"{json.dumps(report, ensure_ascii=False)[:300]}")
    problems = []
    rejected_records = {_norm_id(x.get("id")) for x in rejected if x.get("kind") == "record"}
    rejected_rels = {key_of(x) for x in rejected if x.get("kind") == "relationship"}
    sent_rels = len(extract.relationships) + 1
    if received != {"records": len(extract.records), "relationships": sent_rels}:
        problems.append(f"received: the report says {json.dumps(received)}, {len(extract.records)} records and "
                        f"{sent_rels} relationships were sent")
    actually = {rid: rec for rid, rec in held.items()
                if rec is not None and not (rid == clash["id"] and rec.get("summary") == held_first["summary"])}
    absent = [rid for rid, rec in held.items() if rec is None]
    unreported = sorted(rid for rid in absent if rid not in rejected_records)
    if unreported:
        problems.append(f"{len(unreported)} of {len(extract.records)} records the report counts as imported are not "
                        f"held: {listed(unreported)}")
    if clash["id"] not in rejected_records:
        problems.append(f"record {clash['id']} was already held with different content, and the report does not "
                        "list it as rejected")
    wrongly = sorted(rid for rid in rejected_records if rid in actually)
    if wrongly:
        problems.append(f"{len(wrongly)} records the report lists as rejected were imported: {listed(wrongly)}")
    if key_of(dangling) not in rejected_rels:
        problems.append(f"the relationship to {nobody}, a record nobody holds, is not listed as rejected")
    if imported.get("records") != len(actually):
        problems.append(f"imported: the report counts {json.dumps(imported.get('records'))} records, "
                        f"{len(actually)} of those sent are held")
    held_rels = sum(1 for rel in extract.relationships if key_of({"kind": "relationship", **rel}) in rels)
    if imported.get("relationships") != held_rels:
        problems.append(f"imported: the report counts {json.dumps(imported.get('relationships'))} relationships, "
                        f"{held_rels} of those sent are held")
    actual_counts: dict[str, dict[str, int]] = {t: {"open": 0, "closed": 0}
                                                for t in ("crime", "incident", "referral", "person")}
    for rec in actually.values():
        if rec.get("record_type") in actual_counts and rec.get("status") in ("open", "closed"):
            actual_counts[rec["record_type"]][rec["status"]] += 1
    if by_type != actual_counts:
        wrong = [f"{t} {s}: reported {json.dumps(_count(by_type, t, s))}, held {n}"
                 for t, counts in actual_counts.items() for s, n in counts.items() if _count(by_type, t, s) != n]
        problems.append(f"by_type does not match the records held: {listed(wrong) or json.dumps(by_type)[:200]}")
    if problems:
        c.fail("the import's reconciliation report disagrees with what the candidate holds: " + "; ".join(problems))
