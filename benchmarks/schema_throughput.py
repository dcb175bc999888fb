"""Throughput of the harness's schema runner against the plain `schemathesis run` CLI.

What is measured
    One schema requirement, POLE-IF-001 of pole-records 1.0.0, run two ways against the reference supplier:

    harness  `python -m conformance run pole-records --target URL --seed SEED --runs-dir TMP --only POLE-IF-001`;
             requests, cases and engine time (`elapsed_s`) come from the requirement's line in results.jsonl.
    plain    `schemathesis run profiles/pole-records/1.0.0/openapi.yaml --url URL ...` with the options the
             harness gives its in-process engine (conformance/runners/schema.py `_engine_config`); requests
             are the entries of its HAR report, cases and engine time come from its summary.

    For each run: the requests sent, the wall time of the whole command (interpreter start, imports, loading
    the interface, the engine, writing evidence or reports), and requests per second over that wall time.
    The headline is the ratio of the medians, harness_rps / plain_rps, and the harness's overhead: how much
    more wall time per request it costs (goal: no more than 10% over the plain engine). An engine-only
    ratio (engine time as each side reports it, start-up excluded) is printed beside it.

Why the two sides are comparable
    Same interface file, seed, checks (response_schema_conformance, content_type_conformance,
    response_headers_conformance), generation mode (all), phases (examples, coverage, fuzzing, stateful),
    example budget (20 per operation), one worker, a 10 s request timeout, no example database and no
    schemathesis cache (the CLI gets a throw-away config file with `[cache] enabled = false`). Every run gets
    a fresh reference supplier process with an empty database, so no run sees state another left behind.
    Runs alternate between the sides, and the side that goes first swaps each round, so machine noise and
    warm caches hit both. Request counts can still differ a little between the sides and between runs:
    the stateful phase and the fuzzer react to what the target answers (ids, timings), so the same seed does
    not pin every request; that is why the comparison is per request, not per run.

Nothing here asserts on timing: it prints figures. It exits 0 when every run was measured, 1 with a message
when a side could not run.

Run it from the repository root:

    .venv/bin/python benchmarks/schema_throughput.py [--seed 20261124] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.engine.processes import LaunchError, launched, run_command
from fixtures.kit.launch import reference_command

ROOT = Path(__file__).resolve().parent.parent
PROFILE = "pole-records"
REQUIREMENT = "POLE-IF-001"
OPENAPI = ROOT / "profiles" / "pole-records" / "1.0.0" / "openapi.yaml"
# The engine options of POLE-IF-001 as `_engine_config` passes them (quick tier).
CHECKS = ("response_schema_conformance", "content_type_conformance", "response_headers_conformance")
PHASES = ("examples", "coverage", "fuzzing", "stateful")
MODE = "all"
MAX_EXAMPLES = 20
WORKERS = 1
REQUEST_TIMEOUT_S = 10.0
DEFAULT_SEED = 20261124
DEFAULT_REPEAT = 3
GOAL_OVERHEAD_PCT = 10.0
RUN_TIMEOUT_S = 1800.0
# conformance exit codes that still mean "the run happened": conformant, non-conformant, incomplete
# (--only leaves the other MUST requirements unrun, so a measured run ends "incomplete", exit 3).
HARNESS_RAN = (0, 1, 3)
# schemathesis exit codes: 0 nothing found, 1 failures found; both mean the engine ran.
PLAIN_RAN = (0, 1)
_PLAIN_CASES = re.compile(r"^\s*(\d+) generated", re.MULTILINE)
_PLAIN_DURATION = re.compile(r" in ([0-9.]+)s =+\s*$", re.MULTILINE)


class BenchmarkError(Exception):
    """A side could not run or its output could not be read: no figure would be honest."""


@dataclass(frozen=True)
class Measurement:
    side: str
    round: int
    requests: int
    wall_s: float
    engine_s: float | None
    cases: int | None
    result: str
    fingerprint: str | None = None

    @property
    def rps(self) -> float:
        return self.requests / self.wall_s

    @property
    def engine_rps(self) -> float | None:
        return self.requests / self.engine_s if self.engine_s else None


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _execute(command: Sequence[str], *, cwd: Path, side: str) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.perf_counter()
    try:
        proc = run_command(command, cwd=cwd, timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkError(f"{side}: did not finish within {RUN_TIMEOUT_S:.0f} s: {' '.join(command)}") from exc
    except OSError as exc:
        raise BenchmarkError(f"{side}: could not start {command[0]}: {exc}") from exc
    return proc, time.perf_counter() - started


def run_harness(url: str, seed: int, round_no: int) -> Measurement:
    with tempfile.TemporaryDirectory(prefix="bench-harness-") as tmp:
        runs_dir = Path(tmp)
        command = [sys.executable, "-m", "conformance", "run", PROFILE, "--target", url, "--seed", str(seed),
                   "--runs-dir", str(runs_dir), "--only", REQUIREMENT]
        proc, wall = _execute(command, cwd=ROOT, side="harness")
        if proc.returncode not in HARNESS_RAN:
            raise BenchmarkError(f"harness: exit {proc.returncode}:\n{_tail(proc.stdout + proc.stderr)}")
        result = _harness_result(runs_dir)
        if result is None:
            raise BenchmarkError(f"harness: no {REQUIREMENT} line in {runs_dir}/*/results.jsonl "
                                 f"(exit {proc.returncode}):\n{_tail(proc.stdout + proc.stderr)}")
    outcome = result.get("outcome")
    measurements: dict[str, Any] = result.get("measurements") or {}
    if outcome not in ("pass", "fail") or not measurements.get("requests"):
        raise BenchmarkError(f"harness: {REQUIREMENT} was not measured ({outcome}): {result.get('reason')}")
    return Measurement(
        side="harness", round=round_no, requests=int(measurements["requests"]), wall_s=wall,
        engine_s=float(measurements["elapsed_s"]), cases=int(measurements["cases"]),
        result=str(outcome), fingerprint=measurements.get("request_sequence_sha256"),
    )


def _harness_result(runs_dir: Path) -> dict[str, Any] | None:
    for path in sorted(runs_dir.glob("*/results.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            record = json.loads(line)
            if record.get("requirement_id") == REQUIREMENT:
                return dict(record)
    return None


def plain_command(url: str, seed: int, config_file: Path, har_path: Path, report_dir: Path) -> list[str]:
    schemathesis = Path(sys.executable).parent / "schemathesis"
    return [
        str(schemathesis), "--config-file", str(config_file), "run", str(OPENAPI),
        "--url", url, "--seed", str(seed), "--max-examples", str(MAX_EXAMPLES), "--mode", MODE,
        "--checks", ",".join(CHECKS), "--phases", ",".join(PHASES), "--workers", str(WORKERS),
        "--request-timeout", str(REQUEST_TIMEOUT_S), "--generation-database", "none",
        "--report", "har", "--report-dir", str(report_dir), "--report-har-path", str(har_path), "--no-color",
    ]


def run_plain(url: str, seed: int, round_no: int) -> Measurement:
    with tempfile.TemporaryDirectory(prefix="bench-plain-") as tmp:
        work = Path(tmp)
        config_file = work / "schemathesis.toml"
        config_file.write_text("[cache]\nenabled = false\n", encoding="utf-8")
        har_path = work / "run.har"
        command = plain_command(url, seed, config_file, har_path, work / "reports")
        # cwd is the temporary directory, so nothing the CLI writes (.hypothesis, reports) lands in the repo.
        proc, wall = _execute(command, cwd=work, side="plain")
        output = proc.stdout + proc.stderr
        if proc.returncode not in PLAIN_RAN:
            raise BenchmarkError(f"plain: schemathesis exit {proc.returncode}:\n{_tail(output)}")
        try:
            entries = json.loads(har_path.read_text(encoding="utf-8"))["log"]["entries"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BenchmarkError(f"plain: could not read the HAR report {har_path}: {exc}\n{_tail(output)}") from exc
    if not entries:
        raise BenchmarkError(f"plain: the HAR report has no requests:\n{_tail(output)}")
    cases = _PLAIN_CASES.search(proc.stdout)
    duration = _PLAIN_DURATION.search(proc.stdout)
    return Measurement(
        side="plain", round=round_no, requests=len(entries), wall_s=wall,
        engine_s=float(duration.group(1)) if duration else None,
        cases=int(cases.group(1)) if cases else None, result=f"exit {proc.returncode}",
    )


def measure(side: str, seed: int, round_no: int) -> Measurement:
    """One run of one side against a fresh reference supplier (empty database)."""
    print(f"round {round_no}: {side} ...", file=sys.stderr, flush=True)
    try:
        with launched(reference_command(PROFILE)) as url:
            result = run_harness(url, seed, round_no) if side == "harness" else run_plain(url, seed, round_no)
    except LaunchError as exc:
        raise BenchmarkError(f"{side}: the reference supplier did not start: {exc}") from exc
    print(f"round {round_no}: {side}: {result.requests} requests in {result.wall_s:.1f} s", file=sys.stderr,
          flush=True)
    return result


def _fmt(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return statistics.median(known) if known else None


def report(results: list[Measurement], seed: int, repeat: int) -> None:
    print(f"schema throughput: {PROFILE} {REQUIREMENT}, seed {seed}, {repeat} run(s) per side, "
          f"max-examples {MAX_EXAMPLES}, mode {MODE}, phases {','.join(PHASES)}")
    print(f"checks {','.join(CHECKS)}; fresh reference supplier per run")
    print()
    header = (f"{'side':<8} {'run':>6} {'requests':>9} {'cases':>6} {'wall s':>8} {'req/s':>8} "
              f"{'engine s':>9} {'engine req/s':>13}  result")
    print(header)
    print("-" * len(header))
    medians: dict[str, tuple[float, float, float, float | None, float | None]] = {}
    for side in ("harness", "plain"):
        rows = [m for m in results if m.side == side]
        for m in rows:
            print(f"{side:<8} {m.round:>6} {m.requests:>9} {m.cases if m.cases is not None else '-':>6} "
                  f"{m.wall_s:>8.1f} {m.rps:>8.1f} {_fmt(m.engine_s, 2):>9} {_fmt(m.engine_rps):>13}  {m.result}")
        requests = statistics.median(m.requests for m in rows)
        wall = statistics.median(m.wall_s for m in rows)
        rps = statistics.median(m.rps for m in rows)
        engine = _median([m.engine_s for m in rows])
        engine_rps = _median([m.engine_rps for m in rows])
        medians[side] = (requests, wall, rps, engine, engine_rps)
        print(f"{side:<8} {'median':>6} {requests:>9.0f} {'':>6} {wall:>8.1f} {rps:>8.1f} {_fmt(engine, 2):>9} "
              f"{_fmt(engine_rps):>13}")
        print("-" * len(header))
    print()
    _ratio_line("whole command (wall)", medians["harness"][2], medians["plain"][2], goal=True)
    _ratio_line("engine only         ", medians["harness"][4], medians["plain"][4], goal=False)
    fingerprints = {m.fingerprint for m in results if m.side == "harness"}
    if repeat > 1:
        same = "identical" if len(fingerprints) == 1 else f"{len(fingerprints)} different"
        print(f"harness request sequence fingerprints over {repeat} runs: {same}")
    print("engine s: harness = measurements.elapsed_s; plain = the duration schemathesis prints in its summary.")


def _ratio_line(label: str, harness_rps: float | None, plain_rps: float | None, *, goal: bool) -> None:
    if not harness_rps or not plain_rps:
        print(f"{label}: ratio not available")
        return
    ratio = harness_rps / plain_rps
    overhead = (plain_rps / harness_rps - 1.0) * 100.0  # extra time per request on the harness side
    verdict = ""
    if goal:
        met = "met" if overhead <= GOAL_OVERHEAD_PCT else "NOT met"
        verdict = f"  (goal: no more than {GOAL_OVERHEAD_PCT:.0f}% over the plain engine: {met})"
    print(f"{label}: harness_rps / plain_rps = {ratio:.3f}  overhead {overhead:+.1f}% per request{verdict}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generation seed (default {DEFAULT_SEED})")
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT,
                        help=f"measured runs per side (default {DEFAULT_REPEAT})")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if not (Path(sys.executable).parent / "schemathesis").exists():
        print(f"error: no schemathesis CLI beside {sys.executable}; run with the project's .venv/bin/python",
              file=sys.stderr)
        return 1
    results: list[Measurement] = []
    try:
        for round_no in range(1, args.repeat + 1):
            order = ("harness", "plain") if round_no % 2 else ("plain", "harness")
            results.extend(measure(side, args.seed, round_no) for side in order)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    report(results, args.seed, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
