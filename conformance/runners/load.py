"""Load checks: an open-model load from loadtests/ run by locust in a subprocess, judged against service levels.

The harness never imports locust (it monkey-patches the process with gevent). It writes the load's settings to
a file, passes credentials in the environment (never a file), runs `python -m locust` headless (with
`--workers K`, a master and K workers on this machine), and reads the merged results the scenario writes:
HdrHistograms per operation and per business task, with latency measured from each request's due time, and
how well the generator kept its schedule. A requirement with `concurrency: N` (a tender's `load.concurrency`
replaces it) runs a closed load instead: N users released at one instant, each running tasks back to back, so
about N requests are in flight throughout; the concurrency actually reached (peak and mean in flight) is in the
measurements of every load requirement. Every check the scenario makes on an answer (a search that found
nothing, the wrong record) counts as an error of its operation. Then:

- the generator could not keep its schedule (arrivals dropped or held back by the in-flight cap, setup failed,
  locust failed or wrote nothing), or a closed load never held the N requests in flight it asks for -> `error`,
  never a pass or a supplier failure;
- more than 1% of arrivals (and more than two) sent over 10 ms late -> `error` if a service level was missed
  or any was over 100 ms late; otherwise the pass stands, noted: a late arrival's wait is in its latency,
  measured from its due time, so lateness can only make the supplier look slower;
- a service level is missed (a percentile, the error rate, the share completed, or an acknowledged write that
  no longer reads back) -> `fail`, one finding per miss;
- otherwise `pass`, with every figure in the measurements.
"""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from conformance.engine.processes import Arg, ProcessGroup
from conformance.errors import EngineFailure
from conformance.model import CheckKind, Finding, Outcome, Requirement, Result
from conformance.runners import RunContext

__all__ = ["UNKEPT_SCHEDULE", "LoadRunner", "closed_users", "concurrency_reached", "lateness_cause", "summarise"]

# How every reason for a load the generator left unmeasured begins (an `error`, never a verdict): the suite's
# re-measure (tests/conftest.py) recognises it by this.
UNKEPT_SCHEDULE = "the generator could not keep its schedule"
LATE_SHARE_LIMIT = 0.01
REMOTE_WAIT_S = 300  # how long the master waits for workers started on other machines
LATE_COUNT_ALLOWED = 2
# A late arrival's wait is counted in its latency (measured from its due time), so lateness can only make the
# supplier look slower: a pass with arrivals at most this late stands (noted); a failure with arrivals late beyond
# LATE_SHARE_LIMIT / LATE_COUNT_ALLOWED is an error, since the lateness may be why.
LATE_PASS_LIMIT_MS = 100.0
# Why a generator was late, from its own figures: a worker using this much of a CPU is saturated (add workers);
# below it, a machine this busy means other work on it held the generator back.
GENERATOR_SATURATED = 0.8
MACHINE_BUSY = 0.8
MACHINE_STOLEN = 0.1  # a tenth of the CPU time taken by a virtual machine's host: the host's doing, not the machine's
FULL_TIER_DURATION_FACTOR = 6
STARTUP_GRACE_S = 60.0
# What a load needs beyond its duration at the least (locust's start, the stop, reading its results): a deadline
# nearer than duration + this refuses the load before it starts.
MIN_LOAD_OVERHEAD_S = 8.0
WRITE_CHECK_LIMIT = 20_000


def _loadtests_dir() -> Path:
    spec = importlib.util.find_spec("loadtests")
    if spec is None or not spec.submodule_search_locations:
        raise EngineFailure("the loadtests package is not installed with this harness")
    return Path(next(iter(spec.submodule_search_locations))).absolute()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentiles(encoded: str) -> dict[str, float]:
    from hdrh.histogram import HdrHistogram

    hist = HdrHistogram.decode(encoded.encode("ascii"))
    if hist.get_total_count() == 0:
        return {"p50_ms": 0.0, "p95_ms": 0.0, "p99_ms": 0.0, "max_ms": 0.0}
    return {f"p{q}_ms": round(hist.get_value_at_percentile(q) / 1000, 2) for q in (50, 95, 99)} | {
        "max_ms": round(hist.get_max_value() / 1000, 2)}


