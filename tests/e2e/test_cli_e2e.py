"""The CLI end to end, as a user runs it: exit codes, findings with a curl that reproduces, evidence,
interruption and --resume, determinism, credentials never written, unreachable targets."""

from __future__ import annotations

import json
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conformance.engine.processes import spawned
from conformance.inputs.profiles import load_profile
from tests.conftest import (
    ROOT,
    SEED,
    Run,
    conformance,
    only_run_dir,
    outcomes,
    read_scorecard,
    reference,
)

ACTIVE = sum(1 for r in load_profile("pole-records").requirements if not r.planned)


def result_of(run_dir: Path, requirement_id: str) -> dict[str, Any]:
    for line in (run_dir / "results.jsonl").read_text().splitlines():
        result: dict[str, Any] = json.loads(line)
        if result["requirement_id"] == requirement_id:
            return result
    raise AssertionError(f"no result for {requirement_id} in {run_dir}")


def test_version() -> None:
    from conformance import __version__

    proc = conformance("--version")
    assert proc.returncode == 0 and __version__ in proc.stdout


def test_clean_run_writes_the_run_directory(clean_run: Run) -> None:
    run_dir = clean_run.run_dir
    meta = json.loads((run_dir / "run.json").read_text())
    assert meta["status"] == "finished" and meta["seed"] == int(SEED)
    assert meta["profile"]["id"] == "pole-records" and meta["profile"]["digest"].startswith("sha256:")
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    assert len(lines) == ACTIVE
    for line in lines:
        result = json.loads(line)
        if result["measurements"]["engine"] == "locust":  # a load's evidence: its config, histograms, locust log
            load = run_dir / "load" / result["requirement_id"]
            assert json.loads((load / "results.json").read_text())["operations"]
            assert (load / "config.json").exists() and (load / "locust.log").exists()
            assert result["measurements"]["requests"] > 0 and result["measurements"]["schedule"]["dropped"] == 0
            continue
        # schema requirements share an engine pass: its evidence is one file, named in each member's measurements
        engine_pass = result["measurements"].get("pass") or {"requests": result["measurements"]["requests"]}
        evidence = run_dir / result["measurements"].get("evidence", f"exchanges/{result['requirement_id']}.jsonl")
        exchanges = evidence.read_text().split("\n")[:-1]
        assert len(exchanges) == engine_pass["requests"] > 0
        assert 0 < result["measurements"]["requests"] <= len(exchanges)  # what this requirement was judged on
        if result["measurements"]["engine"] != "schemathesis":
            assert result["measurements"]["engine"] == "contract" and result["measurements"]["elapsed_s"] > 0
            continue
        coverage = result["measurements"]["coverage"]
        if result["measurements"]["phases"] == ["stateful"]:  # workflows: only operations links lead to
            assert coverage["links_followed"] > 0
        else:
            assert coverage["operations_not_exercised"] == []
            assert coverage["statuses_observed_documented"] > 0
        assert all(count > 0 for count in result["measurements"]["checks_evaluated"].values())
        assert all(count > 0 for count in result["measurements"]["answers_judged"].values())
    assert "verdict: conformant" in clean_run.stdout
    assert "score: 100" in clean_run.stdout


def test_schema_drift_is_caught_with_a_curl_that_reproduces_it(drift_run: Run) -> None:
    assert drift_run.returncode == 1
    assert outcomes(drift_run.scorecard)["POLE-IF-001"] == "fail"
    requirement = next(r for r in drift_run.scorecard["requirements"] if r["id"] == "POLE-IF-001")
    finding = next(f for f in requirement["findings"] if f["operation"] == "POST /persons")
    assert finding["check"] == "response_schema_conformance"
    assert finding["seed"] == int(SEED)
    assert "POLE-IF-001" in drift_run.stdout and "curl " in drift_run.stdout
    # Replay the finding's curl against the same (still running) supplier: the drift is there.
    argv = shlex.split(finding["curl"].splitlines()[-1])
    assert argv[0] == "curl"
    replay = subprocess.run([*argv, "--silent", "--max-time", "10"], capture_output=True, text=True, timeout=30)
    body = json.loads(replay.stdout)
    assert isinstance(body["version"], str) and "legacy_ref" in body


