"""How many requests per second the harness's open-model load generator sends on schedule from one core.

What is measured
    The generator of the harness's load checks (loadtests/openmodel.py: arrivals on a fixed Poisson schedule
    that never waits for answers, one process, gevent) against a TRIVIAL endpoint on 127.0.0.1: a raw asyncio
    server, started here in a subprocess, that answers every request `200 "ok"` (a JSON string, so the
    generator's JSON parsing succeeds) without looking at it. A small locustfile in a temporary directory
    defines an OpenModelUser subclass whose single task is one `GET /`; the config JSON
    ($CONFORMANCE_LOAD_CONFIG) is the harness's, one run per rate: the --rates given (default 500, 1000,
    1500, 2000, 3000, 4000 arrivals/s, 5 s each), then the rates of the search below.

    For each rate: arrivals scheduled, sent, the share sent more than 10 ms late, dropped (more than 1 s
    late), held back by the in-flight cap, errors, the generator's CPU seconds / wall seconds (its own
    getrusage over its whole run, 0.5 s lead-in and the final wait for answers included, so it understates
    how busy it was during the schedule), requests sent per generator CPU second, and the server's CPU
    seconds / wall seconds (from /proc, over the locust process's life). "Kept" is the harness's own test
    (conformance/runners/load.py): at most 1% sent late and nothing dropped or capped. One generator process
    uses at most one core, so the highest rate it keeps is also its requests per second per core.

    One worker's limit is searched for, not assumed: after the --rates given, the rate goes up x2 a step
    from the highest kept until one is missed, then bisects between the highest kept and the lowest missed
    above it until they are within --precision (5%) of each other (at most 12 more runs; --no-search: the
    --rates only). Both ends of that bracket are printed: on a busy machine lateness is noisy, and a single
    figure would hide it.

    Beside it, on the same endpoint: plain locust (FastHttpUser, closed model, no wait time, 20 users, one
    process) req/s from its own JSON statistics, and `wrk -t1 -c20 -d5s` req/s when wrk is on PATH (it is
    installed with apt-get when missing; skipped with a note when that fails). wrk is far faster than any
    Python generator, so its figure is close to the server's ceiling: when wrk's req/s is well above the
    harness's, the generator, not the server, is what limited the harness.

    Per CPU second: the requests the harness's generator sent per second of its own CPU at the highest rate it
    kept, against plain locust's requests per second of its CPU (both from getrusage inside the process, over
    the test only: imports and start-up left out), with the goal of issue #14 (at least 0.9x: the open model
    pays for honest latency, from each due time, with little more CPU than a closed model that hides stalls).

    Scale-out (--workers 1,2): for each K > 1, a locust master and K local workers share the schedule (as
    `conformance run --workers K`), first at K x one worker's highest rate kept, then in 10% steps up while
    they keep it (at most three) or down until they do. The highest rate K workers kept (and the lowest they
    missed above it) is printed against one worker's (goal: at least 0.8 K x on K free cores). On a machine
    with K cores the server, the master and anything else running share them with the workers, so the figure
    is then a lower bound of what K free cores give.

Nothing here asserts on timing: it prints figures. Every subprocess is bounded by a timeout and killed on
exit; everything written goes to one temporary directory, removed at the end. The machine should otherwise
be idle: the generator and the server share its cores.

Run it from the repository root:

    .venv/bin/python benchmarks/load_capacity.py [--rates 500,1000,1500,2000,3000,4000] [--duration 5]
        [--workers 1,2] [--no-search] [--precision 0.05] [--no-wrk]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from conformance.engine.processes import ProcessGroup, spawned

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_RATES = (500, 1000, 1500, 2000, 3000, 4000)
DEFAULT_DURATION_S = 5.0
LATE_SHARE_LIMIT = 0.01  # the harness's: conformance/runners/load.py LATE_SHARE_LIMIT
MAX_IN_FLIGHT = 500  # the harness's default max_in_flight
TIMEOUT_S = 10.0
CLOSED_USERS = 20
STARTUP_TIMEOUT_S = 20.0
SLACK_S = 60.0  # on top of a run's own length: interpreter start, imports, the generator's final join
_URL = re.compile(r"listening on (http://\S+)")
_WRK_RPS = re.compile(r"Requests/sec:\s+([0-9.]+)")

SERVER = '''\
"""Answers every HTTP/1.1 request on a kept-alive connection with 200 "ok", without parsing it."""
import asyncio

RESPONSE = b'HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: 4\\r\\n\\r\\n"ok"'


class Answer(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buffer = b""

    def data_received(self, data):
        buffer = self.buffer + data
        complete = buffer.count(b"\\r\\n\\r\\n")  # GETs without a body: one request per blank line
        if complete:
            self.transport.write(RESPONSE * complete)
            buffer = buffer[buffer.rfind(b"\\r\\n\\r\\n") + 4:]
        self.buffer = buffer


async def main():
    server = await asyncio.get_running_loop().create_server(Answer, "127.0.0.1", 0, backlog=2048)
    print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    await server.serve_forever()


asyncio.run(main())
'''

OPEN_LOCUSTFILE = '''\
from typing import ClassVar

from loadtests.openmodel import OpenModelUser, TaskFn


def get(user, step, rng):
    step.request("GET", "/", "GET /")


class TrivialUser(OpenModelUser):
    mix_tasks: ClassVar[dict[str, TaskFn]] = {"get": get}
'''

CLOSED_LOCUSTFILE = '''\
import json
import resource
import time

from locust import FastHttpUser, constant, events, task

_cpu = {}


def _now():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime, time.perf_counter()


@events.test_start.add_listener
def _start(**_):
    _cpu["start"] = _now()


@events.test_stop.add_listener
def _stop(**_):  # the CPU of the test itself, start-up and imports left out (as the harness's generator counts)
    cpu0, wall0 = _cpu["start"]
    cpu1, wall1 = _now()
    with open("cpu.json", "w") as fh:
        json.dump({"cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0}, fh)


class PlainUser(FastHttpUser):
    wait_time = constant(0)

    @task
    def get(self):
        self.client.get("/", name="GET /")
'''


class BenchmarkError(Exception):
    """A side could not run or its output could not be read."""


@dataclass(frozen=True)
class RateRun:
    rate: float
    scheduled: int
    sent: int
    late: int
    dropped: int
    capped: int
    errors: int
    max_lateness_ms: float
    cpu_s: float
    wall_s: float
    server_cpu_share: float | None
    workers: int = 1

    @property
    def late_share(self) -> float:
        return self.late / self.scheduled if self.scheduled else 0.0

    @property
    def kept_schedule(self) -> bool:
        return self.scheduled > 0 and self.late_share <= LATE_SHARE_LIMIT and not self.dropped and not self.capped

    @property
    def cpu_share(self) -> float:
        return self.cpu_s / self.wall_s if self.wall_s else 0.0


# --- processes -----------------------------------------------------------------------------------------------
STOP_GRACE_S = 10.0


def run_bounded(command: Sequence[str], *, timeout: float, cwd: Path, env: dict[str, str] | None = None,
                what: str) -> tuple[int, str]:
    """Run `command` in its own process group; its exit code and output. Stopped on timeout or interrupt
    (SIGINT to its group: locust and the harness stop cleanly on it; SIGKILL after 10 s)."""
    try:
        with spawned(command, cwd=cwd, env=env or {}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                     stop_signal=signal.SIGINT, grace_s=STOP_GRACE_S) as proc:
            output, _ = proc.communicate(timeout=timeout)
    except OSError as exc:
        raise BenchmarkError(f"{what}: could not start {command[0]}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkError(f"{what}: did not finish within {timeout:.0f} s") from exc
    return proc.returncode, output


@contextmanager
def trivial_server(work: Path) -> Iterator[tuple[str, int]]:
    """The trivial server in a subprocess; yields its base URL and pid; killed on exit."""
    script = work / "trivial_server.py"
    script.write_text(SERVER, encoding="utf-8")
    with spawned([sys.executable, script], cwd=work, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                 stop_signal=signal.SIGINT, grace_s=STOP_GRACE_S) as proc:
        assert proc.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(proc.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        line = ""
        while not line and time.monotonic() < deadline and proc.poll() is None:
            if selector.select(timeout=0.2):
                line = proc.stdout.readline()
        selector.close()
        match = _URL.search(line)
        if not match:
            raise BenchmarkError(f"the trivial server did not announce its URL within {STARTUP_TIMEOUT_S:.0f} s "
                                 f"(exit {proc.poll()}): {line.strip()}")
        yield match.group(1), proc.pid


def _process_cpu_s(pid: int) -> float | None:
    """utime + stime of a running process, from /proc (Linux); None where that cannot be read."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _child_env(work: Path) -> dict[str, str]:
    return {"PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": str(work)}


