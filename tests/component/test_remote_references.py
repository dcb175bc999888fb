"""Interfaces with `$ref`s to other documents (issue #21, item 1): remote documents served from 127.0.0.1 as a
standards body's site would serve them, relative files outside the profile; lint and runs never fetch, `profiles
bundle` makes the self-contained copy (online into the cache, or offline from it), and a run reads that copy."""

from __future__ import annotations

import contextlib
import functools
import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conformance.cli.main import cli
from conformance.engine.fetch import fetch_document
from conformance.errors import ProfileError
from conformance.inputs.profiles import lint_profile, load_profile
from conformance.inputs.references import BUNDLED_KEY, bundle_interface, bundled_path, cache_path, external_refs
from conformance.inputs.scenarios import body_validator
from conformance.inputs.yamlfile import safe_load
from conformance.kit import component_validator
from conformance.session.execute import start_run
from tests.component.test_runners_in_process import Recorder
from tests.hostile import hostile_server

RECORDS = """\
components:
  schemas:
    Record:
      type: object
      required: [id, name, links]
      properties:
        id: {type: string}
        name: {type: ["string", "null"]}
        links: {type: array, items: {$ref: "link.yaml"}}
"""
LINK = """\
type: object
required: [href, rel]
properties:
  href: {type: string}
  rel: {type: string}
"""
PARAMS = """\
limit:
  name: limit
  in: query
  schema: {type: integer, minimum: 1, maximum: 10}
"""
PROFILE = """\
id: remote
version: 1.0.0
title: Remote references
status: draft
summary: An interface kept partly on another site.
requirements:
  - id: REM-IF-001
    title: Records match the published schema
    level: MUST
    category: interface
    weight: 1
    rationale: The schema is the standard body's.
    check: {kind: schema, checks: [response_schema_conformance], phases: [examples, fuzzing], max_examples: 10,
            mode: positive}
"""


def interface(base: str) -> str:
    return f"""\
openapi: 3.1.0
info: {{title: remote, version: 1.0.0}}
paths:
  /records/{{id}}:
    get:
      parameters:
        - {{name: id, in: path, required: true, schema: {{type: string, pattern: "^[a-z]{{1,8}}$"}}}}
        - $ref: "../../../shared/params.yaml#/limit"
      responses:
        "200":
          description: the record
          content:
            application/json:
              schema: {{$ref: "{base}/common/records.yaml#/components/schemas/Record"}}
components:
  schemas:
    Page:
      type: object
      properties: {{items: {{type: array, items: {{$ref: "{base}/common/records.yaml#/components/schemas/Record"}}}}}}
"""


