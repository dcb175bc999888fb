"""Contract scenarios: clear errors for bad scenario files, findings that show expected against actual,
and the workflow cost (requests and time a business task took) measured and bounded."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from conformance.scenarios import lint_scenario
from tests.conftest import ROOT, SEED, conformance, only_run_dir, reference
from tests.test_cli_e2e import result_of

PROFILE = ROOT / "profiles" / "pole-records" / "1.0.0"


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
    """A target answering 9 MiB to a scenario step: the runner keeps at most 8 MiB, and says it could not judge."""
    import http.server
    import threading

    class Huge(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"items": [' + b'"x",' * (9 * 1024 * 1024 // 4) + b'"x"]}'
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
    assert result["outcome"] == "error" and "larger than 8 MiB" in result["reason"], result