# --- the harness's generator -----------------------------------------------------------------------------------
def run_open_model(url: str, server_pid: int, rate: float, duration: float, seed: int, work: Path,
                   workers: int = 1) -> RateRun:
    """One run of the harness's generator at `rate`: one process (workers=1), or a locust master and `workers`
    worker processes on this machine sharing the schedule, as `conformance run --workers K` runs them."""
    folder = work / f"open-{rate:g}-{workers}w"
    folder.mkdir()
    locustfile = folder / "trivial_open.py"
    locustfile.write_text(OPEN_LOCUSTFILE, encoding="utf-8")
    out = folder / "results.json"
    config = {"rate": rate, "duration_s": duration, "max_in_flight": MAX_IN_FLIGHT, "timeout_s": TIMEOUT_S,
              "seed": seed, "mix": {"get": 1}, "arrivals": "poisson", "out": str(out), "workers": workers}
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    env = {**_child_env(work), "CONFORMANCE_LOAD_CONFIG": str(folder / "config.json"),
           "CONFORMANCE_LOAD_HEADERS": "{}",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    run_time = int(duration + 3 * TIMEOUT_S + 30)  # as the harness gives it; the scenario quits when done
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "TrivialUser", "--headless", "-u", "1",
               "-r", "1", "--run-time", f"{run_time}s", "--host", url, "--only-summary", "--skip-log-setup",
               "--exit-code-on-error", "0"]
    server_cpu0, wall0 = _process_cpu_s(server_pid), time.perf_counter()
    if workers == 1:
        code, output = run_bounded(command, timeout=run_time + SLACK_S, cwd=folder, env=env,
                                   what=f"open model at {rate:g}/s")
    else:
        code, output = _run_distributed(command, locustfile, workers, timeout=run_time + SLACK_S, cwd=folder,
                                        env=env, what=f"open model at {rate:g}/s on {workers} workers")
    server_cpu1, wall = _process_cpu_s(server_pid), time.perf_counter() - wall0
    if not out.exists():
        tail = "\n".join(output.strip().splitlines()[-10:])
        raise BenchmarkError(f"open model at {rate:g}/s wrote no results (exit {code}):\n{tail}")
    results = json.loads(out.read_text(encoding="utf-8"))
    if results.get("setup_errors"):
        raise BenchmarkError(f"open model at {rate:g}/s: setup failed: {results['setup_errors'][0]}")
    sched = results["schedule"]
    if results.get("workers") != workers:
        raise BenchmarkError(f"open model at {rate:g}/s: {results.get('workers')} of {workers} workers reported")
    generators = results["generator"]
    server_share = None
    if server_cpu0 is not None and server_cpu1 is not None:
        # over the locust process's whole life (start-up included), so a lower bound during the schedule
        server_share = (server_cpu1 - server_cpu0) / wall
    return RateRun(rate=rate, scheduled=sched["scheduled"], sent=sched["sent"], late=sched["late"],
                   dropped=sched["dropped"], capped=sched["capped"],
                   errors=sum(op["errors"] for op in results["operations"].values()),
                   max_lateness_ms=float(sched["max_lateness_ms"]),
                   cpu_s=sum(float(g["cpu_s"]) for g in generators),
                   wall_s=max(float(g["wall_s"]) for g in generators), server_cpu_share=server_share,
                   workers=workers)


