"""Load checks: the coordinated-omission canary against a reference that stalls, on one process and on two
locust workers; a generator that cannot keep its schedule is an error; service levels judged from histograms."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hdrh.histogram import HdrHistogram

from conformance.model import CheckKind, CheckSpec, Level, Outcome, Requirement
from conformance.runners.load import LoadRunner, summarise
from tests.conftest import conformance, only_run_dir, read_scorecard, reference

STALL_MS, EVERY_MS = 300.0, 1000.0
# Arrivals independent of the stall's phase wait (STALL - u) when they land u ms into a stall, so
# P(latency > l) = (STALL - l) / EVERY, and the q-quantile is STALL - (1 - q) * EVERY (plus the service time).
ANALYTIC = {"p95_ms": STALL_MS - 0.05 * EVERY_MS, "p99_ms": STALL_MS - 0.01 * EVERY_MS}
TOLERANCE = 0.15


def perf_001(tmp_path: Path, url: str, *extra: str) -> dict[str, Any]:
    runs = tmp_path / "runs"
    proc = conformance("run", "pole-records", "--target", url, "--only", "POLE-PERF-001", "--seed", "7",
                       "--runs-dir", str(runs), "--load-rate", "80", "--load-duration", "10", *extra, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    card = read_scorecard(only_run_dir(runs))
    row = next(r for r in card["requirements"] if r["id"] == "POLE-PERF-001")
    return row


def assert_canary(row: dict[str, Any]) -> None:
    m = row["measurements"]
    assert row["outcome"] == "pass", row  # 250/290 ms is inside the profile's 500/1000 ms service level
    assert m["schedule"]["dropped"] == 0 and m["schedule"]["scheduled"] == 800
    for name in ("GET /persons (search)", "GET /persons/{id}"):
        op = m["operations"][name]
        for key, expected in ANALYTIC.items():
            assert abs(op[key] - expected) <= TOLERANCE * expected, f"{name} {key}: {op[key]} vs {expected}"
    print("\ncanary (harness):", {n: {k: o[k] for k in ("count", "p50_ms", "p95_ms", "p99_ms")}
                                  for n, o in m["operations"].items()})


@pytest.mark.slow
def test_stall_canary_latency_within_15_percent_of_analytic(tmp_path: Path) -> None:
    with reference("stall", extra=["--stall-ms", str(STALL_MS), "--stall-every-ms", str(EVERY_MS)]) as url:
        assert_canary(perf_001(tmp_path, url))


@pytest.mark.slow
def test_stall_canary_on_two_locust_workers_merges_histograms(tmp_path: Path) -> None:
    with reference("stall", extra=["--stall-ms", str(STALL_MS), "--stall-every-ms", str(EVERY_MS)]) as url:
        row = perf_001(tmp_path, url, "--workers", "2")
    assert row["measurements"]["workers"] == 2
    assert [g["worker"] for g in sorted(row["measurements"]["generator"], key=lambda g: g["worker"])] == [0, 1]
    assert_canary(row)


@pytest.mark.slow
def test_a_generator_that_cannot_keep_its_schedule_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    with reference() as url:
        proc = conformance("run", "pole-records", "--target", url, "--only", "POLE-PERF-001", "--runs-dir",
                           str(tmp_path / "runs"), "--load-rate", "6000", "--load-duration", "2", timeout=300)
    card = read_scorecard(only_run_dir(tmp_path / "runs"))
    row = next(r for r in card["requirements"] if r["id"] == "POLE-PERF-001")
    assert row["outcome"] == "error", row["outcome"]
    assert "could not keep its schedule" in row["reason"]
    assert proc.returncode == 3 and card["verdict"] == "incomplete"


def encoded(values_ms: list[float]) -> str:
    hist = HdrHistogram(1, 120_000_000, 3)
    for value in values_ms:
        hist.record_value(int(value * 1000))
    return hist.encode().decode("ascii")


def results(latencies: list[float], errors: int = 0, writes_missing: int = 0) -> dict[str, Any]:
    slot = {"hdr": encoded(latencies), "count": len(latencies), "errors": errors, "statuses": {"200": len(latencies)},
            "error_samples": []}
    return {"operations": {"GET /x": slot}, "tasks": {"t": {**slot}}, "writes": [],
            "schedule": {"scheduled": len(latencies), "sent": len(latencies), "late": 0, "capped": 0, "dropped": 0,
                         "max_lateness_ms": 1.0, "lateness_hdr": encoded([0.5])}, "generator": [], "workers": 1}


def requirement(slo: dict[str, Any]) -> Requirement:
    return Requirement("P-1", "t", Level.MUST, "performance", 1.0, "r", CheckSpec(CheckKind.LOAD, {"slo": slo}))


def test_service_levels_are_judged_on_the_histograms() -> None:
    summary = summarise(results([10.0] * 90 + [900.0] * 10, errors=3), 10.0)
    assert summary["operations"]["GET /x"]["p95_ms"] == pytest.approx(900, rel=0.01)
    assert summary["error_rate"] == 0.03
    findings = LoadRunner._judge(requirement({"p95_ms": 500, "p50_ms": 50, "error_rate": 0.01}),
                                 {"p95_ms": 500, "p50_ms": 50, "error_rate": 0.01}, summary)
    codes = sorted(f.code or "" for f in findings)
    assert codes == ["slo_error_rate", "slo_p95"]
    assert "900" in next(f.message for f in findings if f.code == "slo_p95")
    assert LoadRunner._judge(requirement({"p95_ms": 1000}), {"p95_ms": 1000}, summary) == []


def test_lost_writes_are_a_failure_and_unreadable_ones_an_error() -> None:
    summary = summarise(results([5.0] * 10), 1.0)
    summary["writes"] = {"acknowledged": 10, "checked": 10, "missing": 2, "missing_examples": ["/persons/a"],
                         "unreadable": 0}
    (finding,) = LoadRunner._judge(requirement({"no_data_lost": True}), {"no_data_lost": True}, summary)
    assert finding.code == "data_lost" and finding.occurrences == 2
    summary["writes"] = {**summary["writes"], "missing": 0, "unreadable": 3}
    with pytest.raises(Exception, match="could not be read back"):
        LoadRunner._judge(requirement({"no_data_lost": True}), {"no_data_lost": True}, summary)


def test_schedule_problems_make_an_error() -> None:
    raw = results([5.0] * 100)
    summary = summarise(raw, 1.0)
    summary["sizing"] = {"workers": 0}
    assert LoadRunner._generator_problem(raw, summary) is None
    summary["schedule"] = {**summary["schedule"], "late": 2}  # two hiccups in 100: not the generator's figures
    assert LoadRunner._generator_problem(raw, summary) is None
    summary["schedule"] = {**summary["schedule"], "late": 3}
    assert "3 of 100 arrivals sent more than 10 ms late" in (LoadRunner._generator_problem(raw, summary) or "")
    summary["schedule"] = {**summary["schedule"], "late": 0, "dropped": 1}
    assert "dropped" in (LoadRunner._generator_problem(raw, summary) or "")
    assert json.dumps(summary)  # measurements are plain JSON


MACHINE_CHECK = """
import time
from loadtests.openmodel import machine_cpu, machine_shares
before = machine_cpu()
end = time.perf_counter() + 0.2
while time.perf_counter() < end:  # 200 ms of this process's own work: many clock ticks
    pass