def availability(timeline: dict[str, list[int]]) -> dict[str, Any]:
    """Availability over time from {epoch second: [ok, wrong answer, no answer]} (pure).

    A second is available when every request due in it was answered as expected; seconds in which nothing was
    due are not counted (no evidence either way). An error burst is a run of unavailable seconds, broken only by
    an available one; an outage is a burst in which some requests got no answer at all (connection refused or
    reset, or a timeout): what a crash or a restart looks like from outside."""
    seconds = sorted((int(k), v) for k, v in timeline.items())
    if not seconds:
        return {"windows": 0, "available": 0, "availability": None, "bursts": [], "longest_burst_s": 0,
                "outages": 0}
    first = seconds[0][0]
    bursts: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    available = 0
    for second, (ok, wrong, silent) in seconds:
        if wrong == 0 and silent == 0:
            available += 1
            current = None
            continue
        if current is None:
            current = {"start_s": second - first, "length_s": 0, "wrong": 0, "no_answer": 0, "ok": 0}
            bursts.append(current)
        current["length_s"] = second - first - current["start_s"] + 1
        current["wrong"] += wrong
        current["no_answer"] += silent
        current["ok"] += ok
    return {"windows": len(seconds), "available": available,
            "availability": round(available / len(seconds), 4),
            "bursts": bursts[:20], "burst_count": len(bursts),
            "longest_burst_s": max((b["length_s"] for b in bursts), default=0),
            "outages": sum(1 for b in bursts if b["no_answer"])}


def summarise(results: dict[str, Any], duration_s: float) -> dict[str, Any]:
    """Percentiles, counts and error rates from the merged results file (pure)."""
    def table(src: dict[str, Any]) -> dict[str, Any]:
        return {name: {**_percentiles(slot["hdr"]), "count": slot["count"], "errors": slot["errors"],
                       "error_rate": round(slot["errors"] / slot["count"], 4) if slot["count"] else 0.0,
                       "statuses": slot["statuses"], "error_samples": slot["error_samples"]}
                for name, slot in sorted(src.items())}

    operations, tasks = table(results["operations"]), table(results["tasks"])
    requests = sum(o["count"] for o in operations.values())
    errors = sum(o["errors"] for o in operations.values())
    completed = sum(t["count"] - t["errors"] for t in tasks.values())
    schedule = {k: v for k, v in results["schedule"].items() if k != "lateness_hdr"}
    schedule["lateness"] = _percentiles(results["schedule"]["lateness_hdr"])
    return {
        "engine": "locust",
        "schedule": schedule,
        "requests": requests, "errors": errors, "error_rate": round(errors / requests, 4) if requests else 0.0,
        "tasks_completed": completed,
        "throughput_per_s": round(completed / duration_s, 2) if duration_s else 0.0,
        "operations": operations, "tasks": tasks,
        "generator": results.get("generator", []), "workers": results.get("workers", 1),
        "availability": availability(results.get("timeline") or {}),
        "concurrency": concurrency_reached(results.get("concurrency") or {}),
    }


