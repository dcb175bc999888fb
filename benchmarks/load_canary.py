"""A canary for coordinated omission: what the harness, and what plain locust, report for a known stall.

What is measured
    The reference supplier started with `--fault stall --stall-ms 300 --stall-every-ms 1000`: every request
    that arrives in the first 300 ms of each 1000 ms is held until that window ends. A request arriving at a
    uniformly random moment waits max(0, 300 - phase) ms, so the true latency percentiles are known:

        p_q = max(0, STALL - (1 - q) * EVERY)        p90 = 200 ms, p95 = 250 ms, p99 = 290 ms

    (plus the supplier's own few milliseconds), and 25% of requests wait 50 ms or more. Three readings of
    that stall are printed side by side:

    analytic   the formula above;
    harness    `conformance run pole-records --only POLE-PERF-001 --load-rate 80 --load-duration 20`:
               the harness's open model (loadtests/openmodel.py; Poisson arrivals that never wait for answers,
               latency from each request's due time). p50/p95/p99 of the GET operations come from the run's
               scorecard.json; p90 and the share of slow requests from the merged HdrHistograms in the
               run's load/POLE-PERF-001/results.json. The same run's locust statistics (latency from the
               actual send) are printed as a control: with an open schedule they agree with the harness;
    locust     plain locust with its usual CLOSED model: a FastHttpUser locustfile written to a temporary
               directory (10 users, each creates a few people in on_start, then GET /persons/{id} and
               GET /persons?family_name=...&date_of_birth=... with a wait time between requests), run as
               `python -m locust -f FILE --headless -u 10 -r 10 --run-time 20s --host URL --json-file PREFIX
               --only-summary`; percentiles from locust's own `response_times` buckets in the JSON file (as
               conformance/runners/load.py `_plain_locust` reads them; locust rounds values above 100 ms to
               10 ms). A closed-model user waits for each answer before its next request, so it sends ONE
               request into each stall and then nothing until the stall ends: the stall's share of the samples
               shrinks to 1 / (requests a user makes per cycle), whatever the stall's share of the time. That
               is coordinated omission. With the default pacings:
                   between   `wait_time = between(0.05, 0.1)`: ~10 requests per user per second, so ~10% of
                             samples are stalled: p95/p99 still land inside the stall, but p90 and the share of
                             slow requests fall well below the truth;
                   none      `wait_time = constant(0)`: as many requests as the supplier answers, so only a few
                             percent are stalled and p95 (and, on a faster supplier, p99) collapses;
                   throughput `constant_throughput(1)` (not run by default): one request a second per user,
                             longer than any stall, so nothing is omitted; only 10 phases are sampled.

    Ratios harness/analytic and locust/analytic are printed for p95 and p99. Every side gets a fresh
    supplier process (the stall's phase runs from its start; arrivals are not aligned to it).

Nothing here asserts on timing: it prints figures, and exits 1 with a message when a side could not run.
Every subprocess is bounded by a timeout and killed on exit; everything written goes to one temporary
directory, removed at the end. Bounded at about 20 s of load per side (~1.5 minutes in all by default).

Run it from the repository root:

    .venv/bin/python benchmarks/load_canary.py [--stall-ms 300 --stall-every-ms 1000] [--locust-wait between]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hdrh.histogram import HdrHistogram

from conformance.engine.processes import LaunchError, launched, spawned
from fixtures.kit.launch import reference_command

PROFILE = "pole-records"
REQUIREMENT = "POLE-PERF-001"
GET_OPERATIONS = ("GET /persons (search)", "GET /persons/{id}")
QUANTILES = (50, 90, 95, 99)
DEFAULT_STALL_MS = 300.0
DEFAULT_EVERY_MS = 1000.0
DEFAULT_RATE = 80.0
DEFAULT_DURATION_S = 20.0
DEFAULT_USERS = 10
DEFAULT_SLOW_MS = 50.0
DEFAULT_SEED = 20261124
HARNESS_RAN = (0, 1, 3)  # conformant, non-conformant, incomplete (--only leaves the other MUSTs unrun)
SLACK_S = 120.0  # on top of the load's own length: start-up, setup, the generator's final join, reporting
WAITS = {
    "between": ("between(0.05, 0.1)", "between(0.05, 0.1)"),
    "none": ("constant(0)", "no wait"),
    "throughput": ("constant_throughput(1)", "constant_throughput(1)"),
}

LOCUSTFILE = '''\
"""Plain locust, closed model: {users} users, each waits for every answer; pacing {wait}."""
import random

from locust import FastHttpUser, between, constant, constant_throughput, task  # noqa: F401

FAMILY = ["Prosser", "Evans", "Okafor", "Nowak", "Begum"]


class PlainUser(FastHttpUser):
    wait_time = {wait}

    def on_start(self):
        self.people = []
        for i in range(5):
            family = f"{{random.choice(FAMILY)}}-canary{{random.randrange(10**9)}}"
            dob = f"{{random.randint(1940, 2010)}}-{{random.randint(1, 12):02d}}-{{random.randint(1, 28):02d}}"
            answer = self.client.post("/persons", json={{"family_name": family, "date_of_birth": dob}},
                                      name="setup: POST /persons")
            self.people.append((family, dob, answer.json()["id"]))

    @task(3)
    def read(self):
        self.client.get(f"/persons/{{random.choice(self.people)[2]}}", name="GET /persons/{{id}}")

    @task(6)
    def search(self):
        family, dob, _ = random.choice(self.people)
        self.client.get(f"/persons?family_name={{family}}&date_of_birth={{dob}}", name="GET /persons (search)")
'''


class BenchmarkError(Exception):
    """A side could not run or its output could not be read: no figure would be honest."""


@dataclass
class Row:
    source: str
    operation: str
    count: int | None
    figures: dict[int, float | None]  # quantile -> ms
    slow_share: float | None = None


@dataclass
class HarnessRun:
    rows: list[Row] = field(default_factory=list)
    control: list[Row] = field(default_factory=list)
    outcome: str = "?"
    reason: str | None = None
    schedule: dict[str, Any] = field(default_factory=dict)


# --- processes -----------------------------------------------------------------------------------------------
STOP_GRACE_S = 15.0


def run_bounded(command: Sequence[str], *, timeout: float, cwd: Path, env: dict[str, str], what: str
                ) -> tuple[int, str]:
    """Run `command` in its own process group; its exit code and output. Stopped on timeout or interrupt
    (SIGINT to its group: locust and the harness stop cleanly on it; SIGKILL after 15 s)."""
    try:
        with spawned(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                     stop_signal=signal.SIGINT, grace_s=STOP_GRACE_S) as proc:
            output, _ = proc.communicate(timeout=timeout)
    except OSError as exc:
        raise BenchmarkError(f"{what}: could not start {command[0]}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkError(f"{what}: did not finish within {timeout:.0f} s") from exc
    return proc.returncode, output


def _child_env(work: Path) -> dict[str, str]:
    # The supplier's database and anything else a child puts in the temp dir stays under ours.
    return {"PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": str(work)}


def _tail(text: str, lines: int = 12) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def stalled_supplier(args: argparse.Namespace, work: Path, name: str) -> Any:
    command = [*reference_command(PROFILE, ["stall"]), "--stall-ms", f"{args.stall_ms:g}",
               "--stall-every-ms", f"{args.stall_every_ms:g}"]
    return launched(command, env=_child_env(work), log_path=work / f"supplier-{name}.log")


# --- figures ---------------------------------------------------------------------------------------------------
def analytic(stall_ms: float, every_ms: float, slow_ms: float) -> Row:
    figures: dict[int, float | None] = {q: max(0.0, stall_ms - (1 - q / 100) * every_ms) for q in QUANTILES}
    return Row("analytic (uniform arrival phase)", "any", None, figures, max(0.0, stall_ms - slow_ms) / every_ms)


def _hdr_figures(encoded: str, slow_ms: float) -> tuple[dict[int, float], float, int]:
    hist = HdrHistogram.decode(encoded.encode("ascii"))
    total = hist.get_total_count()
    if not total:
        return {}, 0.0, 0
    slow = sum(item.count_added_in_this_iter_step for item in hist.get_recorded_iterator()
               if item.value_iterated_to >= slow_ms * 1000)
    return {q: hist.get_value_at_percentile(q) / 1000 for q in QUANTILES}, slow / total, total


def locust_figures(entry: dict[str, Any], slow_ms: float) -> tuple[dict[int, float | None], float, int]:
    """Percentiles (ms) from locust's `response_times` buckets, read as `_plain_locust` reads them."""
    times = {int(float(k)): int(v) for k, v in (entry.get("response_times") or {}).items()}
    total = sum(times.values())
    figures: dict[int, float | None] = dict.fromkeys(QUANTILES)
    if not total:
        return figures, 0.0, 0
    for q in QUANTILES:
        need, seen = total * q / 100, 0
        for value in sorted(times):
            seen += times[value]
            if seen >= need:
                figures[q] = float(value)
                break
    slow = sum(n for value, n in times.items() if value >= slow_ms)
    return figures, slow / total, total