def _run_distributed(command: list[str], locustfile: Path, workers: int, *, timeout: float, cwd: Path,
                     env: dict[str, str], what: str) -> tuple[int, str]:
    """A locust master (`command` plus --master) and `workers` local workers, as conformance/runners/load.py
    starts them; the master's exit code and the group's output."""
    port = _free_port()
    master = [*command[:command.index("-u")], "-u", str(workers), "-r", str(workers),
              *command[command.index("-u") + 4:], "--master", "--master-bind-host", "127.0.0.1",
              "--master-bind-port", str(port), "--expect-workers", str(workers), "--expect-workers-max-wait", "60"]
    log = cwd / "locust.log"
    deadline = time.monotonic() + timeout
    with ProcessGroup(stop_signal=signal.SIGINT, grace_s=STOP_GRACE_S) as group:
        proc = group.spawn(master, cwd=cwd, env=env, log_path=log)
        for _ in range(workers):
            group.spawn([sys.executable, "-m", "locust", "-f", str(locustfile), "TrivialUser", "--worker",
                         "--master-host",
                         "127.0.0.1", "--master-port", str(port), "--skip-log-setup"], cwd=cwd, env=env,
                        log_path=log)
        while proc.poll() is None:
            if time.monotonic() > deadline:
                raise BenchmarkError(f"{what}: did not finish within {timeout:.0f} s")
            time.sleep(0.2)
    return proc.returncode, log.read_text(encoding="utf-8", errors="replace")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- one worker's limit, and K workers around K x it ---------------------------------------------------------
