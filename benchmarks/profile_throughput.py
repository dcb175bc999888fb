"""The whole schema part of a profile through the harness against one plain `schemathesis run` (issue #14, item 5).

What is measured
    Every schema requirement of pole-records (POLE-IF-001..007), run two ways against a fresh reference supplier,
    clean and with three schema faults:

    harness  `python -m conformance run pole-records --target URL --seed SEED --only POLE-IF-001 ... --only
             POLE-IF-007` (the requirements share engine passes, conformance/runners/schema_pass.py). Requests are
             the lines of the run's exchanges/*.jsonl (every exchange the engine made, written as evidence);
             unique failures are the findings of the schema requirements in scorecard.json (one per cause).
    plain    one `schemathesis run` of the same interface with the union of the same checks, the same seed and
             example budget: its configuration file is the harness's own pass configuration (`engine_config` of the
             same requirements: checks with their expected statuses, phases, generation mode and max-examples per
             phase, one worker, no example database, no cache), less the harness's own check
             `operation_implemented` (the CLI does not know it; it sends nothing). Requests are the entries of its
             HAR report; unique failures the count in its summary.

    For each run: requests, the wall time of the whole command, and unique failures. The goal (printed, not
    asserted): the harness sends no more requests than the plain engine, takes at most 1.05x its wall time, and
    finds at least as many true failures on each fault. The plain engine counts every failure its checks see,
    including a check failing on cases outside the requirement that names it (a 5xx on malformed input is not
    POLE-IF-003's failure, whose requests are valid ones): its count is an upper bound, not all true failures.

Run it from the repository root (each run starts its own reference supplier on 127.0.0.1, port 0):

    .venv/bin/python benchmarks/profile_throughput.py [--seed 20261124] [--repeat 1] [--faults a,b,c]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from schema_throughput import DEFAULT_SEED, HARNESS_RAN, PLAIN_RAN, BenchmarkError, _execute, _tail

from conformance.engine.processes import LaunchError, launched
from conformance.inputs.profiles import load_profile
from conformance.inputs.targets import parse_target
from conformance.model import CheckKind
from conformance.runners.schema import HARNESS_CHECKS, TIERS
from conformance.runners.schema_plan import Member, engine_config
from fixtures.kit.launch import reference_command

ROOT = Path(__file__).resolve().parent.parent
PROFILE = "pole-records"
DEFAULT_FAULTS = ("schema-drift", "server-error-on-unicode", "accepts-invalid")
GOAL_WALL_RATIO = 1.05
_UNIQUE = re.compile(r"(\d+) unique failures?")


@dataclass(frozen=True)
class Measurement:
    side: str
    fault: str
    round: int
    requests: int
    wall_s: float
    unique_failures: int
    result: str


def schema_requirements() -> tuple[str, list[Member]]:
    """The profile's interface file and its schema requirements, as the harness plans them."""
    profile = load_profile(PROFILE)
    members = [Member.of(r) for r in profile.requirements if r.check.kind is CheckKind.SCHEMA and not r.planned]
    return profile.openapi_path, members


def run_harness(url: str, seed: int, fault: str, round_no: int, members: list[Member]) -> Measurement:
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp:
        runs = Path(tmp)
        only = [arg for m in members for arg in ("--only", m.id)]
        command = [sys.executable, "-m", "conformance", "run", PROFILE, "--target", url, "--seed", str(seed),
                   "--runs-dir", str(runs), *only]
        proc, wall = _execute(command, cwd=ROOT, side="harness")
        if proc.returncode not in HARNESS_RAN:
            raise BenchmarkError(f"harness: exit {proc.returncode}:\n{_tail(proc.stdout + proc.stderr)}")
        run_dir = next((p for p in runs.iterdir() if p.is_dir()), None)
        if run_dir is None or not (run_dir / "scorecard.json").exists():
            raise BenchmarkError(f"harness: no scorecard under {runs}:\n{_tail(proc.stdout + proc.stderr)}")
        requests = sum(len(f.read_text(encoding="utf-8").splitlines())
                       for f in (run_dir / "exchanges").glob("*.jsonl"))
        card = json.loads((run_dir / "scorecard.json").read_text(encoding="utf-8"))
    rows = {row["id"]: row for row in card["requirements"]}
    ids = [m.id for m in members]
    unmeasured = {rid: rows[rid]["reason"] for rid in ids if rows[rid]["outcome"] not in ("pass", "fail")}
    if unmeasured:
        raise BenchmarkError(f"harness: not measured: {unmeasured}")
    failures = sum(len(rows[rid]["findings"]) for rid in ids)
    failed = ",".join(rid.removeprefix("POLE-") for rid in ids if rows[rid]["outcome"] == "fail") or "none"
    return Measurement("harness", fault, round_no, requests, wall, failures, f"failed: {failed}")


def _toml(table: dict[str, Any], prefix: str = "") -> str:
    """A TOML document of nested dicts of strings, numbers, booleans and lists of them (JSON's string escapes
    are TOML's)."""
    scalars = [f"{json.dumps(k)} = {json.dumps(v)}" for k, v in table.items() if not isinstance(v, dict)]
    text = (f"[{prefix}]\n" if prefix and scalars else "") + "".join(line + "\n" for line in scalars)
    for key, value in table.items():
        if isinstance(value, dict):
            text += _toml(value, f"{prefix}.{json.dumps(key)}" if prefix else json.dumps(key))
    return text


