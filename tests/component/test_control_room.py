"""The control-room profile's restart machinery, in this process and as real processes on 127.0.0.1.

A requirement that restarts the supplier's process (CR-RES-001) is an error naming what is missing when the target
declares no restart hook, never a pass; a reference restarted by the harness (`Restartable`: SIGKILL to its group,
the same command again) comes back on the same port with what it had committed; one restarted through its own
hook (`POST /__reference/restart`) is a new process on the same port. Whether each fault is caught by exactly its
requirements is the detection matrix's business (tests/matrix/test_detection_matrix.py).
"""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import httpx

from conformance.engine.processes import launched, restartable
from conformance.model import Outcome
from conformance.session.execute import NO_RESTART, start_run
from fixtures.kit.launch import restartable_target, serving
from fixtures.kit.restart import restarted_command
from tests.component.test_runners_in_process import Recorder

ROOT = Path(__file__).resolve().parents[2]
CALL = {"channel": "999", "caller": {"number": "07700900101"}, "received_at": "2026-12-01T21:14:05Z",
        "cell": {"cell_id": "234-30-4101-20771", "mast": {"latitude": 52.40511, "longitude": -1.51213}}}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _serve(port: int, db: Path, *faults: str) -> list[str]:
    command = [sys.executable, "-m", "conformance", "reference", "serve", "--profile", "control-room", "--port",
               str(port), "--db", str(db), "--system", "gateway=http://127.0.0.1:9"]
    for fault in faults:
        command += ["--fault", fault]
    return command


def test_a_restart_requirement_without_a_way_to_restart_is_an_error_naming_it(tmp_path: Path) -> None:
    listener = Recorder()
    with serving("control-room") as url:
        outcome = start_run("control-room", url, runs_dir=tmp_path / "runs", listener=listener, seed=1,
                            only=("CR-RES-001",))
    result = listener.finished["CR-RES-001"]
    assert result.outcome is Outcome.ERROR and result.reason == NO_RESTART
    assert "restart:" in NO_RESTART and "{port}" in NO_RESTART
    assert outcome.scorecard["verdict"] != "conformant"


def test_the_harness_restarts_a_candidate_on_its_port_and_a_committed_call_survives(tmp_path: Path) -> None:
    db = tmp_path / "control-room.sqlite"
    with restartable(_serve(_free_port(), db), log_path=tmp_path / "reference.log") as service:
        with httpx.Client(base_url=service.url, timeout=10) as client:
            call = client.post("/calls", json=CALL).json()
        before = service.url
        service.restart()
        assert service.url == before and service.restarts == 1
        with httpx.Client(base_url=service.url, timeout=10) as client:
            held = client.get(f"/calls/{call['id']}")
        assert held.status_code == 200 and held.json()["cell"] == CALL["cell"]
    log = (tmp_path / "reference.log").read_text(encoding="utf-8")
    assert log.count("listening on") == 2  # two processes, one after the other


def test_the_restart_requirement_passes_and_the_fault_fails_through_the_restart_hook(tmp_path: Path) -> None:
    """CR-RES-001 against a reference restarted by its own hook (a targets file's `restart:`), clean and with
    `call-lost-on-restart`: the hook really starts a new process (its output says so) on the same port."""
    outcomes = {}
    for fault in ((), ("call-lost-on-restart",)):
        log = tmp_path / f"reference-{len(fault)}.log"
        with launched(_serve(0, tmp_path / f"db-{len(fault)}.sqlite", *fault), log_path=log) as url:
            listener = Recorder()
            start_run("control-room", restartable_target(url, tmp_path), runs_dir=tmp_path / "runs",
                      listener=listener, seed=1, only=("CR-RES-001",))
        outcomes[fault] = listener.finished["CR-RES-001"]
        assert log.read_text(encoding="utf-8").count("listening on " + url) == 2
    assert outcomes[()].outcome is Outcome.PASS and outcomes[()].measurements["restarts"] == 1
    failed = outcomes[("call-lost-on-restart",)]
    assert failed.outcome is Outcome.FAIL and "is gone" in failed.findings[0].message