MAX_SEARCH_RUNS = 12
SCALE_STEP = 0.1  # K workers are tried at K x one worker's limit, then 10% up or down from there


def highest_kept(runs: list[RateRun], workers: int) -> float:
    return max((r.rate for r in runs if r.workers == workers and r.kept_schedule), default=0.0)


def _round_rate(rate: float) -> float:
    return float(max(50, round(rate / 50) * 50))


def find_limit(attempt: Callable[[float, int], RateRun], runs: list[RateRun], precision: float) -> None:
    """One worker's highest on-schedule rate: up from the highest rate kept (x2 a step) until one is missed,
    then bisection between the highest kept and the lowest missed above it, until they are within `precision`
    of each other (at most MAX_SEARCH_RUNS runs). On a busy machine lateness is noisy, so the bracket is what is
    reported, not a single figure."""
    for _ in range(MAX_SEARCH_RUNS):
        low = highest_kept(runs, 1)
        missed = [r.rate for r in runs if r.workers == 1 and not r.kept_schedule and r.rate > low]
        high = min(missed, default=None)
        if not low and high is not None:
            rate = _round_rate(high / 2)  # nothing kept yet: halve the lowest rate tried
            if rate >= high or any(r.rate == rate for r in runs if r.workers == 1):
                return
        elif high is None:
            rate = _round_rate(low * 2)
        elif (high - low) / low <= precision:
            return
        else:
            rate = _round_rate((low + high) / 2)
            if rate in (low, high):
                return
        attempt(rate, 1)


def scale_out(attempt: Callable[[float, int], RateRun], workers: int, one: float) -> None:
    """K workers at K x one worker's limit; then 10% steps up while they keep the schedule (at most three), or
    down until they do (to half of it)."""
    rate = workers * one
    if attempt(rate, workers).kept_schedule:
        for step in range(1, 4):
            if not attempt(_round_rate(workers * one * (1 + SCALE_STEP * step)), workers).kept_schedule:
                return
    else:
        for step in range(1, 6):
            if attempt(_round_rate(workers * one * (1 - SCALE_STEP * step)), workers).kept_schedule:
                return


# --- plain locust and wrk --------------------------------------------------------------------------------------
def run_plain_locust(url: str, duration: float, work: Path) -> tuple[float, int, float, float]:
    """Plain locust, closed model, no wait: (req/s, requests, CPU seconds per wall second, CPU seconds)."""
    folder = work / "plain-locust"
    folder.mkdir()
    locustfile = folder / "trivial_closed.py"
    locustfile.write_text(CLOSED_LOCUSTFILE, encoding="utf-8")
    command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(CLOSED_USERS),
               "-r", str(CLOSED_USERS), "--run-time", f"{duration:g}s", "--host", url, "--json-file",
               str(folder / "stats"), "--only-summary", "--skip-log-setup"]
    cpu0, wall0 = _children_cpu_s(), time.perf_counter()
    code, output = run_bounded(command, timeout=duration + SLACK_S, cwd=folder, env=_child_env(work),
                               what="plain locust")
    cpu, wall = _children_cpu_s() - cpu0, time.perf_counter() - wall0
    try:
        own = json.loads((folder / "cpu.json").read_text(encoding="utf-8"))
        cpu, wall = float(own["cpu_s"]), float(own["wall_s"])  # the test's own, imports and start-up left out
    except (OSError, ValueError, KeyError, TypeError):
        pass  # the whole process's: start-up included, so its requests per CPU second are understated
    try:
        entries = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
        entry = next(e for e in entries if e.get("name") == "GET /")
        span = float(entry["last_request_timestamp"]) - float(entry["start_time"])
        requests = int(entry["num_requests"])
    except (OSError, ValueError, KeyError, TypeError, StopIteration) as exc:
        tail = "\n".join(output.strip().splitlines()[-10:])
        raise BenchmarkError(f"plain locust (exit {code}): no statistics for GET /: {exc}\n{tail}") from exc
    return (requests / span if span > 0 else 0.0), requests, cpu / wall, cpu