def plain_config(url: str, seed: int, members: list[Member]) -> dict[str, Any]:
    """The harness's pass configuration for these requirements, as the plain CLI takes it."""
    tier = TIERS["quick"]
    config = engine_config(members, parse_target(url), {}, seed, examples_factor=tier.examples_factor,
                           request_timeout_s=tier.request_timeout_s, max_time_s=None)
    for name in HARNESS_CHECKS:
        config["checks"].pop(name, None)
    config.pop("headers", None)
    return config


def run_plain(url: str, seed: int, fault: str, round_no: int, openapi: str, members: list[Member]) -> Measurement:
    with tempfile.TemporaryDirectory(prefix="bench-profile-plain-") as tmp:
        work = Path(tmp)
        config_file = work / "schemathesis.toml"
        config_file.write_text(_toml(plain_config(url, seed, members)), encoding="utf-8")
        har = work / "run.har"
        schemathesis = Path(sys.executable).parent / "schemathesis"
        command = [str(schemathesis), "--config-file", str(config_file), "run", openapi, "--url", url,
                   "--seed", str(seed), "--report", "har", "--report-dir", str(work / "reports"),
                   "--report-har-path", str(har), "--no-color"]
        proc, wall = _execute(command, cwd=work, side="plain")  # its .hypothesis/ lands in the temporary folder
        output = proc.stdout + proc.stderr
        if proc.returncode not in PLAIN_RAN:
            raise BenchmarkError(f"plain: schemathesis exit {proc.returncode}:\n{_tail(output)}")
        try:
            entries = json.loads(har.read_text(encoding="utf-8"))["log"]["entries"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise BenchmarkError(f"plain: could not read the HAR report {har}: {exc}\n{_tail(output)}") from exc
    unique = _UNIQUE.search(proc.stdout)
    return Measurement("plain", fault, round_no, len(entries), wall, int(unique.group(1)) if unique else 0,
                       f"exit {proc.returncode}")


def measure(side: str, fault: str, seed: int, round_no: int, openapi: str, members: list[Member]) -> Measurement:
    """One run of one side against a fresh reference supplier (empty database) with `fault` (or none)."""
    print(f"round {round_no}: {fault or 'clean'}: {side} ...", file=sys.stderr, flush=True)
    try:
        with launched(reference_command(PROFILE, [fault] if fault else [])) as url:
            if side == "harness":
                return run_harness(url, seed, fault, round_no, members)
            return run_plain(url, seed, fault, round_no, openapi, members)
    except LaunchError as exc:
        raise BenchmarkError(f"{side}: the reference supplier did not start: {exc}") from exc


def report(results: list[Measurement], seed: int, faults: Sequence[str], members: list[Member]) -> None:
    print(f"schema part of {PROFILE}: {', '.join(m.id for m in members)}; seed {seed}; fresh reference per run")
    header = f"{'target':<26} {'side':<8} {'run':>4} {'requests':>9} {'wall s':>8} {'unique failures':>16}  result"
    print(header)
    print("-" * len(header))
    for fault in ("", *faults):
        for side in ("harness", "plain"):
            for m in (m for m in results if m.fault == fault and m.side == side):
                print(f"{fault or 'clean':<26} {side:<8} {m.round:>4} {m.requests:>9} {m.wall_s:>8.1f} "
                      f"{m.unique_failures:>16}  {m.result}")
    print("-" * len(header))
    harness = [m for m in results if m.side == "harness"]
    plain = [m for m in results if m.side == "plain"]
    requests = (statistics.median(m.requests for m in harness), statistics.median(m.requests for m in plain))
    wall = (sum(m.wall_s for m in harness), sum(m.wall_s for m in plain))
    print(f"requests (median per run): harness {requests[0]:.0f}, plain {requests[1]:.0f}  "
          f"(goal: no more than the plain engine: {'met' if requests[0] <= requests[1] else 'NOT met'})")
    ratio = wall[0] / wall[1]
    print(f"wall time (all runs): harness {wall[0]:.1f} s, plain {wall[1]:.1f} s, ratio {ratio:.2f}  "
          f"(goal: at most {GOAL_WALL_RATIO}x: {'met' if ratio <= GOAL_WALL_RATIO else 'NOT met'})")
    print("unique failures: the harness counts findings of the requirements (one per cause, judged on the cases "
          "each asked for);\nthe plain engine counts every check failure on every case (an upper bound).")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"generation seed (default {DEFAULT_SEED})")
    parser.add_argument("--repeat", type=int, default=1, help="measured runs per side and target (default 1)")
    parser.add_argument("--faults", default=",".join(DEFAULT_FAULTS),
                        help=f"schema faults, comma-separated (default {','.join(DEFAULT_FAULTS)})")
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
    faults = tuple(f for f in args.faults.split(",") if f)
    openapi, members = schema_requirements()
    results: list[Measurement] = []
    try:
        for round_no in range(1, args.repeat + 1):
            for n, fault in enumerate(("", *faults)):
                # the side that goes first swaps each time, so machine noise and warm caches hit both
                order = ("harness", "plain") if (round_no + n) % 2 else ("plain", "harness")
                results.extend(measure(side, fault, args.seed, round_no, openapi, members) for side in order)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    report(results, args.seed, faults, members)
    return 0


if __name__ == "__main__":
    sys.exit(main())
