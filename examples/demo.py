"""`make demo`: evaluate the demo tender (examples/demo-tender.yaml) and check the result against the catalogue.

Three fictional suppliers are started from the fixtures as real HTTP services on free loopback ports: the
clean reference supplier and two carrying faults from the catalogue. The real `conformance evaluate` command
tests each on pole-records with one seed, ranks them and writes the comparison report. The demo then checks
what every honest run must show: the reference first and conformant, and each faulty supplier failing exactly
the requirements its faults are catalogued to break (`conformance reference faults`).
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import yaml

from conformance.engine.processes import spawned
from fixtures.pole_records.faults import FAULTS

ROOT = Path(__file__).resolve().parent.parent
TENDER = ROOT / "examples" / "demo-tender.yaml"
OUT = ROOT / "evaluations"
STOP_GRACE_S = 60.0


def predicted_failures(command: str) -> set[str]:
    argv = shlex.split(command)
    faults = [argv[i + 1] for i, word in enumerate(argv[:-1]) if word == "--fault"]
    return {rid for fault in faults for rid in FAULTS[fault].catches}


def check(comparison: dict, tender: dict) -> list[str]:
    """Every requirement a candidate's faults do not predict must have passed (not merely not failed), the
    faulty ones must have failed exactly the predicted ones, and nothing may be unmeasured."""
    problems = []
    ranking = comparison["ranking"]
    if ranking[0]["candidate"] != "northwind" or not ranking[0]["meets_thresholds"]:
        problems.append(f"expected northwind first, meeting the thresholds; got {ranking[0]}")
    for name, spec in tender["candidates"].items():
        expected = predicted_failures(spec["command"])
        outcomes = {r["id"]: r["results"][name]["outcome"] for r in comparison["requirements"]}
        failed = {rid for rid, outcome in outcomes.items() if outcome == "fail"}
        unexpected = {rid: o for rid, o in outcomes.items() if rid not in expected and o not in ("pass", "planned")}
        candidate = next(c for c in comparison["candidates"] if c["name"] == name)
        verdict = candidate["verdict"]
        errors = [p["error"] for p in candidate["profiles"].values() if p["error"]]
        said = ", ".join(sorted(expected)) or "nothing"
        if failed == expected and not unexpected and not errors:
            print(f"  {name}: {verdict}; " + (f"failed {said}, as its faults predict" if expected
                                              else "passed everything (no fault injected)"))
        else:
            problems.append(f"{name}: predicted failures {said}; measured failures "
                            f"{', '.join(sorted(failed)) or 'none'}; not passed otherwise: {unexpected or 'none'}; "
                            f"unmeasured: {errors or 'none'}")
    return problems


def main() -> int:
    cmd = [sys.executable, "-m", "conformance", "evaluate", str(TENDER.relative_to(ROOT)), "--out", str(OUT)]
    print("$ conformance " + " ".join(cmd[3:]), flush=True)
    before = set(OUT.glob("*")) if OUT.exists() else set()
    # Ctrl-C stops the evaluation as `conformance evaluate` is stopped (SIGTERM: it finishes its reports), not killed
    with spawned(cmd, cwd=ROOT, grace_s=STOP_GRACE_S) as evaluation:
        code = evaluation.wait()
    created = sorted(set(OUT.glob("*")) - before)
    if code != 0 or not created:  # 0: at least one candidate meets the thresholds, as northwind must
        print(f"the evaluation did not finish (exit {code})", file=sys.stderr)
        return 1
    folder = created[-1]
    comparison = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
    tender = yaml.safe_load(TENDER.read_text(encoding="utf-8"))
    print("\nchecked against the fault catalogue:")
    problems = check(comparison, tender)
    for problem in problems:
        print(f"  MISMATCH {problem}", file=sys.stderr)
    print(f"\ncomparison report (open it in a browser): {folder / 'comparison.html'}")
    print(f"each supplier's report, evidence and scorecard: {folder / 'runs'}/<candidate>/<run>/")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