def ensure_wrk() -> str | None:
    """wrk's path; installs the Debian package when it is missing (root only); None when that fails."""
    found = shutil.which("wrk")
    if found:
        return found
    if shutil.which("apt-get") and os.geteuid() == 0:
        print("wrk is not on PATH; installing it with apt-get ...", file=sys.stderr, flush=True)
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], capture_output=True, timeout=180,
                           check=False, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    return shutil.which("wrk")


def run_wrk(wrk: str, url: str, duration: float, work: Path) -> tuple[float, float]:
    """`wrk -t1 -c20 -dNs`: (req/s, CPU seconds per wall second)."""
    cpu0, wall0 = _children_cpu_s(), time.perf_counter()
    code, output = run_bounded([wrk, "-t1", "-c20", f"-d{max(1, round(duration))}s", f"{url}/"],
                               timeout=duration + 30, cwd=work, what="wrk")
    cpu, wall = _children_cpu_s() - cpu0, time.perf_counter() - wall0
    match = _WRK_RPS.search(output)
    if code != 0 or not match:
        raise BenchmarkError(f"wrk exit {code}: {output.strip()[-500:]}")
    return float(match.group(1)), cpu / wall


# --- report ----------------------------------------------------------------------------------------------------
def _load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def report(all_runs: list[RateRun], plain: tuple[float, int, float, float] | None, wrk: tuple[float, float] | None,
           wrk_note: str | None, duration: float, load_before: str) -> None:
    runs = sorted((r for r in all_runs if r.workers == 1), key=lambda r: r.rate)
    print(f"open-model generator capacity: loadtests/openmodel.py, 1 process, Poisson arrivals, {duration:g} s per "
          f"rate, max_in_flight {MAX_IN_FLIGHT}, trivial asyncio server on 127.0.0.1 ({os.cpu_count()} cores)")
    print(f"machine load average before: {load_before}, after: {_load_average()}")
    print()
    header = (f"{'rate/s':>7} {'scheduled':>9} {'sent':>7} {'late%':>7} {'dropped':>7} {'capped':>6} "
              f"{'errors':>6} {'max late ms':>11} {'gen cpu/wall':>12} {'req/cpu-s':>9} {'srv cpu/wall':>12}  kept")
    print(header)
    print("-" * len(header))
    for r in runs:
        per_cpu = r.sent / r.cpu_s if r.cpu_s else 0.0
        server = "-" if r.server_cpu_share is None else f"{r.server_cpu_share:.2f}"
        print(f"{r.rate:>7g} {r.scheduled:>9} {r.sent:>7} {r.late_share:>7.2%} {r.dropped:>7} {r.capped:>6} "
              f"{r.errors:>6} {r.max_lateness_ms:>11.1f} {r.cpu_share:>12.2f} {per_cpu:>9.0f} {server:>12}  "
              f"{'yes' if r.kept_schedule else 'NO'}")
    print("-" * len(header))
    kept = [r for r in runs if r.kept_schedule]
    sustained = max((r.rate for r in kept), default=0.0)
    print()
    if sustained:
        best = next(r for r in kept if r.rate == sustained)
        above = min((r.rate for r in runs if not r.kept_schedule and r.rate > sustained), default=None)
        bracket = (f"; the lowest rate missed above it: {above:g}/s" if above is not None
                   else "; no higher rate was tried (a lower bound)")
        print(f"harness sustained: {sustained:g} req/s on schedule from one process (<= 1 core; generator CPU "
              f"{best.cpu_share:.2f} s per wall s at that rate){bracket}")
    else:
        print("harness sustained: none of the rates tried kept the schedule (<= 1% late, nothing dropped/capped)")
    missed = [r for r in runs if not r.kept_schedule and r.rate < sustained]
    if missed:
        steady = max((r.rate for r in runs if r.rate < min(m.rate for m in missed)), default=0.0)
        print(f"  not monotonic: {', '.join(f'{m.rate:g}/s ({m.late_share:.2%} late)' for m in missed)} missed "
              f"below it; every rate up to {steady:g}/s kept it (a shared or busy machine makes lateness noisy)")
    limiter = _limiter(runs, wrk, sustained)
    print(f"what limited the harness: {limiter}")
    print()
    if plain:
        print(f"plain locust (FastHttpUser, closed, no wait, {CLOSED_USERS} users, 1 process): {plain[0]:.0f} req/s "
              f"({plain[1]} requests; locust CPU {plain[2]:.2f} s per wall s)")
    if wrk:
        print(f"wrk -t1 -c20 -d{max(1, round(duration))}s: {wrk[0]:.0f} req/s (wrk CPU {wrk[1]:.2f} s per wall s)")
    elif wrk_note:
        print(f"wrk: skipped ({wrk_note})")
    print()
    if sustained and plain and plain[0]:
        print(f"harness sustained / plain locust = {sustained / plain[0]:.2f}")
    measured = [r for r in runs if r.cpu_s > 0 and r.sent]
    if measured and plain and plain[3]:
        # at the highest rate kept; when none was kept (a busy machine starves the generator), the cheapest run
        best = (next(r for r in kept if r.rate == sustained) if sustained
                else max(measured, key=lambda r: r.sent / r.cpu_s))
        where = f"at {best.rate:g}/s, " + ("the highest rate kept" if sustained else "no rate kept: its cheapest run")
        harness_per_cpu, plain_per_cpu = best.sent / best.cpu_s, plain[1] / plain[3]
        print(f"requests per CPU second: harness {harness_per_cpu:.0f} ({where}; latency from each due time), "
              f"plain locust {plain_per_cpu:.0f} (closed, latency from the send): "
              f"{harness_per_cpu / plain_per_cpu:.2f}x (goal >= 0.9x)")
    _report_scale_out(all_runs, sustained)
    if sustained and wrk and wrk[0]:
        print(f"harness sustained / wrk          = {sustained / wrk[0]:.3f}")
    if plain and wrk and wrk[0]:
        print(f"plain locust / wrk               = {plain[0] / wrk[0]:.3f}")