def lateness_cause(generators: list[dict[str, Any]]) -> str:
    """What the generator's own figures say of why it sent arrivals late (pure): its CPU use (the busiest worker's
    CPU seconds per wall second), how busy the machine's CPUs were meanwhile with other work (the machine's busy
    share less every worker's CPU, as though all ran there: never more than the other work was), and the share a
    virtual machine's host took (steal)."""
    shares = [g["cpu_s"] / g["wall_s"] for g in generators if g.get("wall_s")]
    own = max(shares, default=None)
    others = [g["machine_busy"] - sum(shares) / g["machine_cpus"]
              for g in generators if g.get("wall_s") and g.get("machine_busy") is not None and g.get("machine_cpus")]
    other = max(others, default=None)
    steal = max((g["machine_steal"] for g in generators if g.get("machine_steal") is not None), default=None)
    used = f"the generator used {own:.0%} of a CPU" if own is not None else "the generator's CPU use is unknown"
    if own is not None and own >= GENERATOR_SATURATED:
        return f"{used}, all it could: add --workers"
    if steal is not None and steal >= MACHINE_STOLEN:
        return (f"{used} while the virtual machine's host kept {steal:.0%} of its CPU time for others (steal): "
                "measure on a machine with dedicated CPUs")
    if other is not None and other >= MACHINE_BUSY:
        return (f"{used} while other work kept the machine's CPUs {other:.0%} busy: it held the generator back; "
                "measure on a quieter machine")
    return (f"{used}" + (f" and other work kept the machine's CPUs {max(0.0, other):.0%} busy" if other is not None
                         else "") + ": it was held back outside its own work (the operating system, or a host)")


def closed_users(options: dict[str, Any], sizing: dict[str, Any]) -> int:
    """How many simultaneous users a requirement's closed load runs (pure): 0 for an open load (a requirement
    without `concurrency`, whatever the tender says), else the tender's (or --load-concurrency's) level, or the
    profile's quick-tier one."""
    if not options.get("concurrency"):
        return 0
    return int(sizing.get("concurrency") or options["concurrency"])


def concurrency_reached(merged: dict[str, Any]) -> dict[str, Any]:
    """The concurrency the generator actually held (pure): `peak_in_flight`, requests sent and not yet answered
    at one moment (with several workers, the sum of each worker's peak: an upper bound, the peaks need not
    coincide; `worker_peaks` lists them), and `mean_in_flight`, Little's law over the load (the summed time
    requests were outstanding / the load's duration)."""
    window = float(merged.get("window_s") or 0.0)
    return {"users": int(merged.get("users") or 0), "peak_in_flight": int(merged.get("peak_in_flight") or 0),
            "worker_peaks": list(merged.get("worker_peaks") or []),
            "mean_in_flight": round(float(merged.get("busy_s") or 0.0) / window, 2) if window else 0.0}


