"""Contract scenarios: clear errors for bad scenario files, findings that show expected against actual,
and the workflow cost (requests and time a business task took) measured and bounded."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import httpx
import pytest

from conformance.inputs.scenarios import lint_scenario
from conformance.kit import ContractContext, SupplierFailure
from tests.conftest import ROOT, SEED, conformance, only_run_dir, reference, shipped_checks
from tests.e2e.test_cli_e2e import result_of

PROFILE = ROOT / "profiles" / "pole-records" / "1.0.0"
PROPERTIES = shipped_checks("pole-records").module("properties")  # profiles/pole-records/1.0.0/checks/properties.py


def copy_profile(tmp_path: Path) -> Path:
    folder = tmp_path / "profiles" / "pole-records" / "1.0.0"
    shutil.copytree(PROFILE, folder)
    return folder


def test_shipped_scenarios_are_valid() -> None:
    files = sorted((PROFILE / "scenarios").glob("*.yaml"))
    assert len(files) >= 8
    for path in files:
        assert lint_scenario(path) == [], path


def test_malformed_scenario_is_one_line_naming_file_and_step(tmp_path: Path) -> None:
    folder = copy_profile(tmp_path)
    scenario = folder / "scenarios" / "rec-005-lost-update.yaml"
    text = scenario.read_text().replace("expect: {status: 412}", "expect: {status: 412, bodyy: {}}")
    scenario.write_text(text)
    proc = conformance("profiles", "lint", str(folder))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    line = (proc.stderr + proc.stdout).replace("\n", "")
    assert "rec-005-lost-update.yaml:" in line and "steps[2].expect.bodyy" in line
    assert "step 'officer B's save from the same old version is refused'" in line
    assert "did you mean 'body'?" in line
    run = conformance("run", str(folder), "--target", "http://127.0.0.1:9")
    assert run.returncode == 2 and "Traceback" not in run.stderr


def test_failed_step_shows_expected_and_actual_with_a_reproduction(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with reference("lost-update") as url:
        proc = conformance("run", "pole-records", "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                           "--only", "POLE-REC-005")
    result = result_of(only_run_dir(runs), "POLE-REC-005")
    assert result["outcome"] == "fail"
    finding = result["findings"][0]
    assert "officer B's save" in finding["title"]
    assert finding["message"].startswith("status: expected 412, got 200")
    assert finding["curl"].startswith("curl -X PUT") and "If-Match" in finding["curl"]
    # the operation as sent: the id the create answered, not the scenario's variable
    assert re.fullmatch(r"PUT /persons/[0-9a-f-]{36}", finding["operation"]), finding["operation"]
    assert finding["operation"].split()[1] in finding["curl"]
    assert "POLE-REC-005" in proc.stdout
    exchanges = (only_run_dir(runs) / "exchanges" / "POLE-REC-005.jsonl").read_text().split("\n")[:-1]
    assert [json.loads(e)["response"]["status"] for e in exchanges] == [201, 200, 200]


def test_workflow_cost_is_measured_and_bounded(tmp_path: Path) -> None:
    folder = copy_profile(tmp_path)
    profile = folder / "profile.yaml"
    text = profile.read_text()
    marker = "      scenario: scenarios/safe-001-flags-travel.yaml\n"
    assert marker in text
    profile.write_text(text.replace(marker, marker + "      max_requests: 4\n      max_seconds: 30\n"))
    runs = tmp_path / "runs"
    with reference() as url:
        conformance("run", str(folder), "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                    "--only", "POLE-SAFE-001")
    result = result_of(only_run_dir(runs), "POLE-SAFE-001")
    assert result["measurements"]["requests"] == 6
    assert result["measurements"]["elapsed_s"] > 0
    assert result["outcome"] == "fail"
    assert "the task cost too much: 6 requests (at most 4)" in result["findings"][0]["message"]


def test_the_shoplifting_task_is_measured_and_a_slow_system_fails_it(tmp_path: Path) -> None:
    """POLE-PERF-005: the business task's requests and time reach the scorecard; slow writes fail the bound."""
    results = {}
    for fault in ("", "slow-tasks"):
        runs = tmp_path / (fault or "clean")
        with reference(*([fault] if fault else [])) as url:
            conformance("run", "pole-records", "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                        "--only", "POLE-PERF-005")
        results[fault] = result_of(only_run_dir(runs), "POLE-PERF-005")
    clean, slow = results[""], results["slow-tasks"]
    task = "record a shoplifting crime with its suspect, victim, shop and stolen property"
    assert clean["outcome"] == "pass", clean["reason"]
    assert clean["measurements"]["task"] == task and clean["measurements"]["requests"] == 10
    assert clean["measurements"]["elapsed_s"] < 1.5
    assert clean["reason"].startswith(f"task '{task}' done: 10 step(s) met in 10 requests, ")
    assert slow["outcome"] == "fail"
    assert slow["measurements"]["requests"] == 10 and slow["measurements"]["elapsed_s"] > 1.5  # 9 writes x 300 ms
    (finding,) = slow["findings"]
    assert finding["title"] == f"Recording a shoplifting: task '{task}' cost too much"
    assert f"{slow['measurements']['elapsed_s']:.2f} s (at most 1.5 s); every step met" in finding["message"]


def test_property_contract_shrinks_to_a_minimal_record(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with reference("clamps-old-dates") as url:
        conformance("run", "pole-records", "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                    "--only", "POLE-REC-002")
    result = result_of(only_run_dir(runs), "POLE-REC-002")
    assert result["outcome"] == "fail"
    message = result["findings"][0]["message"]
    assert "date_of_birth: sent '1899-12-31', read back '1900-01-01'" in message or \
        ("date_of_birth: sent '18" in message and "read back '1900-01-01'" in message)
    assert f"minimal record (seed {SEED})" in message
    assert result["measurements"]["python"] == "pole_records.person_round_trip"


SYSTEMS_BLOCK = """systems:
  peer:
    description: A second records system (the harness starts the reference when none is given).
    reference: true
  receiver:
    description: A system only the run can name.
requirements:
"""


def requirement(rid: str, scenario: str) -> str:
    return f"""  - id: {rid}
    title: {rid}
    level: MUST
    category: records
    weight: 1
    rationale: A test of the scenario format.
    check: {{kind: contract, description: test, scenario: scenarios/{scenario}}}
"""


def test_steps_on_other_systems_with_datasets_eventually_and_matchers(tmp_path: Path) -> None:
    """One scenario sends a dataset record to the target and to `peer` (started by the harness, since the
    profile lets its reference play it); one needs `receiver`, which nobody gave (an error naming the option);
    one waits `eventually` for something that never happens (a failure saying how long it waited)."""
    folder = copy_profile(tmp_path)
    (folder / "datasets").mkdir()
    (folder / "datasets" / "people.yaml").write_text(
        'minimal:\n  family_name: "Pryce-${run_id}"\n  given_names: Mererid\n')
    (folder / "scenarios" / "sys-peer.yaml").write_text("""name: both systems
steps:
  - name: create on the target
    request: {method: POST, path: /persons, dataset: "people#minimal"}
    expect: {status: 201, body: {/family_name: {matches: "^Pryce-[0-9a-f]{12}$"}, /version: {gte: 1}}}
    capture: {id: /body/id}
  - name: create on the peer
    system: peer
    request: {method: POST, path: /persons, dataset: "people#minimal"}
    expect: {status: 201, body: {/version: {lte: 1}}}
    capture: {peer_id: /body/id}
  - name: read on the peer
    system: peer
    eventually: {within_s: 5, interval_s: 0.1}
    request: {method: GET, path: "/persons/${peer_id}"}
    expect: {status: 200, body: {/given_names: {one_of: [Mererid, Mared]}}}
""")
    (folder / "scenarios" / "sys-receiver.yaml").write_text("""name: needs a receiver
steps:
  - name: ask the receiver
    system: receiver
    request: {method: GET, path: /deliveries}
    expect: {status: 200}
""")
    (folder / "scenarios" / "never.yaml").write_text("""name: waits in vain
steps:
  - name: a record that never appears
    eventually: {within_s: 1, interval_s: 0.2}
    request: {method: GET, path: /persons/00000000-0000-4000-8000-000000000000}
    expect: {status: 200}
""")
    profile = folder / "profile.yaml"
    text = profile.read_text().replace("requirements:\n", SYSTEMS_BLOCK, 1)
    profile.write_text(text + requirement("TEST-SYS-001", "sys-peer.yaml")
                       + requirement("TEST-SYS-002", "sys-receiver.yaml") + requirement("TEST-EVT-001", "never.yaml"))
    assert conformance("profiles", "lint", str(folder)).returncode == 0
    runs = tmp_path / "runs"
    with reference() as url:
        proc = conformance("run", str(folder), "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                           "--only", "TEST-SYS-001", "--only", "TEST-SYS-002", "--only", "TEST-EVT-001")
    run_dir = only_run_dir(runs)
    assert result_of(run_dir, "TEST-SYS-001")["outcome"] == "pass", proc.stdout + proc.stderr
    exchanges = [json.loads(line) for line in (run_dir / "exchanges" / "TEST-SYS-001.jsonl").read_text().splitlines()]
    assert [e.get("system") for e in exchanges] == [None, "peer", "peer"]
    peer_url = json.loads((run_dir / "run.json").read_text())["systems_started"]["peer"]["base_url"]
    assert exchanges[1]["request"]["url"].startswith(peer_url) and peer_url != url
    assert exchanges[0]["request"]["body"] and "Pryce-" in exchanges[0]["request"]["body"]
    needs = result_of(run_dir, "TEST-SYS-002")
    assert needs["outcome"] == "error" and "--system receiver=URL" in needs["reason"]
    never = result_of(run_dir, "TEST-EVT-001")
    assert never["outcome"] == "fail"
    assert "still not met after 1 s" in never["findings"][0]["message"]
    attempts = (run_dir / "exchanges" / "TEST-EVT-001.jsonl").read_text().splitlines()
    assert 3 <= len(attempts) <= 7


def test_a_step_on_an_undeclared_system_or_dataset_is_a_located_error(tmp_path: Path) -> None:
    folder = copy_profile(tmp_path)
    scenario = folder / "scenarios" / "rec-005-lost-update.yaml"
    scenario.write_text(scenario.read_text().replace("  - name: create\n", "  - name: create\n    system: court\n", 1))
    found = lint_scenario(scenario, systems=frozenset({"receiver"}), datasets=folder / "datasets")
    assert [str(p) for p in found] and "system 'court' is not declared" in str(found[0])
    assert "steps[0].system" in str(found[0]) and "rec-005-lost-update.yaml:" in str(found[0])


def test_an_answer_too_large_to_judge_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    """A target answering 11 MiB to a scenario step: the runner reads at most 10 MiB, and says which bound tripped."""
    import http.server
    import threading

    class Huge(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"items": [' + b'"x",' * (11 * 1024 * 1024 // 4) + b'"x"]}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Huge)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    folder = copy_profile(tmp_path)
    (folder / "scenarios" / "huge.yaml").write_text("""name: a huge answer
steps:
  - name: read everything
    request: {method: GET, path: /code-lists}
    expect: {status: 200, body: {/items: {min_length: 1}}}
""")
    profile = folder / "profile.yaml"
    profile.write_text(profile.read_text() + requirement("TEST-HUGE-001", "huge.yaml"))
    runs = tmp_path / "runs"
    try:
        conformance("run", str(folder), "--target", f"http://127.0.0.1:{server.server_address[1]}", "--runs-dir",
                    str(runs), "--only", "TEST-HUGE-001")
    finally:
        server.shutdown()
    result = result_of(only_run_dir(runs), "TEST-HUGE-001")
    assert result["outcome"] == "error" and "at most 10 MiB" in result["reason"], result


NEW_PROPERTIES = {"POLE-REC-007": "pole_records.person_update_visible",
                  "POLE-REC-008": "pole_records.coded_values_round_trip",
                  "POLE-SRCH-002": "pole_records.name_variant_search"}


def test_update_code_and_name_variant_properties_hold_on_the_reference(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with reference() as url:
        proc = conformance("run", "pole-records", "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                           *(arg for rid in NEW_PROPERTIES for arg in ("--only", rid)))
    for rid, python in NEW_PROPERTIES.items():
        result = result_of(only_run_dir(runs), rid)
        assert result["outcome"] == "pass", proc.stdout + proc.stderr
        assert result["measurements"]["python"] == python
        assert result["measurements"]["requests"] >= 50  # generated records, not one example


@pytest.mark.parametrize(("fault", "rid", "says"), [
    ("stale-reads", "POLE-REC-007", ["family_name: updated to '", "', the next read returned '",
                                     "then updated to {'family_name': "]),
    ("recodes-values", "POLE-REC-008", [
        "2 of 53 published codes did not round-trip: ",
        "location flags: sent code 'child-at-risk' (code list 'flag'), read back ['warning-violence']",
        "'flags': [{'code': 'child-at-risk'",
        "also: event event_type: sent 'missing-person' (code list 'event-type'), read back 'incident'"]),
    ("exact-name-search", "POLE-SRCH-002", ["did not find the person recorded as '", "'family_name': '"]),
])
def test_property_breach_is_shown_as_a_minimal_record_with_its_seed(tmp_path: Path, fault: str, rid: str,
                                                                    says: list[str]) -> None:
    runs = tmp_path / "runs"
    with reference(fault) as url:
        conformance("run", "pole-records", "--target", url, "--seed", SEED, "--runs-dir", str(runs), "--only", rid)
    result = result_of(only_run_dir(runs), rid)
    assert result["outcome"] == "fail", result
    message = result["findings"][0]["message"]
    assert f"; minimal record (seed {SEED}): " in message
    for text in says:
        assert text in message, message
    assert str(result["findings"][0]["seed"]) == SEED


def test_a_variant_search_names_the_variant_and_how_it_differs(tmp_path: Path) -> None:
    """The variant is spelt out: which common difference (case, accents, Mc/Mac, hyphen/space) the search had."""
    from hypothesis import given, settings

    from fixtures.pole_records.store import name_key

    names_and_variants = PROPERTIES.names_and_variants

    @settings(max_examples=200, database=None, deadline=None)
    @given(names_and_variants())
    def variant_is_a_variant(drawn: tuple[str, str, str]) -> None:
        recorded, variant, how = drawn
        assert variant != recorded and how
        assert name_key(variant) == name_key(recorded)  # the reference folds every variant the property makes
        assert all(part in ("lower case", "upper case", "accents added", "accents removed", "Mc written Mac",
                            "Mac written Mc", "hyphen written as a space", "space written as a hyphen")
                   for part in how.split(", ")), how

    variant_is_a_variant()


def _code_lists_answer(payload: object) -> ContractContext:
    def send(method: str, path: str, **_: object) -> httpx.Response:
        assert (method, path) == ("GET", "/code-lists"), "nothing but the code lists may be asked for"
        return httpx.Response(200, json=payload)

    return ContractContext(send, str(PROFILE / "openapi.yaml"), int(SEED), 1)


@pytest.mark.parametrize(("payload", "says"), [
    ({"items": []}, "the target publishes no 'flag' code list (it publishes [])"),
    ({"items": [{"name": name, "version": "1", "codes": []} for name in PROPERTIES.CODED_FIELDS]},
     "the 'flag' code list the target publishes is empty"),
    ({"items": [{"name": "flag", "version": "1", "values": ["child-at-risk"]}]}, "the code lists could not be read"),
    ({"lists": []}, "the code lists could not be read"),
])
def test_no_code_to_check_is_a_failure_not_a_vacuous_pass(payload: object, says: str) -> None:
    with pytest.raises(SupplierFailure, match=re.escape(says)):
        PROPERTIES.coded_values_round_trip(_code_lists_answer(payload))