def _report_scale_out(all_runs: list[RateRun], one: float) -> None:
    """K workers on this machine: the highest rate each K kept, against K times one worker's."""
    counts = sorted({r.workers for r in all_runs if r.workers > 1})
    if not counts:
        return
    print()
    print(f"{'workers':>7} {'rate/s':>7} {'late%':>7} {'dropped':>7} {'gen cpu/wall':>12} {'req/cpu-s':>9}  kept")
    for r in sorted((r for r in all_runs if r.workers > 1), key=lambda r: (r.workers, r.rate)):
        per_cpu = r.sent / r.cpu_s if r.cpu_s else 0.0
        print(f"{r.workers:>7} {r.rate:>7g} {r.late_share:>7.2%} {r.dropped:>7} {r.cpu_share:>12.2f} {per_cpu:>9.0f}  "
              f"{'yes' if r.kept_schedule else 'NO'}")
    for k in counts:
        of_k = [r for r in all_runs if r.workers == k]
        sustained_k = max((r.rate for r in of_k if r.kept_schedule), default=0.0)
        ratio = f"{sustained_k / one:.2f}x one worker's {one:g}/s (goal >= {0.8 * k:.1f}x)" if one else \
            "one worker kept none"
        above = min((r.rate for r in of_k if not r.kept_schedule and r.rate > sustained_k), default=None)
        bracket = f", missed {above:g}/s" if above is not None else ", no higher rate tried (a lower bound)"
        if not sustained_k:
            bracket = (f": none of the rates tried ({min(r.rate for r in of_k):g}/s to {max(r.rate for r in of_k):g}/s)"
                       " kept the schedule")
        print(f"scale-out: {k} workers sustained {sustained_k:g} req/s on schedule{bracket} = {ratio}; "
              f"{os.cpu_count()} cores, shared with the server, the master and whatever else runs")