def test_a_restarted_command_keeps_its_arguments_on_the_same_port_and_database() -> None:
    argv = ["python", "-m", "conformance", "reference", "serve", "--port", "0", "--fault", "x", "--db=/a.sqlite"]
    assert restarted_command(argv, port=4321, db_path="/tmp/d.sqlite") == [
        "python", "-m", "conformance", "reference", "serve", "--fault", "x", "--port", "4321", "--db", "/tmp/d.sqlite"]


def test_the_gateway_stand_in_checks_the_wire_format_tells_a_retry_from_a_duplicate_and_goes_down() -> None:
    message = {"dispatch_id": "d-1", "incident_id": "i-1", "call_id": "c-1", "resource": "WV-12",
               "instruction": "Attend.", "location": {"cell": CALL["cell"]}}
    with launched([sys.executable, "-m", "fixtures.dispatch_gateway", "--port", "0"]) as url, \
            httpx.Client(base_url=url, timeout=10) as gateway:
        assert gateway.post("/messages", json=message, headers={"Idempotency-Key": "d-1"}).status_code == 201
        assert gateway.post("/messages", json=message, headers={"Idempotency-Key": "d-1"}).status_code == 200
        changed = gateway.post("/messages", json={**message, "resource": "WV-13"}, headers={"Idempotency-Key": "d-1"})
        assert changed.status_code == 409 and {"pointer": "/body/resource"} in [
            {"pointer": e["pointer"]} for e in changed.json()["errors"]]
        broken = gateway.post("/messages", json={"dispatch_id": "d-2"}, headers={"Idempotency-Key": "d-2"})
        assert broken.status_code == 422 and any("'resource'" in e["detail"] for e in broken.json()["errors"])
        assert gateway.put("/control/availability", json={"available": False}).json() == {"available": False}
        down = gateway.post("/messages", json=message, headers={"Idempotency-Key": "d-3"})
        assert down.status_code == 503 and down.headers["retry-after"] == "1"
        held = gateway.get("/messages", params={"incident_id": "i-1", "settle_s": 0}).json()
        assert held["count"] == 1 and held["items"][0]["replays"] == 1 and held["items"][0]["message"] == message


def _targets(folder: Path, url: str, restart: str) -> str:
    path = folder / "targets.yaml"
    path.write_text(f"targets:\n  ref:\n    base_url: {url}\n    restart: {{request: {restart}}}\n", encoding="utf-8")
    return f"{path}#ref"


def test_a_failing_restart_hook_is_an_error_and_a_check_that_never_restarts_is_not_a_pass(tmp_path: Path) -> None:
    import shutil

    profile = tmp_path / "control-room" / "1.0.0"
    shutil.copytree(ROOT / "profiles" / "control-room" / "1.0.0", profile)
    check = profile / "checks" / "restart.py"
    text = check.read_text(encoding="utf-8")
    assert text.count('    c.restart("the supplier') == 1
    check.write_text(text.replace('    c.restart("the supplier', '    str("the supplier'), encoding="utf-8")
    results = {}
    with serving("control-room") as url:  # in process: no restart route, so the hook below answers 404
        for name, ref in (("hook fails", "control-room"), ("never restarts", str(profile))):
            listener = Recorder()
            start_run(ref, _targets(tmp_path, url, "POST /__no-such-restart"), runs_dir=tmp_path / name,
                      listener=listener, seed=1, only=("CR-RES-001",))
            results[name] = listener.finished["CR-RES-001"]
    assert results["hook fails"].outcome is Outcome.ERROR
    assert "restart request POST /__no-such-restart answered 404" in (results["hook fails"].reason or "")
    assert results["never restarts"].outcome is Outcome.ERROR
    assert "declares restarts=True but never restarted" in (results["never restarts"].reason or "")