after = machine_cpu()
assert before is not None and after is not None  # Linux: /proc/stat
assert all(0 <= part <= whole for part, whole in ((before[0], before[2]), (before[1], before[2]), (after[0], after[2])))
busy, steal = machine_shares(before, after)
cpus = __import__("os").cpu_count()
assert 0.9 / cpus <= busy + steal <= 1.0 and 0.0 <= steal <= 1.0, (busy, steal)  # at least this process's own CPU
assert machine_shares(None, after) is None and machine_shares((5, 0, 10), (5, 0, 10)) is None
assert machine_shares((5, 1, 10), (15, 3, 30)) == (0.5, 0.1)
print("ok")
"""


def test_a_late_schedule_says_whose_work_held_the_generator_back() -> None:
    from conformance.engine.processes import run_command
    from conformance.runners.load import lateness_cause

    def worker(cpu_s: float, busy: float | None, steal: float | None = 0.0) -> dict[str, Any]:
        return {"cpu_s": cpu_s, "wall_s": 5.0, "machine_cpus": 2, "machine_busy": busy, "machine_steal": steal}

    saturated = lateness_cause([worker(4.5, 0.99)])
    assert "used 90% of a CPU" in saturated and "add --workers" in saturated
    crowded = lateness_cause([worker(0.1, 0.97)])
    assert "used 2% of a CPU" in crowded and "96% busy" in crowded and "quieter machine" in crowded
    assert "add --workers" not in crowded
    # two workers at 70% of a CPU each keep a two-CPU machine 70% busy themselves: not other work's doing
    own_work = lateness_cause([worker(3.5, 0.75), worker(3.5, 0.75)])
    assert "quieter machine" not in own_work and "outside its own work" in own_work
    stolen = lateness_cause([worker(0.1, 0.3, steal=0.25)])
    assert "25%" in stolen and "steal" in stolen
    quiet = lateness_cause([worker(0.1, 0.2)])
    assert "19% busy" in quiet and "outside its own work" in quiet
    assert "unknown" in lateness_cause([])  # an old results file, or a generator that reported nothing
    assert "outside its own work" in lateness_cause([{"cpu_s": 0.1, "wall_s": 5.0}])  # a worker without the reading
    raw = {**results([5.0] * 100), "generator": [worker(0.1, 0.97)]}
    summary = summarise(raw, 1.0)
    summary["sizing"] = {"workers": 0}
    summary["schedule"] = {**summary["schedule"], "late": 5, "max_lateness_ms": 40.0}
    assert "it held the generator back" in (LoadRunner._generator_problem(raw, summary) or "")
    # the generator's reading of the machine (in a subprocess: loadtests/openmodel.py imports locust, which
    # monkey-patches the process it is imported in)
    proc = run_command([sys.executable, "-c", MACHINE_CHECK], timeout=60, cwd=Path(__file__).resolve().parents[2],
                       env={"CONFORMANCE_LOAD_CONFIG": ""})
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stderr


def test_late_arrivals_spoil_a_failure_but_not_a_pass_they_were_counted_in() -> None:
    raw = results([5.0] * 100)
    summary = summarise(raw, 1.0)
    summary["sizing"] = {"workers": 0}
    summary["schedule"] = {**summary["schedule"], "late": 4, "max_lateness_ms": 34.0}
    passed = LoadRunner._outcome(requirement({"p95_ms": 50}), {"p95_ms": 50}, raw, summary)
    assert passed.outcome is Outcome.PASS
    assert passed.reason.startswith("passed although 4 of 100 arrivals were sent late (at most 34 ms)")
    missed = LoadRunner._outcome(requirement({"p95_ms": 2}), {"p95_ms": 2}, raw, summary)
    assert missed.outcome is Outcome.ERROR and missed.reason.endswith("a generator this late may be why")
    summary["schedule"] = {**summary["schedule"], "max_lateness_ms": 250.0}  # long enough to hide a stall
    stalled = LoadRunner._outcome(requirement({"p95_ms": 50}), {"p95_ms": 50}, raw, summary)
    assert stalled.outcome is Outcome.ERROR and "could not keep its schedule" in stalled.reason
    summary["schedule"] = {**summary["schedule"], "late": 1}
    assert LoadRunner._outcome(requirement({"p95_ms": 2}), {"p95_ms": 2}, raw, summary).outcome is Outcome.FAIL


def test_availability_counts_seconds_bursts_and_outages() -> None:
    from conformance.runners.load import availability

    base = 1_800_000_000
    timeline = {str(base + s): counts for s, counts in {
        0: [10, 0, 0], 1: [9, 1, 0], 2: [0, 3, 4], 3: [10, 0, 0],  # a 2 s burst with a silence in it: an outage
        5: [10, 0, 0],  # second 4 had nothing due: not counted either way
        6: [8, 2, 0], 7: [10, 0, 0]}.items()}
    got = availability(timeline)
    assert (got["windows"], got["available"], got["availability"]) == (7, 4, round(4 / 7, 4))
    assert got["bursts"] == [{"start_s": 1, "length_s": 2, "wrong": 4, "no_answer": 4, "ok": 9},
                             {"start_s": 6, "length_s": 1, "wrong": 2, "no_answer": 0, "ok": 8}]
    assert (got["longest_burst_s"], got["outages"], got["burst_count"]) == (2, 1, 2)
    summary = {"availability": got}
    findings = LoadRunner._judge_availability("P-1", {"min_availability": 0.9, "max_burst_s": 1, "max_outages": 0},
                                              summary["availability"])
    assert sorted(f.code or "" for f in findings) == ["slo_availability", "slo_burst", "slo_outage"]
    assert "in 4 of 7 seconds" in findings[0].message and "at 1 s for 2 s" in findings[0].message
    assert LoadRunner._judge_availability("P-1", {"min_availability": 0.5, "max_burst_s": 2, "max_outages": 1},
                                          got) == []
    with pytest.raises(Exception, match="availability was not measured"):
        LoadRunner._judge_availability("P-1", {"min_availability": 0.5}, availability({}))


@pytest.mark.slow
def test_a_supplier_restarted_during_the_soak_shows_as_an_outage(tmp_path: Path) -> None:
    """The soak requirement against a reference that is really killed part-way and started again on the same
    port and database: the seconds it was gone are unavailable, and the outage (no answer at all) is counted."""
    import socket
    import subprocess
    import sys
    import time

    from conformance.engine.processes import launched, spawned
    from fixtures.kit.launch import reference_command

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [arg if arg != "0" else str(port) for arg in reference_command("pole-records")]
    command += ["--db", str(tmp_path / "records.sqlite")]
    runs = tmp_path / "runs"
    first = launched(command, log_path=tmp_path / "reference-1.log")
    url = first.__enter__()
    with spawned([sys.executable, "-m", "conformance", "run", "pole-records", "--target", url, "--only",
                  "POLE-PERF-004", "--seed", "7", "--runs-dir", runs, "--load-duration", "14"],
                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT) as run:
        deadline = time.monotonic() + 120
        while not list(runs.glob("*/load/POLE-PERF-004/config.json")):  # the load is about to start
            assert time.monotonic() < deadline and run.poll() is None, run.stdout.read() if run.stdout else ""
            time.sleep(0.1)
        time.sleep(6)  # locust is up and the arrivals have been running a few seconds
        first.__exit__(None, None, None)  # SIGTERM: it goes away, connections are refused
        time.sleep(1.5)
        with launched(command, log_path=tmp_path / "reference-2.log"):
            output, _ = run.communicate(timeout=240)
    row = next(r for r in read_scorecard(only_run_dir(runs))["requirements"] if r["id"] == "POLE-PERF-004")
    avail = row["measurements"]["availability"]
    assert row["outcome"] == "fail", (row["outcome"], row.get("reason"), output[-2000:])
    assert avail["outages"] >= 1 and avail["availability"] < 0.95
    assert any(b["no_answer"] > 0 and b["length_s"] >= 1 for b in avail["bursts"])
    assert "slo_outage" in {f["code"] for f in row["findings"]}
    # the supplier came back: the last seconds of the soak were available again
    assert avail["bursts"][-1]["start_s"] + avail["bursts"][-1]["length_s"] < avail["windows"]


@pytest.mark.slow
def test_a_worker_started_elsewhere_joins_the_master_and_its_share_is_merged(tmp_path: Path) -> None:
    """`--remote-workers 1`: the run prints the worker command and waits; the test plays the other machine and
    starts that worker itself (same config, credentials in the environment); the merged result counts it."""
    import socket
    import subprocess
    import sys
    import time

    from conformance.engine.processes import ProcessGroup

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    runs = tmp_path / "runs"
    with reference() as url, ProcessGroup() as processes:
        run = processes.spawn([sys.executable, "-m", "conformance", "run", "pole-records", "--target", url,
                               "--only", "POLE-PERF-001", "--seed", "7", "--runs-dir", runs, "--load-rate", "20",
                               "--load-duration", "4", "--workers", "1", "--remote-workers", "1",
                               "--master-bind", f"127.0.0.1:{port}"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while not (found := list(runs.glob("*/load/POLE-PERF-001/remote-worker.txt"))):
            assert time.monotonic() < deadline and run.poll() is None
            time.sleep(0.1)
        folder = found[0].parent
        printed = found[0].read_text()
        assert f"--master-host 127.0.0.1 --master-port {port}" in printed and "CONFORMANCE_LOAD_HEADERS" in printed
        copy = tmp_path / "worker-config.json"
        copy.write_text((folder / "config.json").read_text())
        processes.spawn(
            [sys.executable, "-m", "locust", "-f", Path("loadtests/pole_records.py"), "PoleRecordsUser",
             "--worker", "--master-host", "127.0.0.1", "--master-port", str(port), "--skip-log-setup"],
            env={"CONFORMANCE_LOAD_CONFIG": copy, "CONFORMANCE_LOAD_HEADERS": "{}"},
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        output, _ = run.communicate(timeout=240)
    row = next(r for r in read_scorecard(only_run_dir(runs))["requirements"] if r["id"] == "POLE-PERF-001")
    assert row["outcome"] == "pass", (row.get("reason"), output[-1500:])
    m = row["measurements"]
    assert m["workers"] == 2 and m["sizing"]["remote_workers"] == 1
    assert sorted(g["worker"] for g in m["generator"]) == [0, 1]
    assert m["schedule"]["scheduled"] == 80  # 20/s for 4 s, split between the local and the remote worker


def _row(tmp_path: Path, url: str, rid: str, *extra: str) -> dict[str, Any]:
    runs = tmp_path / "runs"
    proc = conformance("run", "pole-records", "--target", url, "--only", rid, "--seed", "7", "--runs-dir", str(runs),
                       *extra, timeout=300)
    assert "Traceback" not in proc.stderr, proc.stderr
    return next(r for r in read_scorecard(only_run_dir(runs))["requirements"] if r["id"] == rid)


def test_a_wrong_answer_under_load_is_an_error_of_its_operation(tmp_path: Path) -> None:
    """`broken-link` answers every create with an id the record is not stored under: the searches for the people
    the load seeded answer 200, but never list the id the supplier gave. That answer is wrong, so it is an error
    of the search (it used to be a sample only, with `errors: 0`)."""
    with reference("broken-link") as url:
        row = _row(tmp_path, url, "POLE-PERF-001", "--load-rate", "20", "--load-duration", "3")
    search = row["measurements"]["operations"]["GET /persons (search)"]
    assert search["count"] > 0 and search["errors"] == search["count"], search
    assert search["statuses"] == {"wrong-answer": search["count"]}
    assert "did not list" in search["error_samples"][0]
    assert row["outcome"] == "fail" or "late" in row["reason"], row["reason"]


def test_a_closed_load_on_two_workers_holds_its_users_in_flight(tmp_path: Path) -> None:
    with reference() as url:
        row = _row(tmp_path, url, "POLE-PERF-006", "--load-concurrency", "8", "--load-duration", "2",
                   "--workers", "2")
    reached = row["measurements"]["concurrency"]
    assert row["outcome"] == "pass", row["reason"]
    assert (reached["users"], sorted(reached["worker_peaks"]), reached["peak_in_flight"]) == (8, [4, 4], 8)
    assert 4 <= reached["mean_in_flight"] <= 8  # Little's law over the load: the users were busy most of it
    assert row["measurements"]["sizing"]["concurrency"] == 8


HISTOGRAM_CHECK = """
import random
from hdrh.histogram import HdrHistogram
from loadtests.openmodel import HIGHEST_US, Histogram, histogram
rng = random.Random(5)
for _ in range(5):
    fast, ref = Histogram(), histogram()
    for _ in range(5000):
        value = max(1, min(int(rng.lognormvariate(8, 3)), HIGHEST_US))
        fast.record_value(value)
        ref.record_value(value)
    assert fast.encode() == ref.encode()
    assert HdrHistogram.decode(fast.encode()).get_value_at_percentile(99) == ref.get_value_at_percentile(99)
