"""records-migration: the reference supplier over real HTTP (export paging and resuming, the import report), the
checks at real volumes and against malformed answers (an in-memory fake system: thousands of lines in well under a
second), the lossy finding's exact count and ids, and the issue's acceptance test through the CLI.

Which requirement each fault fails is the detection matrix's business (tests/matrix/test_detection_matrix.py). Every
reference here is a real process on 127.0.0.1 (`conformance reference serve --profile records-migration`).
"""

from __future__ import annotations

import base64
import bisect
import json
import re
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from conformance.engine.processes import launched
from conformance.errors import EngineFailure
from conformance.inputs.profiles import load_profile
from conformance.kit import ContractContext, SupplierFailure, plan_pages
from fixtures.kit.launch import reference_command
from fixtures.records_migration.faults import lost_in_migration
from tests.conftest import conformance, only_run_dir, read_scorecard, shipped_checks

PROFILE = "records-migration"
CHECKS_LOADED = shipped_checks(PROFILE)  # profiles/records-migration/1.0.0/checks/
transfer = CHECKS_LOADED.module("transfer")  # what the checks share: the extract, paged export reading
MAX_PAGES, Extract, build_extract = transfer.MAX_PAGES, transfer.Extract, transfer.build_extract
page_limit, read_paged = transfer.page_limit, transfer.read_paged
SEED = 20261124
CHECKS = {
    "MIG-EXP-001": "records_migration.export_complete",
    "MIG-EXP-002": "records_migration.export_resumable",
    "MIG-IMP-001": "records_migration.import_from_peer",
    "MIG-INT-001": "records_migration.export_to_peer",
    "MIG-REC-001": "records_migration.import_report",
}


@pytest.fixture(scope="module")
def urls() -> Iterator[dict[str, str]]:
    """A clean reference (the candidate), a second clean one (the peer), and a lossy-migration one."""
    commands = {"clean": reference_command(PROFILE), "peer": reference_command(PROFILE),
                "lossy-migration": reference_command(PROFILE, ["lossy-migration"])}
    with ExitStack() as stack, ThreadPoolExecutor(len(commands)) as pool:  # started side by side: ~3 s each
        processes = {name: launched(command) for name, command in commands.items()}
        starting = {name: pool.submit(stack.enter_context, process) for name, process in processes.items()}
        yield {name: future.result() for name, future in starting.items()}


def _record(n: int, status: str = "open", **extra: Any) -> dict[str, Any]:
    """A record recorded on 1-28 May 2024 by n (the 5th, 12th, 19th and 26th were Sundays)."""
    return {"id": str(uuid.uuid4()), "record_type": ("crime", "incident", "referral", "person")[n % 4],
            "status": status, "owner": f"DC-{1000 + n}", "flags": ["domestic-abuse"] if n % 3 == 0 else [],
            "summary": f"Siân Prosser case {n}", "recorded_at": f"2024-05-{1 + n % 28:02d}T10:00:00Z", **extra}


