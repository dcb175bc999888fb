"""What signing and hashing evidence costs, next to the run it proves (issue #16: goal under 2% of a quick run).

What is measured
    One real quick run of pole-records 1.0.0 against a fresh reference supplier (`conformance run ... --tier quick`,
    load requirements skipped by default: they are minutes of fixed-duration load and would only flatter the
    ratio; `--only ID` narrows it further). Its wall time is the whole command, interpreter start included.
    Then, in this process, the run directory is bundled and signed with a new Ed25519 key (`make_bundle`: reading
    every file, SHA-256 of each, manifest, in-toto statement, DSSE signature, canonical tar.gz), `--repeat` times,
    and verified once (digests, signature, profile digest, re-score). The headline is the median bundle+sign time
    divided by the run's wall time.

Nothing here asserts on timing: it prints figures. It exits 0 when everything was measured, 1 when the run failed.

Run it from the repository root:

    .venv/bin/python benchmarks/bundle_cost.py [--seed 20261124] [--repeat 5] [--only POLE-IF-001 ...]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from conformance.audit.bundle import make_bundle
from conformance.audit.signing import load_public_key, load_signing_key, new_key_pair
from conformance.audit.verify import verify_bundle
from conformance.engine.processes import launched, run_command
from conformance.inputs.profiles import load_profile
from conformance.model import CheckKind
from fixtures.kit.launch import reference_command

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", default="20261124")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", action="append", default=[], metavar="REQ-ID")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bundle-cost-") as tmp_name:
        tmp = Path(tmp_name)
        if args.only:
            selection = [a for rid in args.only for a in ("--only", rid)]
        else:
            selection = [a for r in load_profile("pole-records").requirements if r.check.kind is CheckKind.LOAD
                         for a in ("--skip", r.id)]
        with launched(reference_command("pole-records"), log_path=tmp / "reference.log") as url:
            started = time.perf_counter()
            proc = run_command([sys.executable, "-m", "conformance", "run", "pole-records", "--target", url,
                                "--seed", args.seed, "--tier", "quick", "--runs-dir", str(tmp / "runs"),
                                *selection], cwd=ROOT, timeout=3600)
            run_s = time.perf_counter() - started
        runs = [p for p in (tmp / "runs").iterdir() if p.is_dir()]
        if proc.returncode not in (0, 1, 3) or len(runs) != 1:
            print(f"the run failed (exit {proc.returncode}): {proc.stderr[-500:]}", file=sys.stderr)
            return 1
        run_dir = runs[0]
        files = [p for p in run_dir.rglob("*") if p.is_file()]
        size = sum(p.stat().st_size for p in files)
        private, public, _ = new_key_pair(tmp / "keys")
        key = load_signing_key(private)
        timings = []
        for n in range(args.repeat):
            started = time.perf_counter()
            make_bundle(run_dir, tmp / f"b{n}.tar.gz", [key])
            timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = verify_bundle(tmp / "b0.tar.gz", tmp / "verified", trusted=[load_public_key(public)])
        verify_s = time.perf_counter() - started
        bundle_s = statistics.median(timings)
        print(f"run:           {run_s:8.2f} s wall ({'all but load' if not args.only else ' '.join(args.only)}; "
              f"{len(files)} files, {size / 1e6:.2f} MB)")
        print(f"bundle + sign: {bundle_s:8.3f} s (median of {args.repeat}; bundle "
              f"{(tmp / 'b0.tar.gz').stat().st_size / 1e6:.2f} MB incl. the profile folder)")
        print(f"verify:        {verify_s:8.3f} s ({'verified' if result.verified else 'NOT verified'})")
        print(f"ratio:         {100 * bundle_s / run_s:8.2f} % of the run's wall time (goal < 2%)")
        return 0 if result.verified else 1


if __name__ == "__main__":
    sys.exit(main())
