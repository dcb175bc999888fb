"""Scenarios that follow a server: paging through a collection by its `rel=next` hrefs to the end (bounded), links
to another origin refused unsent, `for_each` over a captured list, and conditional requirements (`applies_when`
from a parameter, `applies_if` from an answer) reported `not-applicable` in the scorecard, HTML and JUnit.

The server is a few lines of `http.server` on 127.0.0.1 (a free port) serving a collection of 7 items in pages
of 3, with absolute `next` links; `mode` makes it misbehave (a next link to another origin, a page that links to
itself forever, a skipped page)."""

from __future__ import annotations

import json
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conformance.session.execute import start_run
from tests.component.test_runners_in_process import Recorder

ITEMS = [{"id": f"item-{n}", "datetime": f"2026-0{1 + n % 9}-1{n}T10:00:00+01:00"} for n in range(7)]
PAGE = 3


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # http.server's name
        parts = urlsplit(self.path)
        self.server.requests.append(self.path)
        if parts.path == "/collections/lakes":
            self._json({"id": "lakes", "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]}}})  # no temporal extent
        elif parts.path == "/collections/lakes/items":
            start = int(parse_qs(parts.query).get("offset", ["0"])[0])
            self._json(self._page(start))
        elif parts.path.startswith("/collections/lakes/items/"):
            wanted = parts.path.rsplit("/", 1)[1]
            item = next((i for i in ITEMS if i["id"] == wanted), None)
            self._json(item or {"title": "not found"}, 200 if item else 404)
        else:
            self._json({"title": "landing page"})

    def _page(self, start: int) -> dict[str, Any]:
        base = f"http://127.0.0.1:{self.server.server_address[1]}"
        links = [{"rel": "self", "href": f"{base}/collections/lakes/items?offset={start}"}]
        following = start + PAGE
        if self.server.mode == "loop":
            following = start  # next is this page again, forever
        if self.server.mode == "skip" and start == 0:
            following = start + 2 * PAGE  # jumps over a page: an item the client never sees
        if following < len(ITEMS):
            host = "http://other.example:8080" if self.server.mode == "foreign" else base
            links.append({"rel": "next", "href": f"{host}/collections/lakes/items?offset={following}"})
        return {"features": ITEMS[start:start + PAGE], "links": links, "numberMatched": len(ITEMS)}

    def _json(self, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.requests: list[str] = []


@contextmanager
def linked_pages(mode: str = "clean") -> Iterator[_Server]:
    server = _Server(mode)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


PROFILE = """\
id: paging
version: 1.0.0
title: Paging
status: draft
summary: Follows a server's links.
parameters:
  collection: {description: the id of a collection the target serves, required: true}
  temporal_collection: {description: a collection with a temporal extent}
requirements:
  - id: PAGE-NEXT-001
    title: Paging by rel=next reaches every item
    level: MUST
    category: paging
    weight: 1
    rationale: A client that follows next links sees the whole collection.
    check: {kind: contract, description: follow next links, scenario: scenarios/paging.yaml, max_seconds: 30}
  - id: PAGE-EACH-001
    title: Every listed item can be read
    level: MUST
    category: paging
    weight: 1
    rationale: A listed item exists.
    check: {kind: contract, description: read each item, scenario: scenarios/each.yaml}
  - id: PAGE-TIME-001
    title: The datetime filter works
    level: MUST
    category: paging
    weight: 1
    rationale: Conditional on a temporal collection.
    applies_when: {param: temporal_collection}
    check: {kind: contract, description: datetime, scenario: scenarios/each.yaml}
  - id: PAGE-TIME-002
    title: A collection with a temporal extent is filtered by datetime
    level: MUST
    category: paging
    weight: 1
    rationale: Conditional on the collection's answer.
    check: {kind: contract, description: datetime, scenario: scenarios/temporal.yaml}
"""

PAGING = """\
name: page through a collection
steps:
  - name: first page
    request: {method: GET, path: "/collections/${params.collection}/items"}
    expect:
      status: 200
      jmespath: {"features[].datetime": {all: {between: ["2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"]}}}
    capture:
      ids: {jmespath: "features[].id"}
      next: {jmespath: "links[?rel=='next'].href | [0]", optional: true}
  - name: next pages
    request: {method: GET, path: "${next}"}
    expect: {status: 200, jmespath: {"features": {min_length: 1}}}
    capture:
      next: {jmespath: "links[?rel=='next'].href | [0]", optional: true}
      ids: {jmespath: "features[].id", append: true}
    repeat: {while: next, max: 5}
  - name: every item was seen once
    request: {method: GET, path: "/collections/${params.collection}/items"}
    expect: {status: 200, jmespath: {"numberMatched == length(`${ids}`)": true}}
"""

EACH = """\
name: every listed item can be read
steps:
  - name: list
    request: {method: GET, path: "/collections/${params.collection}/items"}
    expect: {status: 200}
    capture: {ids: {jmespath: "features[].id"}}
  - name: read each
    request: {method: GET, path: "/collections/${params.collection}/items/${item}"}
    expect: {status: 200, body: {/datetime: {after: "2025-12-31T23:59:59-01:00"}}}
    for_each: {in: ids, as: item, max: 10}
"""

TEMPORAL = """\
name: datetime filter on a temporal collection
steps:
  - name: the collection has a temporal extent
    request: {method: GET, path: "/collections/${params.collection}"}
    expect: {status: 200}
    applies_if: {jmespath: {"extent.temporal": {exists: true}}}
  - name: filter
    request:
      method: GET
      path: "/collections/${params.collection}/items"
      query: {datetime: "2026-01-01T00:00:00Z/.."}
    expect: {status: 200}
"""


def _profile(root: Path) -> Path:
    folder = root / "paging" / "1.0.0"
    (folder / "scenarios").mkdir(parents=True)
    (folder / "profile.yaml").write_text(PROFILE)
    (folder / "openapi.yaml").write_text("openapi: 3.1.0\ninfo: {title: t, version: 1.0.0}\npaths: {}\n")
    (folder / "CHANGELOG.md").write_text("# 1.0.0\n")
    for name, text in (("paging", PAGING), ("each", EACH), ("temporal", TEMPORAL)):
        (folder / "scenarios" / f"{name}.yaml").write_text(text)
    return folder


def _run(tmp_path: Path, mode: str, *only: str) -> tuple[dict[str, Any], Path, _Server]:
    folder = _profile(tmp_path / "profiles")
    with linked_pages(mode) as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        outcome = start_run(str(folder), url, runs_dir=tmp_path / "runs", listener=Recorder(), seed=1,
                            only=only, params={"collection": "lakes"})
    rows = {r["id"]: r for r in outcome.scorecard["requirements"]}
    return rows, outcome.run_dir.path, server


def test_pages_through_a_collection_by_its_next_links_to_the_end(tmp_path: Path) -> None:
    started = time.monotonic()
    rows, _, server = _run(tmp_path, "clean", "PAGE-NEXT-001", "PAGE-EACH-001")
    assert rows["PAGE-NEXT-001"]["outcome"] == "pass", rows["PAGE-NEXT-001"]
    assert "'next pages' sent 2 time(s)" in rows["PAGE-NEXT-001"]["reason"]
    pages = [p for p in server.requests if p.startswith("/collections/lakes/items?offset=")]
    assert pages == ["/collections/lakes/items?offset=3", "/collections/lakes/items?offset=6"]  # absolute hrefs
    assert rows["PAGE-EACH-001"]["outcome"] == "pass", rows["PAGE-EACH-001"]
    assert "for each of 3 item(s)" in rows["PAGE-EACH-001"]["reason"]
    assert time.monotonic() - started < 30


def test_a_next_link_that_never_ends_is_bounded_and_a_failure(tmp_path: Path) -> None:
    rows, _, server = _run(tmp_path, "loop", "PAGE-NEXT-001")
    row = rows["PAGE-NEXT-001"]
    assert row["outcome"] == "fail", row
    assert "repeated 5 times (repeat.max)" in row["findings"][0]["message"]
    pages = [p for p in server.requests if p.startswith("/collections/")]  # the preflight and probe ask for /
    assert len(pages) <= 1 + 5, server.requests  # the first page, at most max rounds


def test_a_skipped_page_is_found(tmp_path: Path) -> None:
    rows, _, _ = _run(tmp_path, "skip", "PAGE-NEXT-001")
    row = rows["PAGE-NEXT-001"]
    assert row["outcome"] == "fail", row
    message = row["findings"][0]["message"]
    assert "every item was seen once" in row["reason"] and "expected true, got false" in message, message


def test_a_next_link_to_another_origin_is_refused_never_requested(tmp_path: Path) -> None:
    rows, run_dir, _ = _run(tmp_path, "foreign", "PAGE-NEXT-001")
    row = rows["PAGE-NEXT-001"]
    assert row["outcome"] == "error", row
    assert "refused to request http://other.example:8080/collections/lakes/items?offset=3" in row["reason"]
    sent = [json.loads(line)["request"]["url"] for line in
            (run_dir / "exchanges" / "PAGE-NEXT-001.jsonl").read_text().splitlines()]
    assert not any("other.example" in url for url in sent)


def test_unmet_conditions_are_not_applicable_in_scorecard_html_and_junit(tmp_path: Path) -> None:
    rows, run_dir, server = _run(tmp_path, "clean", "PAGE-TIME-001", "PAGE-TIME-002")
    by_param, by_answer = rows["PAGE-TIME-001"], rows["PAGE-TIME-002"]
    assert by_param["outcome"] == "not-applicable"
    assert by_param["reason"] == ("not applicable: the target gives no parameter 'temporal_collection' (a collection "
                                  "with a temporal extent)")
    assert by_answer["outcome"] == "not-applicable"
    assert by_answer["reason"].startswith("not applicable: step 'the collection has a temporal extent': jmespath "
                                          "extent.temporal: expected it to be present")
    assert not any("datetime=" in p for p in server.requests)  # the filter step was never sent
    card = json.loads((run_dir / "scorecard.json").read_text())
    assert card["counts"]["not-applicable"] == 2 and card["verdict"] == "incomplete"  # nothing else applied
    html = (run_dir / "report.html").read_text()
    assert html.count('data-outcome="not-applicable"') >= 2 and "temporal_collection" in html
    cases = {c.get("name", "").split()[0]: c for c in ET.parse(run_dir / "junit.xml").iter("testcase")}
    skipped = cases["PAGE-TIME-002"].find("skipped")
    assert skipped is not None and str(skipped.get("message")).startswith("not applicable: step 'the collection")


SCHEMA_PROFILE = """\
id: paging
version: 1.0.0
title: Paging
status: draft
summary: The schema engine with a target parameter.
parameters:
  collectionId: {description: the id of a collection the target serves, required: true}
requirements:
  - id: PAGE-IF-001
    title: No server errors
    level: MUST
    category: interface
    weight: 1
    rationale: r
    check: {kind: schema, checks: [not_a_server_error], phases: [examples, fuzzing], max_examples: 5}
"""

SCHEMA_OPENAPI = """\
openapi: 3.1.0
info: {title: t, version: 1.0.0}
paths:
  /collections/{collectionId}/items:
    get:
      parameters:
        - {name: collectionId, in: path, required: true, schema: {type: string}}
      responses:
        "200": {description: a page}
"""


def test_the_schema_engine_requests_the_targets_own_records(tmp_path: Path) -> None:
    folder = _profile(tmp_path / "profiles")
    (folder / "profile.yaml").write_text(SCHEMA_PROFILE)
    (folder / "openapi.yaml").write_text(SCHEMA_OPENAPI)
    with linked_pages() as server:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        outcome = start_run(str(folder), url, runs_dir=tmp_path / "runs", listener=Recorder(), seed=1,
                            params={"collectionId": "lakes"})
    row = outcome.scorecard["requirements"][0]
    assert row["outcome"] == "pass", row
    # the engine's requests to the operation (not its probes): every one names the target's collection, none
    # a generated string
    engine = [urlsplit(p).path for p in server.requests if p.startswith("/collections/")]
    assert engine and set(engine) == {"/collections/lakes/items"}, server.requests