def _limiter(runs: list[RateRun], wrk: tuple[float, float] | None, sustained: float) -> str:
    failed = [r for r in runs if not r.kept_schedule and r.rate > sustained]
    if not failed:
        return "nothing up to the highest rate tried; try higher --rates"
    first = min(failed, key=lambda r: r.rate)
    server = first.server_cpu_share
    if server is not None and server >= 0.9:
        return f"the server (its CPU {server:.2f} s per wall s at {first.rate:g}/s)"
    behind = f"at {first.rate:g}/s the generator used {first.cpu_share:.2f} CPU s per wall s"
    if server is not None:
        behind += f" while the server used {server:.2f}"
    if wrk:
        behind += f"; wrk got {wrk[0]:.0f} req/s from the same server"
    if first.capped:
        behind += f"; {first.capped} arrivals waited for the in-flight cap, answers not yet read"
    return f"the generator, not the server ({behind})"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rates", default=",".join(str(r) for r in DEFAULT_RATES),
                        help="comma-separated arrival rates per second, one run each (default %(default)s)")
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S,
                        help="seconds per rate, and for plain locust and wrk (default %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="arrival schedule seed (default %(default)s)")
    parser.add_argument("--no-wrk", action="store_true", help="skip wrk")
    parser.add_argument("--workers", default="1",
                        help="comma-separated local worker counts K for scale-out (K > 1: a master and K workers "
                             "at K x one worker's highest rate kept, then 10%% steps up or down; default "
                             "%(default)s: one process only)")
    parser.add_argument("--no-search", dest="search", action="store_false",
                        help="only the --rates given for one worker: no search for its highest rate kept")
    parser.add_argument("--precision", type=float, default=0.05,
                        help="the search ends when the highest rate kept and the lowest missed above it are this "
                             "close (relative; default %(default)s)")
    args = parser.parse_args(argv)
    try:
        args.rates = sorted({float(r) for r in args.rates.split(",") if r.strip()})
    except ValueError:
        parser.error("--rates: comma-separated numbers, e.g. 500,1000,2000")
    if not args.rates or min(args.rates) <= 0:
        parser.error("--rates: give at least one positive rate")
    try:
        args.workers = sorted({int(k) for k in args.workers.split(",") if k.strip()} | {1})
    except ValueError:
        parser.error("--workers: comma-separated counts, e.g. 1,2")
    if min(args.workers) < 1 or max(args.workers) > 16:
        parser.error("--workers: counts between 1 and 16")
    if not 0.01 <= args.precision <= 0.5:
        parser.error("--precision: between 0.01 and 0.5")
    if not 1 <= args.duration <= 60:
        parser.error("--duration: between 1 and 60 seconds")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    runs: list[RateRun] = []
    plain = wrk_result = None
    wrk_note: str | None = None
    load_before = _load_average()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-load-capacity-") as tmp:
            work = Path(tmp)
            with trivial_server(work) as (url, pid):
                def attempt(rate: float, workers: int) -> RateRun:
                    print(f"open model: {rate:g}/s for {args.duration:g} s on {workers} worker(s) ...",
                          file=sys.stderr, flush=True)
                    run = run_open_model(url, pid, rate, args.duration, args.seed, work, workers)
                    runs.append(run)
                    return run

                for rate in args.rates:
                    attempt(rate, 1)
                if args.search:
                    find_limit(attempt, runs, args.precision)
                one = highest_kept(runs, 1)
                for workers in args.workers[1:]:
                    if one:
                        scale_out(attempt, workers, one)
                print("plain locust ...", file=sys.stderr, flush=True)
                plain = run_plain_locust(url, args.duration, work)
                wrk = None if args.no_wrk else ensure_wrk()
                if wrk:
                    print("wrk ...", file=sys.stderr, flush=True)
                    try:
                        wrk_result = run_wrk(wrk, url, args.duration, work)
                    except BenchmarkError as exc:
                        wrk_note = str(exc)
                else:
                    wrk_note = "--no-wrk" if args.no_wrk else "wrk is not on PATH and could not be installed"
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    report(runs, plain, wrk_result, wrk_note, args.duration, load_before)
    return 0


if __name__ == "__main__":
    sys.exit(main())
