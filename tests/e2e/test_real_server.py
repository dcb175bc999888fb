"""A proof on a real server (issue #21, item 7): a small profile written from a published standard, OGC API -
Features - Part 1: Core 1.0.1 (tests/data/profiles/ogcapi-features-core/1.0.0), run by the `conformance` command
against pygeoapi, the open-source OGC API server from PyPI (pinned in pyproject.toml), serving twelve synthetic
stations (tests/data/pygeoapi/). What the profile finds there was checked by hand against pygeoapi's source:

- the six discovery and selection requirements pass (landing page links, conformance classes, collections,
  limit and bbox, a feature and its links, 404s, 400 for invalid values), each from real exchanges;
- OAF-CORE-007 fails, truly: the `self` link of every page after the first drops the `offset` that pygeoapi's own
  `next` link put there (api/itemtypes.py builds it from the query without `offset`), so it names the first page;
- OAF-CORE-008 fails, truly: `POST /collections/stations/items` with no body, schemathesis' probe of a method the
  interface does not document, is answered 500 (pygeoapi's Flask view returns None: "did not return a valid
  response"), not 405 or another 4xx; every answer the engine validated against the standard's schemas conformed.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from conformance.engine.processes import launched
from tests.conftest import conformance, only_run_dir, outcomes, read_scorecard

DATA = Path(__file__).resolve().parents[1] / "data"
PROFILE = DATA / "profiles" / "ogcapi-features-core" / "1.0.0"
SERVER = DATA / "pygeoapi"


def test_the_ogc_features_profile_finds_pygeoapis_two_real_defects_and_nothing_false(tmp_path: Path) -> None:
    try:
        import pygeoapi
    except ImportError as exc:  # a test dependency (pyproject.toml, dev): its absence is a failure, not a skip
        raise AssertionError("pygeoapi is not installed: `make install` installs the dev extra") from exc
    assert pygeoapi.__version__ == "0.21.0"  # the findings below are this version's
    started = time.monotonic()
    with launched([sys.executable, SERVER / "serve.py", SERVER / "config.yml", tmp_path], timeout=60,
                  log_path=tmp_path / "pygeoapi.log") as url:
        proc = conformance("run", str(PROFILE), "--target", url, "--seed", "1", "--runs-dir", str(tmp_path / "runs"))
    run_dir = only_run_dir(tmp_path / "runs")
    card = read_scorecard(run_dir)
    assert proc.returncode == 1, proc.stderr  # non-conformant
    assert outcomes(card) == {**{f"OAF-CORE-00{n}": "pass" for n in range(1, 7)},
                              "OAF-CORE-007": "fail", "OAF-CORE-008": "fail"}
    results = {r["requirement_id"]: r for r in map(json.loads, (run_dir / "results.jsonl").read_text().splitlines())}
    for n in range(1, 7):  # each pass was measured: its scenario's requests were answered
        assert results[f"OAF-CORE-00{n}"]["measurements"]["requests"] >= 1

    (paging,) = results["OAF-CORE-007"]["findings"]
    assert "page 2 holds st-06, st-07, st-08, st-09, st-10, but its self link" in paging["message"]
    assert "items?f=json&limit=5 returns st-01, st-02, st-03, st-04, st-05" in paging["message"]

    engine = results["OAF-CORE-008"]
    (crash,) = engine["findings"]
    assert (crash["check"], crash["status_code"]) == ("not_a_server_error", 500)
    # the request as sent (the engine's own test-case header included), so the curl reproduces it exactly
    assert crash["curl"].startswith("curl -X POST ") and f" '{url}/collections/stations/items" in crash["curl"]
    assert engine["measurements"]["checks_evaluated"]["response_schema_conformance"] > 20  # and none failed
    assert engine["measurements"]["coverage"]["operations_exercised"] == 6
    log = (tmp_path / "pygeoapi.log").read_text()
    assert "did not return a valid response" in log  # the server's own account of the 500
    assert time.monotonic() - started < 120