@pytest.mark.serial  # the resumed run must come out conformant, load requirements included
def test_interrupted_run_keeps_its_results_and_resumes(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with reference() as url:
        with spawned([sys.executable, "-m", "conformance", "run", "pole-records", "--target", url, "--seed", SEED,
                      "--runs-dir", runs, "--load-duration", "2"],  # short load: the resume is under test, not the load
                     cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as proc:
            deadline = time.monotonic() + 300
            results = None
            while time.monotonic() < deadline and proc.poll() is None:
                found = list(runs.glob("*/results.jsonl"))
                if found and found[0].read_text().count("\n") >= 2:
                    results = found[0]
                    break
                time.sleep(0.2)
            assert results is not None, "the run never finished two requirements"
            proc.send_signal(signal.SIGINT)
            out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 3, out
        run_dir = only_run_dir(runs)
        kept = [json.loads(line)["requirement_id"] for line in results.read_text().splitlines()]
        assert 2 <= len(kept) < ACTIVE
        assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
        card = read_scorecard(run_dir)
        assert card["verdict"] == "incomplete"
        resumed = conformance("run", "--resume", str(run_dir))
        assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    final = [json.loads(line)["requirement_id"] for line in results.read_text().splitlines()]
    assert final[: len(kept)] == kept, "finished results were re-run or lost"
    assert len(set(final)) == ACTIVE
    assert read_scorecard(run_dir)["verdict"] == "conformant"


def test_same_seed_same_requests_other_seed_other_requests(tmp_path: Path) -> None:
    hashes = []
    for n, seed in enumerate((SEED, SEED, "7")):
        with reference() as url:
            runs = tmp_path / f"runs{n}"
            proc = conformance("run", "pole-records", "--target", url, "--seed", seed, "--runs-dir", str(runs),
                               "--only", "POLE-IF-006")
            assert proc.returncode == 3, proc.stdout  # the other MUST requirements were not run
            result = result_of(only_run_dir(runs), "POLE-IF-006")
            assert result["outcome"] == "pass"
            hashes.append(result["measurements"]["request_sequence_sha256"])
    assert hashes[0] == hashes[1] != hashes[2]


def test_api_key_is_sent_and_never_written(tmp_path: Path) -> None:
    secret = "sk-reference-1f8e6a2b9c"
    env = {"REF_KEY": secret}
    targets = tmp_path / "targets.yaml"
    with reference(api_key_env="REF_KEY", env=env) as url:
        targets.write_text(f"targets:\n  ref:\n    base_url: {url}\n    supplier: Reference Ltd\n"
                           f"    auth: {{type: api_key, header: X-API-Key, env: REF_KEY}}\n")
        runs = tmp_path / "runs"
        proc = conformance("run", "pole-records", "--target", f"{targets}#ref", "--seed", SEED,
                           "--runs-dir", str(runs), "--only", "POLE-IF-006", env=env)
        result = result_of(only_run_dir(runs), "POLE-IF-006")
        assert result["outcome"] == "pass", result
        # Without the key every answer is 401: that measures nothing, so it is an error, never a pass.
        wrong = tmp_path / "wrong"
        proc2 = conformance("run", "pole-records", "--target", url, "--seed", SEED, "--runs-dir", str(wrong),
                            "--only", "POLE-IF-006")
        denied = result_of(only_run_dir(wrong), "POLE-IF-006")
        assert denied["outcome"] == "error" and "401" in denied["reason"], denied
    for output in (proc.stdout, proc.stderr, proc2.stdout, proc2.stderr):
        assert secret not in output
    for path in runs.rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), f"the API key leaked into {path}"


def test_unreachable_target_is_incomplete_not_a_failure(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        proc = conformance("run", "pole-records", "--target", f"http://127.0.0.1:{port}", "--runs-dir",
                           str(tmp_path / "runs"), "--seed", SEED)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    card = read_scorecard(only_run_dir(tmp_path / "runs"))
    assert card["verdict"] == "incomplete"
    assert {o for rid, o in outcomes(card).items() if rid.startswith("POLE-IF")} == {"error"}
    assert "Traceback" not in proc.stdout + proc.stderr


def test_bad_arguments_exit_2_without_traceback(tmp_path: Path) -> None:
    for args in (["run", "no-such-profile", "--target", "http://127.0.0.1:9"],
                 ["run", "pole-records", "--target", "ftp://x"],
                 ["run", "pole-records", "--target", "http://127.0.0.1:9", "--only", "NOPE-1"],
                 ["run", "pole-records", "--target", f"{tmp_path}/missing.yaml#x"],
                 ["reference", "serve", "--fault", "no-such-fault"]):
        proc = conformance(*args)
        assert proc.returncode == 2, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert proc.stderr.strip(), args


def test_reset_before_each_schema_requirement_makes_reruns_identical(tmp_path: Path) -> None:
    """Two runs with the same seed against one reference, reset in between by the target's own hook,
    send the same request sequence (stateful workflows included)."""
    with reference() as url:
        targets = tmp_path / "targets.yaml"
        targets.write_text(f"targets:\n  ref:\n    base_url: {url}\n    reset: {{request: POST /__reference/reset}}\n"
                           f"  broken:\n    base_url: {url}\n    reset: {{request: POST /no-such-reset}}\n")
        hashes = []
        for n in range(2):
            runs = tmp_path / f"runs{n}"
            conformance("run", "pole-records", "--target", f"{targets}#ref", "--seed", SEED, "--runs-dir", str(runs),
                        "--only", "POLE-IF-007")
            result = result_of(only_run_dir(runs), "POLE-IF-007")
            assert result["outcome"] == "pass", result
            assert result["measurements"]["coverage"]["links_followed"] > 0
            hashes.append(result["measurements"]["request_sequence_sha256"])
        assert hashes[0] == hashes[1]
        runs = tmp_path / "broken"
        conformance("run", "pole-records", "--target", f"{targets}#broken", "--seed", SEED, "--runs-dir", str(runs),
                    "--only", "POLE-IF-007")
        failed = result_of(only_run_dir(runs), "POLE-IF-007")
        assert failed["outcome"] == "error" and "reset request POST /no-such-reset answered 404" in failed["reason"]


def test_full_tier_looks_with_several_seeds_and_names_the_one_that_found_each_finding(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    with reference("strict-irrelevant-fields") as url:
        proc = conformance("run", "pole-records", "--target", url, "--seed", SEED, "--runs-dir", str(runs),
                           "--tier", "full", "--budget", "15", "--only", "POLE-IF-005")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    result = result_of(only_run_dir(runs), "POLE-IF-005")
    seeds = result["measurements"]["seeds"]
    assert len(seeds) == 3 and seeds[0] == int(SEED)
    # --budget 9 is the whole run's; this one requirement's share, less a wind-down, is split among the seeds
    assert 1 <= result["measurements"]["budget_s"] <= 3
    assert result["measurements"]["budget"]["run_budget_s"] == 15
    assert set(result["measurements"]["new_findings_by_seed"]) == {str(s) for s in seeds}
    assert result["findings"] and all(f["seed"] in seeds for f in result["findings"])
    assert json.loads((only_run_dir(runs) / "run.json").read_text())["budget_s"] == 15


def test_oauth2_client_credentials_tokens_are_fetched_renewed_and_never_written(tmp_path: Path) -> None:
    secret = "oauth-client-secret-7c1d"
    env = {"REF_OAUTH_SECRET": secret}
    log = tmp_path / "reference.log"
    extra = ["--oauth-client", "harness", "--oauth-secret-env", "REF_OAUTH_SECRET", "--token-ttl", "2"]
    with reference(env=env, log=log, extra=extra) as url:
        targets = tmp_path / "targets.yaml"
        targets.write_text(
            f"targets:\n  ref:\n    base_url: {url}\n"
            "    auth: {type: oauth2_client_credentials, token_url: /__reference/oauth/token, client_id: harness,"
            " env: REF_OAUTH_SECRET}\n"
            f"  wrong:\n    base_url: {url}\n"
            "    auth: {type: oauth2_client_credentials, token_url: /__reference/oauth/token, client_id: nobody,"
            " env: REF_OAUTH_SECRET}\n")
        runs = tmp_path / "runs"
        proc = conformance("run", "pole-records", "--target", f"{targets}#ref", "--seed", SEED,
                           "--runs-dir", str(runs), "--only", "POLE-IF-006", "--only", "POLE-PERF-001", env=env)
        result = result_of(only_run_dir(runs), "POLE-IF-006")
        # The load generator sends one token throughout: one that dies mid-load would make 401s the supplier's
        # errors, so a load longer than a token's life is not run (an error naming why), never judged.
        load = result_of(only_run_dir(runs), "POLE-PERF-001")
        assert load["outcome"] == "error" and "access tokens live 2 s, less than this load needs" in load["reason"]
        assert result["outcome"] == "pass", (result, proc.stdout)
        assert result["measurements"]["elapsed_s"] > 2, "the run was too short to need a renewed token"
        issued = log.read_text().count("oauth: token issued")
        assert issued >= 2, f"tokens were not renewed ({issued} issued)"
        wrong = tmp_path / "wrong"
        denied = conformance("run", "pole-records", "--target", f"{targets}#wrong", "--seed", SEED,
                             "--runs-dir", str(wrong), "--only", "POLE-IF-006", env=env)
        assert denied.returncode == 3
        assert "no OAuth2 token" in result_of(only_run_dir(wrong), "POLE-IF-006")["reason"]
    for output in (proc.stdout, proc.stderr, denied.stdout, denied.stderr):
        assert secret not in output
    leaked = [p for p in runs.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
    assert not leaked
    evidence = (only_run_dir(runs) / "exchanges" / "POLE-IF-006.jsonl").read_text()
    assert "Bearer ${OAUTH2_ACCESS_TOKEN}" in evidence
    assert not re.search(r"Bearer (?!\$\{OAUTH2_ACCESS_TOKEN\})", evidence), "an access token reached the evidence"