# --- the harness -----------------------------------------------------------------------------------------------
def run_harness(args: argparse.Namespace, work: Path) -> HarnessRun:
    runs_dir = work / "runs"
    with stalled_supplier(args, work, "harness") as url:
        command = [sys.executable, "-m", "conformance", "run", PROFILE, "--target", url, "--only", REQUIREMENT,
                   "--load-rate", f"{args.rate:g}", "--load-duration", f"{args.duration:g}", "--seed",
                   str(args.seed), "--runs-dir", str(runs_dir)]
        code, output = run_bounded(command, timeout=args.duration + SLACK_S, cwd=work, env=_child_env(work),
                                   what="harness")
    if code not in HARNESS_RAN:
        raise BenchmarkError(f"harness: conformance exit {code}:\n{_tail(output)}")
    cards = sorted(runs_dir.glob("*/scorecard.json"))
    if not cards:
        raise BenchmarkError(f"harness: no scorecard.json under {runs_dir} (exit {code}):\n{_tail(output)}")
    card = json.loads(cards[-1].read_text(encoding="utf-8"))
    result = next((r for r in card["requirements"] if r["id"] == REQUIREMENT), None)
    if result is None or not (result.get("measurements") or {}).get("operations"):
        reason = result.get("reason") if result else "missing from the scorecard"
        raise BenchmarkError(f"harness: {REQUIREMENT} has no load measurements: {reason}")
    measurements = result["measurements"]
    results_file = cards[-1].parent / "load" / REQUIREMENT / "results.json"
    raw = json.loads(results_file.read_text(encoding="utf-8")) if results_file.exists() else {"operations": {}}
    run = HarnessRun(outcome=result["outcome"], reason=result.get("reason"), schedule=measurements["schedule"])
    for name in GET_OPERATIONS:
        ops = measurements["operations"].get(name)
        if not ops:
            continue
        figures: dict[int, float | None] = {q: ops.get(f"p{q}_ms") for q in QUANTILES}
        slow: float | None = None
        if name in raw["operations"]:
            hdr, slow, _ = _hdr_figures(raw["operations"][name]["hdr"], args.slow_ms)
            figures[90] = hdr.get(90)
        run.rows.append(Row("harness (open model, from due time)", name, ops["count"], figures, slow))
        own = (measurements.get("plain_locust") or {}).get(name)
        if own:
            run.control.append(Row("  its locust stats (from send)", name, own.get("count"),
                                   {q: own.get(f"p{q}_ms") for q in QUANTILES}))
    if not run.rows:
        raise BenchmarkError(f"harness: no GET operations in the measurements: {sorted(measurements['operations'])}")
    return run


