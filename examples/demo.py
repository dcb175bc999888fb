"""`make demo`: score the reference supplier against pole-records, then the same supplier with a fault.

Starts each reference supplier as a real HTTP service on a free loopback port, runs the real
`conformance run` command against it, and prints where the scorecards are.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conformance.launch import launched, reference_command

ROOT = Path(__file__).resolve().parent.parent
RUNS = ROOT / "runs"
SEED = "20261124"


def score(title: str, faults: list[str]) -> int:
    print(f"\n=== {title} ===", flush=True)
    with launched(reference_command("pole-records", faults)) as url:
        print(f"reference supplier started at {url}" + (f" with fault {', '.join(faults)}" if faults else ""))
        cmd = [sys.executable, "-m", "conformance", "run", "pole-records", "--target", url,
               "--seed", SEED, "--runs-dir", str(RUNS)]
        print("$ conformance " + " ".join(cmd[3:]), flush=True)
        return subprocess.call(cmd, cwd=ROOT)


def main() -> int:
    clean = score("the reference supplier, as the standard describes it", [])
    faulty = score("the same supplier with a catalogued fault: schema-drift", ["schema-drift"])
    print("\nexit codes: reference", clean, "(0 = conformant); schema-drift", faulty, "(1 = non-conformant)")
    print(f"every run's evidence, results and scorecard.json are under {RUNS}/")
    return 0 if (clean, faulty) == (0, 1) else 1


if __name__ == "__main__":
    sys.exit(main())