def _export(client: httpx.Client, **query: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    r = client.get("/export", params=query)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert lines[-1]["kind"] == "end" and lines[-1]["count"] == len(lines) - 1
    return lines[:-1], lines[-1]


def _paged(client: httpx.Client, first: int, then: int) -> list[dict[str, Any]]:
    items, end = _export(client, limit=first)
    while end["next_cursor"] is not None:
        page, end = _export(client, limit=then, cursor=end["next_cursor"])
        assert len(page) <= then
        items += page
    return items


def _load(client: httpx.Client, records: list[dict[str, Any]]) -> None:
    for record in records:
        assert client.post("/records", json=record).status_code == 201


# --- the reference over HTTP ------------------------------------------------------------------------------------

def test_export_streams_everything_and_resumes_exactly(urls: dict[str, str]) -> None:
    with httpx.Client(base_url=urls["clean"]) as client:
        records = [_record(n, "open" if n % 2 else "closed") for n in range(23)]
        _load(client, records)
        rel = {"from_id": records[3]["id"], "to_id": records[4]["id"], "type": "victim-in"}
        assert client.post("/relationships", json=rel).status_code == 201
        assert client.post("/relationships", json=rel).status_code == 409  # held already
        missing_end = {**rel, "to_id": str(uuid.uuid4())}
        assert client.post("/relationships", json=missing_end).status_code == 409
        assert client.post("/records", json=records[0]).status_code == 409  # the id is taken

        full, end = _export(client)
        assert end["next_cursor"] is None
        assert [i["kind"] for i in full][-1] == "relationship"
        by_id = {i["id"]: i for i in full if i["kind"] == "record"}
        assert {r["id"] for r in records} <= set(by_id)
        assert by_id[records[0]["id"]] == {"kind": "record", **records[0]}
        for first, then in ((1, 1), (3, 7), (10, 2)):
            assert _paged(client, first, then) == full

        refused = client.get("/export", params={"cursor": "bm90LWEtY3Vyc29y"})
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["pointer"] == "/query/cursor"


def test_import_report_counts_and_names_every_rejection(urls: dict[str, str]) -> None:
    with httpx.Client(base_url=urls["clean"]) as client:
        records = [_record(n) for n in range(6)] + [_record(n, "closed") for n in range(6, 9)]
        held = {**records[1], "summary": "different content"}
        _load(client, [held])
        ghost = str(uuid.uuid4())
        items = [{"kind": "record", **r} for r in records] + [
            {"kind": "relationship", "from_id": records[0]["id"], "to_id": records[2]["id"], "type": "linked-to"},
            {"kind": "relationship", "from_id": records[0]["id"], "to_id": ghost, "type": "linked-to"}]
        r = client.post("/imports", json={"source": "legacy", "items": items})
        assert r.status_code == 201, r.text
        job = r.json()
        assert job["received"] == {"records": 9, "relationships": 2}
        assert job["imported"] == {"records": 8, "relationships": 1}
        assert {(x["kind"], x.get("id"), x.get("to_id")) for x in job["rejected"]} == {
            ("record", records[1]["id"], None), ("relationship", None, ghost)}
        types = [r["record_type"] for i, r in enumerate(records) if i != 1]
        for kind, counts in job["by_type"].items():
            assert counts["open"] + counts["closed"] == types.count(kind)
        assert client.get(f"/imports/{job['id']}").json() == job
        assert client.get(f"/records/{records[1]['id']}").json()["summary"] == "different content"
        # the same import again: everything already held identically counts as imported
        again = client.post("/imports", json={"items": items}).json()
        assert again["imported"] == {"records": 8, "relationships": 1}

        bad = client.post("/imports", json={"items": [{"kind": "record", **records[0], "status": "pending"},
                                                      {"kind": "end", "next_cursor": None, "count": 0}]})
        assert bad.status_code == 422
        assert {e["pointer"] for e in bad.json()["errors"]} == {"/body/items/0", "/body/items/1"}


# --- the two-system checks against real references -----------------------------------------------------------

def _context(candidate: str, peer: str, sent: list[str]) -> tuple[ContractContext, Callable[[], None]]:
    clients = {None: httpx.Client(base_url=candidate, timeout=30), "peer": httpx.Client(base_url=peer, timeout=30)}

    def send(method: str, path: str, *, json: Any = None, query: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, step: str = "", system: str | None = None,
             content: bytes | None = None) -> httpx.Response:
        sent.append(f"{system or 'candidate'} {method} {path}")
        return clients[system].request(method, path, json=json, params=query, headers=headers, content=content)

    def close() -> None:
        for client in clients.values():
            client.close()

    openapi = str(load_profile(PROFILE).openapi_path)
    return ContractContext(send, openapi, SEED, 1, frozenset({"peer"})), close


def _verdicts(urls: dict[str, str], config: str, requirements: list[str]) -> dict[str, str | None]:
    """Each requirement's check run with `config` as the candidate and a clean reference as the peer: None when it
    holds, else the finding."""
    out: dict[str, str | None] = {}
    for requirement in requirements:
        check = CHECKS_LOADED.find(CHECKS[requirement])
        assert check is not None and requirement in check.requirements
        context, close = _context(urls[config], urls["peer"], [])
        try:
            check.function(context)
            out[requirement] = None
        except SupplierFailure as unmet:
            out[requirement] = str(unmet)
        finally:
            close()
    return out


def _expected_losses() -> tuple[int, int]:
    """How many open records of the seed's extract lossy-migration loses (its open records recorded on a Sunday),
    and how many open records it has: the extract's content depends on the seed only, not on its fresh ids."""
    profile = load_profile(PROFILE)
    spec = yaml.safe_load((Path(profile.path) / "datasets" / "legacy-extract.yaml").read_text(encoding="utf-8"))
    extract = build_extract(spec["extract"], SEED, uuid.uuid4())
    opened = [r for r in extract.records if r["status"] == "open"]
    return sum(lost_in_migration(r) for r in opened), len(opened)


def test_a_lossy_destination_is_named_by_id_and_count(urls: dict[str, str]) -> None:
    missing, total = _expected_losses()
    assert 0.05 * total <= missing < total
    finding = _verdicts(urls, "lossy-migration", ["MIG-IMP-001"])["MIG-IMP-001"]
    assert finding is not None
    match = re.match(r"(\d+) of (\d+) open records missing after import into the candidate: (.*?)(;|$)", finding)
    assert match, finding
    assert (int(match.group(1)), int(match.group(2))) == (missing, total)
    named = re.findall(r"[0-9a-f-]{36}", match.group(3))
    assert len(named) == min(missing, 10)
    if missing > 10:
        assert match.group(3).endswith(f"and {missing - 10} more")
    with httpx.Client(base_url=urls["peer"]) as peer:  # the source still holds them: open, recorded on a Sunday
        assert all(lost_in_migration(peer.get(f"/records/{i}").json()) for i in named)


def test_acceptance_a_migration_into_a_lossy_supplier_fails_with_a_reconciliation_finding(
        urls: dict[str, str], tmp_path: Path) -> None:
    """The issue's acceptance test, through the CLI: the harness starts the reference as the peer, migrates from it
    into a lossy-migration supplier, and MIG-IMP-001 fails naming the missing records by id and count."""
    proc = conformance("run", PROFILE, "--target", urls["lossy-migration"], "--seed", str(SEED), "--only",
                       "MIG-IMP-001", "--runs-dir", str(tmp_path / "runs"), timeout=120)
    run_dir = only_run_dir(tmp_path / "runs")
    card = read_scorecard(run_dir)
    result = next(r for r in card["requirements"] if r["id"] == "MIG-IMP-001")
    assert result["outcome"] == "fail", (proc.stdout, proc.stderr)
    assert card["verdict"] == "non-conformant"
    message = json.dumps(card) + (run_dir / "report.md").read_text(encoding="utf-8")
    missing, total = _expected_losses()
    assert f"{missing} of {total} open records missing after import into the candidate: " in message, message[:2000]
    assert (run_dir / "systems" / "peer.log").exists()  # the peer was the harness's own reference


# --- the checks at real volumes and against malformed answers (an in-memory fake system) -------------------------

class FakeSystem:
    """A records system in memory, speaking just enough of the interface for the checks: `foreign` lines held
    before the check starts (another force's records), `busy` lines added by other activity before every export
    page, and misbehaviours by name. It refuses (422) a `limit` over the interface's maximum, as a conformant
    system may, and remembers every export request."""

    def __init__(self, foreign: int = 0, *, busy: int = 0, slip: bool = False, mode: str = "") -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.rels: set[tuple[str, str, str]] = set()
        self.busy, self.slip, self.mode = busy, slip, mode
        self.exports: list[dict[str, Any]] = []
        self._text: dict[tuple[str, ...], str] = {}  # each line as exported, by its sort key
        self._cache: list[tuple[tuple[str, ...], str]] = []
        for n in range(foreign):
            self._add_foreign(n)

    def _add_foreign(self, n: int) -> None:
        rid = str(uuid.uuid4())
        self.records[rid] = {"id": rid, "record_type": "person", "status": "open", "owner": "OTHER-FORCE", "flags": [],
                             "summary": f"someone else's record {n}", "recorded_at": "2020-01-01T00:00:00Z"}

    def _lines(self) -> list[tuple[tuple[str, ...], str]]:
        """Every line in export order, with its sort key (kept while nothing changes)."""
        if len(self._cache) != len(self.records) + len(self.rels):
            for rid, rec in self.records.items():
                if ("0", rid) not in self._text:
                    self._text[("0", rid)] = json.dumps({"kind": "record", **rec})
            for rel in self.rels:
                if ("1", *rel) not in self._text:
                    self._text[("1", *rel)] = json.dumps({"kind": "relationship", "from_id": rel[0],
                                                          "to_id": rel[1], "type": rel[2]})
            self._cache = sorted(self._text.items())
        return self._cache

    def send(self, method: str, path: str, *, json: Any = None, query: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, step: str = "", system: str | None = None,
             content: bytes | None = None) -> httpx.Response:
        query = query or {}
        if method == "POST" and path == "/records":
            if json["id"] in self.records:
                return httpx.Response(409, json={"title": "Conflict"})
            self.records[json["id"]] = {**json, "flags": json.get("flags", [])}
            return httpx.Response(201, json=self.records[json["id"]])
        if method == "POST" and path == "/relationships":
            self.rels.add((json["from_id"], json["to_id"], json["type"]))
            return httpx.Response(201, json=json)
        if method == "GET" and path.startswith("/records/"):
            record = self.records.get(path.rsplit("/", 1)[1])
            if record is None:
                return httpx.Response(404, json={"title": "Not Found"})
            return httpx.Response(200, json=["not", "an", "object"] if self.mode == "record-list" else record)
        if method == "GET" and path == "/export":
            return self._export(query)
        if method == "POST" and path == "/imports":
            return self._import(json["items"])
        raise AssertionError(f"unexpected {method} {path}")

    def _export(self, query: dict[str, Any]) -> httpx.Response:
        self.exports.append(dict(query))
        limit = int(query.get("limit", 10**9))
        if limit > 1000:
            return httpx.Response(422, json={"errors": [{"pointer": "/query/limit", "detail": "at most 1000"}]})
        for n in range(self.busy):
            self._add_foreign(n)
        after = tuple(json.loads(base64.urlsafe_b64decode(query["cursor"]))) if "cursor" in query else ()
        every = self._lines()
        lines = every[bisect.bisect_right(every, (after, "~")):] if after else every
        page, rest = lines[:limit], lines[limit:]
        out = [line for _, line in page]
        if self.mode == "undeclared-field":
            out = [line[:-1] + ', "legacy_system_id": "NICHE-1"}' if key[0] == "0" else line for key, line in page]
        cursor = None
        if self.mode == "endless":  # nothing, and a fresh cursor every time
            out, cursor = [], base64.urlsafe_b64encode(json.dumps(["0", str(len(self.exports))]).encode()).decode()
        elif rest:
            at = rest[0][0] if self.slip else page[-1][0]
            cursor = base64.urlsafe_b64encode(json.dumps(list(at)).encode()).decode()
        body = "".join(line + "\n" for line in [*out, json.dumps({"kind": "end", "next_cursor": cursor,
                                                                  "count": len(out)})])
        return httpx.Response(200, content=body.encode(), headers={"content-type": "application/x-ndjson"})

    def _import(self, items: list[dict[str, Any]]) -> httpx.Response:
        if self.mode == "refuse-imports":
            return httpx.Response(422, json={"title": "Unprocessable Content", "status": 422,
                                             "errors": [{"pointer": "/body/items/0", "detail": "no, thanks"}]})
        if self.mode == "report-not-object":
            return httpx.Response(201, json=["imported"])
        by_type = {t: {"open": 0, "closed": 0} for t in ("crime", "incident", "referral", "person")}
        records = [i for i in items if i["kind"] == "record"]
        for item in records:
            record = {k: v for k, v in item.items() if k != "kind"}
            self.records.setdefault(record["id"], record)
            by_type[record["record_type"]][record["status"]] += 1
        rels = [i for i in items if i["kind"] == "relationship"]
        for rel in rels:
            self.rels.add((rel["from_id"], rel["to_id"], rel["type"]))
        counts = {"records": len(records), "relationships": len(rels)}
        report: dict[str, Any] = {"id": str(uuid.uuid4()), "source": None, "created_at": "2026-01-01T00:00:00Z",
                                  "received": counts, "imported": counts, "rejected": [], "by_type": by_type}
        if self.mode == "imported-list":
            report["imported"] = [counts["records"]]
        return httpx.Response(201, json=report)


def _run(requirement: str, candidate: FakeSystem, peer: FakeSystem | None = None) -> str | None:
    """The requirement's check against fakes: None when it holds, else the finding."""
    systems: dict[str | None, FakeSystem] = {None: candidate, "peer": peer or FakeSystem()}

    def send(method: str, path: str, **kwargs: Any) -> httpx.Response:
        return systems[kwargs.get("system")].send(method, path, **kwargs)

    check = CHECKS_LOADED.find(CHECKS[requirement])
    assert check is not None
    openapi = str(load_profile(PROFILE).openapi_path)
    try:
        check.function(ContractContext(send, openapi, SEED, 1, frozenset({"peer"})))
    except SupplierFailure as unmet:
        return str(unmet)
    return None


def test_the_checks_read_a_supplier_of_real_volume_in_pages_the_interface_allows() -> None:
    """7,000 lines held already (a page size of a sixth of them would be over the interface's 1000), and other
    activity adding lines before every page: a conformant supplier passes, every export read is paged within the
    limit, and only this check's lines are compared."""
    assert page_limit(str(load_profile(PROFILE).openapi_path)) == 1000
    for requirement in ("MIG-EXP-001", "MIG-EXP-002"):
        candidate = FakeSystem(7000, busy=3)
        assert _run(requirement, candidate) is None, requirement
        assert candidate.exports and all(1 <= q["limit"] <= 1000 for q in candidate.exports), candidate.exports


def test_a_slipping_cursor_at_volume_fails_resuming_and_nothing_else() -> None:
    """The cursor skips the first line of every next page: MIG-EXP-002 names the lines of its own it skipped
    (each page boundary is put at one of them, however much else is held); the checks that only need the
    whole export read it twice with the page boundaries elsewhere, so they do not charge the cursor to
    themselves."""
    finding = _run("MIG-EXP-002", FakeSystem(7000, slip=True))
    assert finding is not None
    match = re.search(r"skipped (\d+) of the (\d+) lines this check loaded", finding)
    assert match and int(match.group(1)) >= 5, finding
    for requirement in ("MIG-EXP-001", "MIG-INT-001", "MIG-IMP-001"):
        assert _run(requirement, FakeSystem(3000, slip=True), FakeSystem(2500, slip=True)) is None, requirement


def test_page_plan_starts_pages_at_the_checks_own_lines() -> None:
    mine = list(range(0, 3000, 7))  # one line in seven is this check's
    sizes = plan_pages(mine, 500, 502, 1000)
    starts = [sum(sizes[:n]) for n in range(1, len(sizes) + 1)]
    assert all(start in mine for start in starts) and all(1 <= size <= 1000 for size in sizes)
    assert sizes[0] != 1000 and len(sizes) >= 5
    adjacent = [0, 1, 2, 3, 40, 41, 900, 901, 2500]  # boundaries between two of its lines where there are some
    assert plan_pages(adjacent, 30, 32, 1000)[:1] == [41]


def test_an_export_past_the_harness_limit_is_an_error_not_a_failure() -> None:
    endless = FakeSystem(5, mode="endless")
    with pytest.raises(EngineFailure, match=f"did not end within {MAX_PAGES} pages"):
        read_paged(ContractContext(endless.send, "", SEED, 1), None, Extract((), ()), most=1000)
    assert len(endless.exports) == MAX_PAGES


@pytest.mark.parametrize(("mode", "expected"), [
    ("report-not-object", "POST /imports answered 201 with JSON that is not an object"),
    ("imported-list", "report cannot be read: `imported` is not an object"),
    ("record-list", r"GET /records/[0-9a-f-]{36} answered 200 with JSON that is not an object"),
])
def test_malformed_candidate_answers_are_its_failure_never_a_harness_error(mode: str, expected: str) -> None:
    finding = _run("MIG-REC-001", FakeSystem(mode=mode))
    assert finding is not None and re.search(expected, finding), finding


def test_an_export_breaking_the_interface_fails_it_and_a_peer_refusing_a_good_one_is_an_error() -> None:
    finding = _run("MIG-INT-001", FakeSystem(mode="undeclared-field"))  # this peer accepts it anyway
    assert finding is not None and "the candidate's export breaks the interface" in finding
    assert "('legacy_system_id' was unexpected): 120 lines: record " in finding
    assert "the peer accepted them, but a system that conforms to the interface must refuse them" in finding
    with pytest.raises(EngineFailure, match=r"peer system \(not the candidate\).*refused \(422\)"):
        _run("MIG-INT-001", FakeSystem(), FakeSystem(mode="refuse-imports"))
