"""The two-system contracts of records-migration: export complete and resumable, import from and export to a
peer system, and the import's reconciliation report. The extract, the paged reading and the reconciliation they
share are in transfer.py; a failure is a reconciliation finding naming ids and counts.
"""

from __future__ import annotations

import json
import math
import uuid
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from conformance.kit import (
    ContractContext,
    EngineFailure,
    blame,
    contract_check,
    excerpt,
    json_object,
    listed,
    plan_pages,
)

from .transfer import (
    EXTRACT_FILE,
    PEER,
    Key,
    batches,
    extract_of,
    full_export,
    held_relationships,
    import_into,
    import_limit,
    interface_problems,
    key_of,
    load_legacy,
    norm_id,
    page_limit,
    read_paged,
    read_records,
    reconcile,
    records_in,
    whole_export,
)


@contract_check("records_migration.export_complete", requirements=("MIG-EXP-001",))
def export_complete(c: ContractContext) -> None:
    """Load the legacy extract into the candidate; its full export holds every record, relationship and flag,
    unchanged, once."""
    extract = extract_of(c)
    load_legacy(c, extract, None)
    items = full_export(c, None, extract)
    records, twice = records_in(items)
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
    extract = extract_of(c)
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
    extract = extract_of(c)
    load_legacy(c, extract, PEER)
    items = full_export(c, PEER, extract, step="export everything from the peer")
    peer_records, _ = records_in(items)
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
    extract = extract_of(c)
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
    exported, _ = records_in(items)
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
    extract = extract_of(c)
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
    rejected_records = {norm_id(x.get("id")) for x in rejected if x.get("kind") == "record"}
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