class _Site(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def site(folder: Path) -> Iterator[tuple[str, list[str]]]:
    """A documents site on 127.0.0.1 (port 0): its base URL and the paths requested from it."""
    handler = type("Site", (_Site,), {"requests": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler.requests
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def records_api(record: dict[str, Any]) -> Iterator[str]:
    """A supplier system: `GET /records/{id}` answers `record` as JSON (with the id asked for)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({**record, "id": self.path.split("?")[0].rsplit("/", 1)[-1]}).encode()
            self.send_response(200 if self.path.startswith("/records/") else 404)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def layout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp/remote (the site's files), tmp/shared (a file outside the profile), tmp/profiles/remote/1.0.0, and the
    reference cache at tmp/cache ($CONFORMANCE_CACHE_DIR)."""
    (tmp_path / "remote" / "common").mkdir(parents=True)
    (tmp_path / "remote" / "common" / "records.yaml").write_text(RECORDS)
    (tmp_path / "remote" / "common" / "link.yaml").write_text(LINK)
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "params.yaml").write_text(PARAMS)
    folder = tmp_path / "profiles" / "remote" / "1.0.0"
    folder.mkdir(parents=True)
    (folder / "profile.yaml").write_text(PROFILE)
    (folder / "CHANGELOG.md").write_text("# 1.0.0\n")
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path


def bundle(folder: Path, *options: str) -> Any:
    return CliRunner().invoke(cli, ["profiles", "bundle", str(folder), *options])


def test_lint_names_each_outside_document_and_the_command_that_bundles_it_without_fetching(layout: Path) -> None:
    folder = layout / "profiles" / "remote" / "1.0.0"
    with site(layout / "remote") as (base, requests):
        (folder / "openapi.yaml").write_text(interface(base))
        problems = [str(p) for p in lint_profile(folder)]
        with pytest.raises(ProfileError, match=r"params\.yaml"):
            load_profile(folder)
    assert requests == []  # lint and load fetched nothing
    assert len(problems) == 2, problems
    params, records = sorted(problems, key=lambda p: "records" in p)
    assert f"{folder / 'openapi.yaml'}:8: paths./records/{{id}}.get.parameters[1].$ref: " in params
    assert f"refers to the file {layout / 'shared' / 'params.yaml'}, " in params
    assert f"run `conformance profiles bundle {folder}`" in params
    assert f"{folder / 'openapi.yaml'}:14: " in records
    assert f"the remote document {base}/common/records.yaml" in records
    cached = cache_path(layout / "cache", f"{base}/common/records.yaml")
    assert f"offline, save the document as {cached}" in records and "--offline" in records


def test_bundling_offline_with_an_empty_cache_names_the_document_and_where_to_put_it(layout: Path) -> None:
    folder = layout / "profiles" / "remote" / "1.0.0"
    with site(layout / "remote") as (base, requests):
        (folder / "openapi.yaml").write_text(interface(base))
        result = bundle(folder, "--offline")
    assert requests == []
    assert isinstance(result.exception, ProfileError)
    message = str(result.exception)
    assert f"the remote document {base}/common/records.yaml is not in the reference cache" in message
    assert str(cache_path(layout / "cache", f"{base}/common/records.yaml")) in message
    assert not bundled_path(folder / "openapi.yaml").exists()


def test_bundle_fetches_once_into_the_cache_then_works_offline_and_the_digest_covers_it(layout: Path) -> None:
    folder = layout / "profiles" / "remote" / "1.0.0"
    with site(layout / "remote") as (base, requests):
        (folder / "openapi.yaml").write_text(interface(base))
        first = bundle(folder)
        assert first.exit_code == 0, first.output + repr(first.exception)
    assert sorted(requests) == ["/common/link.yaml", "/common/records.yaml"]  # each once, the relative one too
    written = bundled_path(folder / "openapi.yaml")
    text = written.read_text()
    document = safe_load(text)
    assert list(external_refs(document)) == []  # internal references only
    assert set(document[BUNDLED_KEY]) == {"params.yaml", "127.0.0.1_" + base.rsplit(":", 1)[1] + "_common_records.yaml",
                                          "127.0.0.1_" + base.rsplit(":", 1)[1] + "_common_link.yaml"}
    assert str(layout) not in text  # names no folder of this machine: it can be committed and moved
    assert lint_profile(folder) == []
    profile = load_profile(folder)
    assert profile.openapi_path == str(written)

    # What reads the interface as data reads the bundle: the kit's validators, a scenario's `$ref` to openapi.yaml.
    good = {"items": [{"id": "a", "name": None, "links": [{"href": "/a", "rel": "self"}]}]}
    bad = {"items": [{"id": "a", "name": None, "links": [{"href": "/a"}]}]}
    validator = component_validator(profile.openapi_path, "Page")
    assert validator.is_valid(good) and not validator.is_valid(bad)
    (folder / "scenarios").mkdir()
    scenario_validator = body_validator({"$ref": "../openapi.yaml#/components/schemas/Page"},
                                        folder / "scenarios" / "page.yaml")
    assert scenario_validator.is_valid(good) and not scenario_validator.is_valid(bad)

    written.unlink()  # the site is gone now: offline, from the cache, the same bundle
    again = bundle(folder, "--offline")
    assert again.exit_code == 0, again.output + repr(again.exception)
    assert written.read_text() == text and "  cache  " in again.output

    written.write_text(text + "# edited\n")
    assert load_profile(folder).digest != profile.digest  # the digest covers the bundle
    (layout / "shared" / "params.yaml").write_text(PARAMS.replace("10", "20"))
    (problem,) = lint_profile(folder)
    assert "made from an older ../../../shared/params.yaml" in str(problem)
    assert f"run `conformance profiles bundle {folder}`" in str(problem)
    (folder / "openapi.yaml").write_text(interface(base) + "# edited\n")
    assert any("made from an older openapi.yaml" in str(p) for p in lint_profile(folder))


@pytest.mark.parametrize(("links", "outcome"), [([{"href": "/x", "rel": "self"}], "pass"),
                                                 ([{"href": "/x"}], "fail")])
def test_a_run_reads_the_bundled_interface_and_the_remote_schema_decides(layout: Path, links: list[Any],
                                                                        outcome: str) -> None:
    folder = layout / "profiles" / "remote" / "1.0.0"
    with site(layout / "remote") as (base, _):
        (folder / "openapi.yaml").write_text(interface(base))
        assert bundle(folder).exit_code == 0
    # The site is down: the run has nothing to fetch from and needs nothing. `rel` is required only by link.yaml,
    # a document the interface reaches through another remote one.
    with records_api({"name": None, "links": links}) as url:
        listener = Recorder()
        run = start_run(str(folder), url, runs_dir=layout / "runs", listener=listener, seed=21)
    (row,) = run.scorecard["requirements"]
    assert row["outcome"] == outcome, listener.finished["REM-IF-001"]
    result = listener.finished["REM-IF-001"]
    assert result.measurements["coverage"]["operations_exercised"] == 1
    if outcome == "fail":
        assert any("rel" in f.message for f in result.findings), result.findings


@pytest.mark.parametrize(("mode", "expected"), [
    ("trickle", "no complete answer within the 2 s deadline"),
    ("huge", "larger than 10 MiB"),
    ("gzip", "inflates past 10 MiB"),
    ("error", "the server answered 500"),
    ("redirect", "no answer"),  # followed to 127.0.0.2:9, where nothing listens
])
def test_fetching_a_document_is_bounded_in_time_and_size(mode: str, expected: str) -> None:
    started = time.monotonic()
    with hostile_server(mode, lifetime_s=30) as url, pytest.raises(OSError, match=expected):
        fetch_document(f"{url}/schemas/link.yaml", deadline_s=2)
    assert time.monotonic() - started < 10


def test_a_document_that_cannot_be_fetched_is_a_located_error_and_nothing_is_cached(layout: Path) -> None:
    folder = layout / "profiles" / "remote" / "1.0.0"
    with hostile_server("huge", lifetime_s=30) as base:
        (folder / "openapi.yaml").write_text(interface(base))
        with pytest.raises(ProfileError) as raised:
            bundle_interface(folder / "openapi.yaml", cache=layout / "cache", fix="-",
                             fetch=functools.partial(fetch_document, deadline_s=5))
    message = str(raised.value)
    assert message.startswith(f"{folder / 'openapi.yaml'}:14: ")
    assert f"the remote document {base}/common/records.yaml could not be fetched" in message
    assert "larger than 10 MiB" in message
    assert not cache_path(layout / "cache", f"{base}/common/records.yaml").exists()