class LoadRunner:
    kind = CheckKind.LOAD

    def run(self, requirement: Requirement, ctx: RunContext) -> Result:
        opts = requirement.check.options
        sizing = dict(ctx.load or {})
        users = closed_users(opts, sizing)
        rate = float(sizing.get("arrival_rate") or opts.get("rate", 10))
        duration = float(sizing.get("duration_s") or opts.get("duration_s", 10))
        if ctx.tier == "full" and not sizing.get("duration_s"):
            duration *= FULL_TIER_DURATION_FACTOR
        local = int(sizing.get("workers") or 0)
        remote = int(sizing.get("remote_workers") or 0)
        workers = local + remote
        folder = ctx.run_dir.path / "load" / requirement.id
        folder.mkdir(parents=True, exist_ok=True)
        out = folder / "results.json"
        out.unlink(missing_ok=True)
        config = {"rate": rate, "duration_s": duration, "concurrency": users,
                  "max_in_flight": max(users, int(opts.get("max_in_flight", 500))),
                  "timeout_s": float(opts.get("timeout_s", 10)), "seed": ctx.seed, "mix": opts.get("mix", {}),
                  "arrivals": opts.get("arrivals", "poisson"), "out": str(out.absolute()),  # read in the child's folder
                  "workers": max(1, workers),
                  # the target's CA and the harness's client certificate (paths; a key's content never leaves its
                  # file), so a load reaches an HTTPS target the way the other checks do
                  "tls": ctx.target.tls.to_dict() if ctx.target.tls else None}
        (folder / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
        headers = {**ctx.headers, **(ctx.auth() if ctx.auth else {})}
        if ctx.oauth is not None:  # the generator sends one header throughout: it must outlive the whole load
            token_header, lifetime = ctx.oauth.fresh()
            needed = duration + 3 * config["timeout_s"] + STARTUP_GRACE_S + (REMOTE_WAIT_S if remote else 0)
            if lifetime < needed:
                raise EngineFailure(f"the target's access tokens live {lifetime:g} s, less than this load needs "
                                    f"({needed:g} s with start-up and time-outs); the load generator cannot renew "
                                    "them, so later requests would be refused (401) through no fault of the "
                                    "supplier's: ask for a longer token lifetime for the test, or shorten the load")
            headers = {**ctx.headers, **token_header}
        if ctx.deadline is not None and ctx.deadline.remaining() < duration + MIN_LOAD_OVERHEAD_S:
            raise ctx.deadline.exceeded(
                f"not started: {duration:g} s of load and the generator's start and stop (about "
                f"{MIN_LOAD_OVERHEAD_S:g} s) do not fit in the {max(0.0, ctx.deadline.remaining()):.0f} s left")
        ctx.progress((f"load: {users} simultaneous users" if users else f"load: {rate:g} arrivals/s")
                     + f" for {duration:g} s" + (f" on {workers} workers" if workers else ""))
        locust_stats = self._run_locust(requirement, ctx, folder, config, headers, local, remote,
                                        sizing.get("master_bind"))
        if not out.exists():
            raise EngineFailure(f"the load generator wrote no results (see {folder.name}/locust.log)")
        results = json.loads(out.read_text(encoding="utf-8"))
        summary = summarise(results, duration)
        summary["plain_locust"] = locust_stats
        summary["sizing"] = {"rate_per_s": None if users else rate, "concurrency": users or None,
                             "duration_s": duration, "workers": workers, "remote_workers": remote,
                             "source": "tender" if sizing.get("concurrency" if users else "arrival_rate")
                             or sizing.get("duration_s") else ctx.tier}
        slo = dict(opts.get("slo") or {})
        if slo.get("no_data_lost"):
            summary["writes"] = self._check_writes(results["writes"], ctx, headers)
        return self._outcome(requirement, slo, results, summary)

    @classmethod
    def _outcome(cls, requirement: Requirement, slo: dict[str, Any], results: dict[str, Any],
                 summary: dict[str, Any]) -> Result:
        problem = cls._generator_problem(results, summary, lateness=False)
        if problem:
            return Result(requirement.id, Outcome.ERROR, reason=problem, measurements=summary)
        findings = cls._judge(requirement, slo, summary)
        late = cls._generator_problem(results, summary)
        if late is None:
            return Result(requirement.id, Outcome.FAIL if findings else Outcome.PASS, findings=tuple(findings),
                          measurements=summary)
        sched = summary["schedule"]
        if findings or sched["max_lateness_ms"] > LATE_PASS_LIMIT_MS:
            if findings:
                late += "; the service level was missed, and a generator this late may be why"
            return Result(requirement.id, Outcome.ERROR, reason=late, measurements=summary)
        note = (f"passed although {sched['late']} of {sched['scheduled']} arrivals were sent late (at most "
                f"{sched['max_lateness_ms']:.0f} ms): their wait is counted in the latency, measured from each due "
                "time")
        sched["late_note"] = note
        return Result(requirement.id, Outcome.PASS, reason=note, measurements=summary)

    # --- the generator -------------------------------------------------------------------------------
    def _run_locust(self, requirement: Requirement, ctx: RunContext, folder: Path, config: dict[str, Any],
                    headers: dict[str, str], workers: int, remote: int = 0,
                    master_bind: str | None = None) -> dict[str, Any] | None:
        """A master and `workers` local worker processes, and `remote` workers started elsewhere by the user
        (the master listens on `master_bind`, HOST:PORT, and waits for them)."""
        module, _, user_class = str(requirement.check.options.get("scenario", "")).partition(":")
        locustfile = _loadtests_dir() / f"{module}.py"
        if not locustfile.is_file():
            raise EngineFailure(f"no load scenario {locustfile}")
        env: dict[str, Arg] = {
            "CONFORMANCE_LOAD_CONFIG": folder / "config.json", "CONFORMANCE_LOAD_HEADERS": json.dumps(headers),
            "PYTHONPATH": os.pathsep.join([str(locustfile.parent.parent), os.environ.get("PYTHONPATH", "")])}
        run_time = int(config["duration_s"] + 3 * config["timeout_s"] + 30)
        base: list[Arg] = [sys.executable, "-m", "locust", "-f", locustfile, user_class, "--headless", "--host",
                           ctx.target.base_url, "--only-summary", "--skip-log-setup", "--exit-code-on-error", "0",
                           "--json-file", folder / "locust"]
        bind_host, _, bind_port = (master_bind or "").rpartition(":")
        host, port = bind_host or "127.0.0.1", int(bind_port) if bind_port else _free_port()
        total = workers + remote
        users = str(max(1, total))
        master = [*base, "-u", users, "-r", users, "--run-time", f"{run_time + (REMOTE_WAIT_S if remote else 0)}s"]
        if total:
            master += ["--master", "--master-bind-host", host, "--master-bind-port", str(port),
                       "--expect-workers", str(total),
                       "--expect-workers-max-wait", str(REMOTE_WAIT_S if remote else 60)]
        if remote:
            command = (f"CONFORMANCE_LOAD_CONFIG=<a copy of {folder / 'config.json'}> CONFORMANCE_LOAD_HEADERS=<the "
                       f"target's request headers as JSON> python -m locust -f loadtests/{module}.py {user_class} "
                       f"--worker --master-host {host} --master-port {port}")
            (folder / "remote-worker.txt").write_text(command + "\n", encoding="utf-8")
            ctx.progress(f"waiting up to {REMOTE_WAIT_S} s for {remote} remote worker(s); on each run: {command}")
        log = folder / "locust.log"
        log.write_text("", encoding="utf-8")  # a re-run after resume starts a fresh log
        deadline = time.monotonic() + run_time + STARTUP_GRACE_S + (REMOTE_WAIT_S if remote else 0)
        with ProcessGroup(stop_signal=signal.SIGINT) as locust:  # locust writes its stats on SIGINT
            master_proc = locust.spawn(master, cwd=folder, env=env, log_path=log)
            for _ in range(workers):
                locust.spawn([sys.executable, "-m", "locust", "-f", locustfile, user_class, "--worker", "--master-host",
                              "127.0.0.1" if host in ("0.0.0.0", "::", "*") else host, "--master-port", str(port),
                              "--skip-log-setup"], cwd=folder, env=env, log_path=log)
            while master_proc.poll() is None:
                if ctx.stop.is_set():
                    raise KeyboardInterrupt
                if time.monotonic() > deadline:
                    raise EngineFailure(f"the load generator did not finish within {run_time + STARTUP_GRACE_S:.0f} s")
                if ctx.deadline is not None and ctx.deadline.passed():
                    raise ctx.deadline.exceeded(f"the load generator had not finished {config['duration_s']:g} s "
                                                "of load and was stopped")
                time.sleep(0.2)
        stats_file = folder / "locust.json"
        try:
            return _plain_locust(json.loads(stats_file.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @staticmethod
    def _generator_problem(results: dict[str, Any], summary: dict[str, Any], *, lateness: bool = True) -> str | None:
        sched = summary["schedule"]
        if results.get("setup_errors"):
            return f"the load could not be set up: {results['setup_errors'][0]}"
        if results.get("workers", 1) < max(1, summary["sizing"]["workers"]):
            return f"only {results.get('workers')} of {summary['sizing']['workers']} load workers reported"
        if sched["dropped"] or sched["capped"]:
            return (f"{UNKEPT_SCHEDULE}: {sched['dropped']} of {sched['scheduled']} arrivals "
                    f"dropped, {sched['capped']} held back by the in-flight cap (raise max_in_flight, or add "
                    f"--workers)")
        # A couple of arrivals a few milliseconds late (a scheduler hiccup on a shared machine) cannot move a
        # percentile; more than 1% of them, and never fewer than three, means the figures are the generator's.
        if lateness and sched["scheduled"] and sched["late"] > max(LATE_SHARE_LIMIT * sched["scheduled"],
                                                                   LATE_COUNT_ALLOWED):
            return (f"{UNKEPT_SCHEDULE}: {sched['late']} of {sched['scheduled']} arrivals "
                    f"sent more than 10 ms late (max {sched['max_lateness_ms']:.0f} ms; "
                    f"{lateness_cause(results.get('generator') or [])})")
        if sched["scheduled"] == 0:
            return ("no task was started" if summary["sizing"].get("concurrency")
                    else "no arrivals were scheduled (rate x duration < 1)")
        wanted, reached = summary["sizing"].get("concurrency"), summary["concurrency"]
        if wanted and (reached["users"] < wanted or reached["peak_in_flight"] < wanted):
            return (f"the generator did not reach the concurrency asked for: {reached['peak_in_flight']} requests "
                    f"in flight at most, from {reached['users']} users, where the requirement asks for {wanted} "
                    "(generator CPU saturated? add --workers)")
        return None

    @staticmethod
    def _check_writes(paths: list[str], ctx: RunContext, headers: dict[str, str]) -> dict[str, Any]:
        """Read back every acknowledged write (up to WRITE_CHECK_LIMIT); missing = answered 404 or 410."""
        missing: list[str] = []
        unreadable = 0
        checked = paths[:WRITE_CHECK_LIMIT]
        with httpx.Client(base_url=ctx.target.base_url, timeout=10.0, follow_redirects=False,
                          **ctx.target.http_options()) as client:
            for index, path in enumerate(checked):
                if ctx.stop.is_set():
                    raise KeyboardInterrupt
                if ctx.deadline is not None and ctx.deadline.passed():
                    raise ctx.deadline.exceeded(f"{index} of {len(checked)} acknowledged writes read back")
                if index % 200 == 0:
                    ctx.progress(f"reading back acknowledged writes: {index}/{len(checked)}")
                try:
                    response = client.get(path, headers=headers)
                except httpx.HTTPError:
                    unreadable += 1
                    continue
                if response.status_code in (404, 410):
                    missing.append(path)
                elif response.status_code != 200:
                    unreadable += 1
        return {"acknowledged": len(paths), "checked": len(checked), "missing": len(missing),
                "missing_examples": missing[:10], "unreadable": unreadable}

    # --- service levels ------------------------------------------------------------------------------
    @staticmethod
    def _judge(requirement: Requirement, slo: dict[str, Any], summary: dict[str, Any]) -> list[Finding]:
        findings: list[Finding] = []
        rid = requirement.id
        scope = slo.get("scope", "operations")
        for name, figures in summary[scope].items():
            for key in ("p50_ms", "p95_ms", "p99_ms"):
                if key in slo and figures[key] > float(slo[key]):
                    findings.append(Finding(
                        rid, "latency", f"{key[:-3]} latency above the service level",
                        f"{name}: {key[:-3]} {figures[key]:g} ms measured from the due time over {figures['count']} "
                        f"{'tasks' if scope == 'tasks' else 'requests'}; the profile allows {float(slo[key]):g} ms",
                        operation=name, occurrences=max(1, figures["count"]), code=f"slo_{key[:-3]}"))
        if "error_rate" in slo and summary["error_rate"] > float(slo["error_rate"]):
            worst: tuple[str | None, dict[str, Any]] = max(
                summary["operations"].items(), key=lambda kv: kv[1]["errors"], default=(None, {}))
            sample = (worst[1].get("error_samples") or [""])[0]
            findings.append(Finding(
                rid, "errors", "error rate above the service level",
                f"{summary['errors']} of {summary['requests']} requests failed ({summary['error_rate']:.2%}); the "
                f"profile allows {float(slo['error_rate']):.2%}. Most errors: {worst[0]} "
                f"(statuses {worst[1].get('statuses')}). Example: {sample}",
                operation=worst[0], occurrences=max(1, summary["errors"]), code="slo_error_rate"))
        if "min_throughput" in slo:
            scheduled = summary["schedule"]["scheduled"]
            share = summary["tasks_completed"] / scheduled if scheduled else 0.0
            if share < float(slo["min_throughput"]):
                findings.append(Finding(
                    rid, "throughput", "too few tasks completed",
                    f"{summary['tasks_completed']} of {scheduled} scheduled tasks completed ({share:.1%}); the "
                    f"profile requires {float(slo['min_throughput']):.0%}", code="slo_throughput"))
        findings.extend(LoadRunner._judge_availability(rid, slo, summary["availability"]))
        writes = summary.get("writes")
        if writes and writes["missing"]:
            findings.append(Finding(
                rid, "data_lost", "acknowledged writes were lost",
                f"{writes['missing']} of {writes['checked']} records the supplier acknowledged (201) no longer read "
                f"back (404), e.g. {', '.join(writes['missing_examples'][:3])}",
                occurrences=writes["missing"], code="data_lost"))
        if writes and writes["unreadable"] and not writes["missing"]:
            raise EngineFailure(f"{writes['unreadable']} acknowledged writes could not be read back to check them")
        return findings


    @staticmethod
    def _judge_availability(rid: str, slo: dict[str, Any], avail: dict[str, Any]) -> list[Finding]:
        if not any(key in slo for key in ("min_availability", "max_burst_s", "max_outages")):
            return []
        if not avail["windows"]:
            raise EngineFailure("no request was due in any second of the soak, so availability was not measured")
        findings = []
        bursts = "; ".join(f"at {b['start_s']} s for {b['length_s']} s ({b['wrong']} wrong answers, "
                           f"{b['no_answer']} unanswered)" for b in avail["bursts"][:5])
        if "min_availability" in slo and avail["availability"] < float(slo["min_availability"]):
            findings.append(Finding(
                rid, "availability", "availability below the service level",
                f"the supplier answered every request correctly in {avail['available']} of {avail['windows']} "
                f"seconds ({avail['availability']:.2%}); the profile requires {float(slo['min_availability']):.2%}. "
                f"Error bursts: {bursts}", occurrences=max(1, avail["windows"] - avail["available"]),
                code="slo_availability"))
        if "max_burst_s" in slo and avail["longest_burst_s"] > float(slo["max_burst_s"]):
            findings.append(Finding(
                rid, "error_burst", "an error burst lasted longer than the service level allows",
                f"the longest run of seconds with failed requests lasted {avail['longest_burst_s']} s; the profile "
                f"allows {float(slo['max_burst_s']):g} s. Bursts: {bursts}",
                occurrences=max(1, avail["burst_count"]), code="slo_burst"))
        if "max_outages" in slo and avail["outages"] > int(slo["max_outages"]):
            findings.append(Finding(
                rid, "outage", "the supplier stopped answering (a crash or restart)",
                f"{avail['outages']} outage(s) in which requests got no answer at all (refused, reset or timed "
                f"out); the profile allows {int(slo['max_outages'])}. Bursts: {bursts}",
                occurrences=avail["outages"], code="slo_outage"))
        return findings


def _plain_locust(stats: Any) -> dict[str, Any]:
    """What locust's own statistics say (response time from the actual send, in ms), for comparison only."""
    entries = stats if isinstance(stats, list) else stats.get("stats", [])
    out: dict[str, Any] = {}
    for entry in entries:
        times = {int(float(k)): int(v) for k, v in (entry.get("response_times") or {}).items()}
        total = sum(times.values())
        if not total:
            continue
        figures: dict[str, float] = {}
        for q in (50, 95, 99):
            need, seen = total * q / 100, 0
            for value in sorted(times):
                seen += times[value]
                if seen >= need:
                    figures[f"p{q}_ms"] = float(value)
                    break
        out[entry.get("name", "?")] = {**figures, "count": total}
    return out