print("same")
"""


def test_the_generators_histogram_encodes_exactly_what_hdrhistogram_would() -> None:
    """loadtests/openmodel.py counts latencies by bucket in a dict (cheaper per request); encoded, it must be the
    very HdrHistogram that recording each value would give. In a subprocess: the module imports locust."""
    from conformance.engine.processes import run_command

    proc = run_command([sys.executable, "-c", HISTOGRAM_CHECK], timeout=60, cwd=Path(__file__).resolve().parents[2],
                       env={"CONFORMANCE_LOAD_CONFIG": ""})
    assert proc.returncode == 0 and proc.stdout.strip() == "same", proc.stderr


TRANSPORT_CHECK = """
import time
import gevent
from gevent.server import StreamServer
from loadtests.transport import BoundExceeded, Transport

seen = []

def serve(sock, _):
    data = b""
    while b"\\r\\n\\r\\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return
        data += chunk
    path = data.split(b" ")[1].decode()
    seen.append(path)
    if path.endswith("/slow-head"):  # the status line a byte every 0.2 s
        for byte in b"HTTP/1.1 200 OK\\r\\nContent-Length: 0\\r\\n\\r\\n":
            sock.sendall(bytes([byte]))
            gevent.sleep(0.2)
    elif path.endswith("/trickle"):  # headers at once, then the body a byte every 0.2 s
        sock.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 100\\r\\n\\r\\n")
        for _ in range(100):
            sock.sendall(b"x")
            gevent.sleep(0.2)
    elif path.endswith("/moved"):
        sock.sendall(b"HTTP/1.1 302 Found\\r\\nLocation: http://elsewhere.invalid/\\r\\nContent-Length: 0\\r\\n\\r\\n")
    else:
        sock.sendall(b'HTTP/1.1 200 OK\\r\\nContent-Length: 8\\r\\n\\r\\n{"a": 1}')
    sock.close()