# --- plain locust ----------------------------------------------------------------------------------------------
def run_plain_locust(args: argparse.Namespace, work: Path, wait: str) -> list[Row]:
    expression, label = WAITS[wait]
    folder = work / f"locust-{wait}"
    folder.mkdir()
    locustfile = folder / "plain_closed.py"
    locustfile.write_text(LOCUSTFILE.format(users=args.users, wait=expression), encoding="utf-8")
    with stalled_supplier(args, work, f"locust-{wait}") as url:
        command = [sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "-u", str(args.users),
                   "-r", str(args.users), "--run-time", f"{args.duration:g}s", "--host", url, "--json-file",
                   str(folder / "stats"), "--only-summary"]
        code, output = run_bounded(command, timeout=args.duration + SLACK_S, cwd=folder, env=_child_env(work),
                                   what=f"plain locust ({label})")
    try:
        entries = json.loads((folder / "stats.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BenchmarkError(f"plain locust ({label}), exit {code}: no statistics: {exc}\n{_tail(output)}") from exc
    rows = []
    for name in GET_OPERATIONS:
        entry = next((e for e in entries if e.get("name") == name), None)
        if entry is None:
            continue
        figures, slow, total = locust_figures(entry, args.slow_ms)
        failures = int(entry.get("num_failures") or 0)
        source = f"plain locust, {label}" + (f" ({failures} failed)" if failures else "")
        rows.append(Row(source, name, total, figures, slow))
    if not rows:
        raise BenchmarkError(f"plain locust ({label}), exit {code}: no GET statistics:\n{_tail(output)}")
    return rows


# --- report ----------------------------------------------------------------------------------------------------
def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _ratio(value: float | None, truth: float | None) -> str:
    return "-" if value is None or not truth else f"{value / truth:.2f}"


def report(args: argparse.Namespace, truth: Row, harness: HarnessRun, plain: list[Row]) -> None:
    print(f"coordinated-omission canary: reference supplier --fault stall --stall-ms {args.stall_ms:g} "
          f"--stall-every-ms {args.stall_every_ms:g}")
    print(f"harness: {REQUIREMENT} at {args.rate:g} arrivals/s for {args.duration:g} s (outcome {harness.outcome}); "
          f"plain locust: {args.users} users for {args.duration:g} s, closed model")
    sched = harness.schedule
    if sched:
        print(f"harness schedule: scheduled {sched.get('scheduled')}, sent {sched.get('sent')}, "
              f"late {sched.get('late')}, dropped {sched.get('dropped')}, capped {sched.get('capped')}")
    if harness.outcome not in ("pass", "fail") and harness.reason:
        print(f"harness reason: {harness.reason}")
    print()
    slow_label = f">={args.slow_ms:g}ms"
    header = (f"{'source':<42} {'operation':<22} {'count':>6} " + " ".join(f"{f'p{q}':>5}" for q in QUANTILES)
              + f" {slow_label:>8}")
    print(header)
    print("-" * len(header))
    for row in [truth, *harness.rows, *harness.control, *plain]:
        count = "-" if row.count is None else str(row.count)
        slow = "-" if row.slow_share is None else f"{row.slow_share:.1%}"
        print(f"{row.source:<42} {row.operation:<22} {count:>6} "
              + " ".join(f"{_ms(row.figures.get(q)):>5}" for q in QUANTILES) + f" {slow:>8}")
    print("-" * len(header))
    print(f"milliseconds; {slow_label}: share of requests that waited at least {args.slow_ms:g} ms "
          f"(the stall's share of the time gives {truth.slow_share:.0%})")
    print()
    print(f"{'ratio to analytic':<42} {'operation':<22} {'p95':>6} {'p99':>6}")
    for row in [*harness.rows, *plain]:
        label = ("harness/analytic" if row.source.startswith("harness") else
                 f"locust/analytic ({row.source.removeprefix('plain locust, ')})")
        print(f"{label:<42} {row.operation:<22} {_ratio(row.figures.get(95), truth.figures[95]):>6} "
              f"{_ratio(row.figures.get(99), truth.figures[99]):>6}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--stall-ms", type=float, default=DEFAULT_STALL_MS, help="default %(default)s")
    parser.add_argument("--stall-every-ms", type=float, default=DEFAULT_EVERY_MS, help="default %(default)s")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, help="harness arrivals/s (default %(default)s)")
    parser.add_argument("--duration", type=float, default=DEFAULT_DURATION_S,
                        help="seconds of load per side (default %(default)s)")
    parser.add_argument("--users", type=int, default=DEFAULT_USERS, help="plain locust users (default %(default)s)")
    parser.add_argument("--locust-wait", action="append", choices=sorted(WAITS),
                        help="plain locust pacing, repeatable (default: between and none)")
    parser.add_argument("--slow-ms", type=float, default=DEFAULT_SLOW_MS,
                        help="count requests that waited at least this long (default %(default)s)")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="harness seed (default %(default)s)")
    args = parser.parse_args(argv)
    args.locust_wait = list(dict.fromkeys(args.locust_wait or ["between", "none"]))
    if not 0 < args.stall_ms < args.stall_every_ms:
        parser.error("--stall-ms must be positive and shorter than --stall-every-ms")
    if not 1 <= args.duration <= 120:
        parser.error("--duration: between 1 and 120 seconds")
    if args.rate <= 0 or args.users < 1:
        parser.error("--rate and --users must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    truth = analytic(args.stall_ms, args.stall_every_ms, args.slow_ms)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-load-canary-") as tmp:
            work = Path(tmp)
            print(f"harness: {REQUIREMENT} at {args.rate:g}/s for {args.duration:g} s ...", file=sys.stderr,
                  flush=True)
            harness = run_harness(args, work)
            plain: list[Row] = []
            for wait in args.locust_wait:
                print(f"plain locust ({WAITS[wait][1]}) for {args.duration:g} s ...", file=sys.stderr, flush=True)
                plain.extend(run_plain_locust(args, work, wait))
    except (BenchmarkError, LaunchError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    report(args, truth, harness, plain)
    return 0


if __name__ == "__main__":
    sys.exit(main())