server = StreamServer(("127.0.0.1", 0), serve)
server.start()
transport = Transport(f"http://127.0.0.1:{server.server_port}/api/", concurrency=1, timeout_s=1.0, headers={})
for slow in ("/trickle", "/slow-head"):
    started = time.monotonic()
    try:
        transport.send("GET", slow)
        raise SystemExit(f"{slow} was read past the timeout")
    except BoundExceeded as exc:
        took = time.monotonic() - started
        assert 0.9 < took < 2.0 and "within 1 s" in str(exc), (slow, took, exc)
    status, headers, body = transport.send("GET", "/ok")  # the pool's only slot was freed, its connection not reused
    assert (status, bytes(body)) == (200, b'{"a": 1}'), (status, body)
status, headers, body = transport.send("GET", "/moved")
assert status == 302 and headers.get("location") == "http://elsewhere.invalid/", status  # not followed
try:
    transport.send("GET", "http://elsewhere.invalid/x")
    raise SystemExit("an absolute URL was sent")
except ValueError:
    pass
assert seen == ["/api/trickle", "/api/ok", "/api/slow-head", "/api/ok", "/api/moved"], seen
print("bounded")
"""


def test_the_generators_transport_bounds_a_trickle_and_follows_no_redirect() -> None:
    """loadtests/transport.py sends the generator's requests (geventhttpclient, not locust's FastHttpSession): a
    body trickled after its headers, or a status line trickled a byte at a time, is cut at the timeout and its
    connection freed (a pool of one still answers the next request), a redirect is an answer of its own, requests
    stay under the base URL's path and an absolute URL is refused unsent. In a subprocess: gevent."""
    from conformance.engine.processes import run_command

    proc = run_command([sys.executable, "-c", TRANSPORT_CHECK], timeout=60, cwd=Path(__file__).resolve().parents[2],
                       env={})
    assert proc.returncode == 0 and proc.stdout.strip() == "bounded", proc.stdout + proc.stderr
