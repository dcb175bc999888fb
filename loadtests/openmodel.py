"""An open (arrival-rate) model for locust, with latency measured from the intended send time.

Locust's users wait for each response before the next request, so a stalled server is sent fewer requests and
its stall hides from the statistics (coordinated omission). Here arrivals follow a fixed schedule that never
waits for responses: arrival i of a worker is due at start + i / rate (workers interleave their phases). Each
arrival runs one task of the scenario's mix in its own greenlet; every request's latency is measured from when
it was due (the first request of a task from the arrival's due time, later steps from when the previous step
answered) and recorded in an HdrHistogram per operation and per task. The generator's own health is recorded
too: arrivals sent late (the generator was busy), held back by the in-flight cap, or dropped, its CPU time, and
how busy the whole machine's CPUs were meanwhile (so a late schedule says whose work held the generator back).

A task may also check what an answer says (`check=`): a search that finds nothing, the wrong record, an id
missing from an acknowledged create. Such an answer counts as an error of its operation (and its task), exactly as
a refused request does, with the reason among the operation's error samples.

With `"concurrency": N` the load is closed instead: N users start at the same instant (a burst of simultaneous
officers) and each runs one task after another, with no pause, for `duration_s`; so about N requests are in flight
at once throughout. Latency is then measured from each request's actual send (a closed model has no schedule).
Either way the generator records the requests it held in flight: the peak (requests sent and not yet answered at
one moment) and the mean over the load (Little's law: the summed time requests were outstanding / the load's
duration), so a run can say what concurrency it actually reached.

Configuration comes from the JSON file named by $CONFORMANCE_LOAD_CONFIG (written by the harness):
    {"rate": arrivals per second (all workers together), "duration_s", "max_in_flight", "timeout_s",
     "seed", "mix": {"task name": weight}, "arrivals": "poisson" | "uniform", "out": "results.json",
     "workers": K, "concurrency": N (0 or absent: the open model)}
Request headers (credentials) come from $CONFORMANCE_LOAD_HEADERS (JSON), never from a file.
Results: each worker (or the single local process) publishes its histograms; whoever runs the stats (the
master, or the local runner) merges them and writes `out`, then stops the test.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import resource
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, cast

import gevent
import gevent.event
from gevent.queue import SimpleQueue
from hdrh.histogram import HdrHistogram
from locust import User, events, task
from locust.runners import MasterRunner, WorkerRunner

from loadtests.transport import Transport

CONFIG_ENV = "CONFORMANCE_LOAD_CONFIG"
LATE_S = 0.010  # an arrival sent more than 10 ms after it was due counts as late
MESSAGE = "conformance_results"
HIGHEST_US = 120_000_000  # 120 s, in microseconds
NO_HEADERS: Mapping[str, Any] = MappingProxyType({})


def load_config() -> dict[str, Any]:
    path = os.environ.get(CONFIG_ENV)
    if not path:
        return {"rate": 1, "duration_s": 1, "max_in_flight": 10, "timeout_s": 10, "seed": 1, "mix": {},
                "out": "", "workers": 1}
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


CONFIG = load_config()


def machine_cpu() -> tuple[int, int, int] | None:
    """(busy, steal, total) time of all this machine's CPUs since boot, in clock ticks (Linux's /proc/stat; None
    elsewhere). Busy is everything but idle, I/O wait and steal (the time a virtual machine's host gave its CPUs
    to others), so over a load it is the generator's work and the rest of the machine's."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            ticks = [int(field) for field in fh.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    if len(ticks) < 5:
        return None
    steal = ticks[7] if len(ticks) > 7 else 0
    total = sum(ticks)  # user nice system idle iowait irq softirq steal (guests are counted in user)
    return total - ticks[3] - ticks[4] - steal, steal, total


def machine_shares(before: tuple[int, int, int] | None,
                   after: tuple[int, int, int] | None) -> tuple[float, float] | None:
    """The shares of all the machine's CPU time that were busy and stolen between two `machine_cpu()` readings
    (None when either is missing, or no clock tick passed between them)."""
    if before is None or after is None or after[2] <= before[2]:
        return None
    elapsed = after[2] - before[2]
    return round((after[0] - before[0]) / elapsed, 3), round((after[1] - before[1]) / elapsed, 3)


def histogram() -> HdrHistogram:
    return HdrHistogram(1, HIGHEST_US, 3)


SUB_BUCKET_BITS = 11  # HdrHistogram(1, HIGHEST_US, 3) counts values below 2**11 one by one, then 2**10 per doubling


class Histogram:
    """Microseconds counted by HdrHistogram bucket (1 us to 120 s, 3 significant digits) in a dict: recording is a
    few integer operations instead of HdrHistogram.record_value's chain of method calls (about 0.5 us against 3 us,
    three times per arrival). Each value is counted under the lowest value of its bucket, so `encode()` gives the
    very histogram that recording every value into an HdrHistogram would have."""

    __slots__ = ("counts",)

    def __init__(self) -> None:
        self.counts: dict[int, int] = {}

    def record_value(self, value: int) -> None:
        shift = value.bit_length() - SUB_BUCKET_BITS
        key = (value >> shift) << shift if shift > 0 else value
        self.counts[key] = self.counts.get(key, 0) + 1

    def encode(self) -> bytes:
        hist = histogram()
        for value, count in self.counts.items():
            hist.record_value(value, count)
        return bytes(hist.encode())


class Recorder:
    """Per-operation and per-task latency histograms (microseconds), counts, errors and status codes."""

    def __init__(self) -> None:
        self.operations: dict[str, dict[str, Any]] = {}
        self.tasks: dict[str, dict[str, Any]] = {}
        self.writes: list[str] = []  # ids of records the supplier acknowledged creating
        # Wall-clock second (epoch) a request was due -> [answered as expected, answered wrongly, no answer]:
        # availability over time, error bursts, and outages in which nothing answered at all (a restart).
        self.timeline: dict[int, list[int]] = {}
        self._wall_offset = time.time() - time.perf_counter()
        self.in_flight = 0  # requests sent and not yet answered, now
        self.peak_in_flight = 0
        self.busy_s = 0.0  # the summed time requests were outstanding (Little's law: / wall time = mean in flight)

    def sending(self) -> float:
        self.in_flight += 1
        if self.in_flight > self.peak_in_flight:
            self.peak_in_flight = self.in_flight
        return time.perf_counter()

    def answered(self, sent: float) -> float:
        self.in_flight -= 1
        now = time.perf_counter()
        self.busy_s += now - sent
        return now

    def moment(self, due: float, outcome: int) -> None:
        """Count one request in the second it was due: outcome 0 ok, 1 wrong answer, 2 no answer."""
        bucket = self.timeline.setdefault(int(due + self._wall_offset), [0, 0, 0])
        bucket[outcome] += 1

    @staticmethod
    def _slot(table: dict[str, dict[str, Any]], name: str) -> dict[str, Any]:
        if name not in table:
            table[name] = {"hist": Histogram(), "count": 0, "errors": 0, "statuses": {}, "error_samples": []}
        return table[name]

    def record(self, table: dict[str, dict[str, Any]], name: str, seconds: float, ok: bool, status: int | str) -> None:
        slot = self._slot(table, name)
        slot["hist"].record_value(max(1, min(int(seconds * 1_000_000), HIGHEST_US)))
        slot["count"] += 1
        slot["statuses"][str(status)] = slot["statuses"].get(str(status), 0) + 1
        if not ok:
            slot["errors"] += 1

    def error_sample(self, name: str, text: str, *, task: bool = False) -> None:
        samples = self._slot(self.tasks if task else self.operations, name)["error_samples"]
        if len(samples) < 5:
            samples.append(text[:300])

    def export(self) -> dict[str, Any]:
        def table(src: dict[str, dict[str, Any]]) -> dict[str, Any]:
            return {name: {"hdr": slot["hist"].encode().decode("ascii"), "count": slot["count"],
                           "errors": slot["errors"], "statuses": slot["statuses"],
                           "error_samples": slot["error_samples"]} for name, slot in src.items()}
        return {"operations": table(self.operations), "tasks": table(self.tasks), "writes": self.writes,
                "timeline": {str(k): v for k, v in self.timeline.items()}}


Check = Callable[[Any, Mapping[str, Any]], str | None]


class Step:
    """One request inside a task: `call` performs it and says whether the answer was the expected one."""

    __slots__ = ("due", "task_name", "user")

    def __init__(self, user: OpenModelUser, task_name: str, due: float) -> None:
        self.user = user
        self.task_name = task_name
        self.due = due  # when this step should have been sent

    def request(self, method: str, path: str, name: str, *, expect: tuple[int, ...] = (200,),
                json_body: Any = None, headers: dict[str, str] | None = None,
                check: Check | None = None) -> tuple[Any, Mapping[str, Any]]:
        """The answer's JSON body and headers (case-insensitive); raises StepFailed (after recording) on an
        unexpected answer.

        `check(body, headers)` says what is wrong with an expected status's answer (None: nothing): a wrong
        answer is an error of this operation like a refusal, recorded with `status` "wrong-answer"."""
        user = self.user
        recorder = user.recorder
        ok, status, body, answer_headers, size = False, "exception", None, NO_HEADERS, 0
        sent = recorder.sending()
        try:
            try:  # the body is read within the harness's bounds (loadtests/transport.py), timed with the answer
                code, got_headers, content = user.transport.send(method, path, json_body, headers)
            finally:
                now = recorder.answered(sent)
            status, size = code, len(content)
            ok = code in expect
            if ok:
                answer_headers = got_headers
                body = json.loads(content) if content else None
                problem = check(body, answer_headers) if check is not None else None
                if problem:
                    ok, status = False, "wrong-answer"
                    recorder.error_sample(name, f"{method} {path} -> {code} but {problem}")
            else:
                recorder.error_sample(name, f"{method} {path} -> {status}: "
                                            f"{bytes(content[:200]).decode('utf-8', errors='replace')}")
        except Exception as exc:  # timeouts, resets, garbage, a bound: an error of this request, never a crash
            ok = False
            recorder.error_sample(name, f"{method} {path} -> {type(exc).__name__}: {exc}")
        recorder.record(recorder.operations, name, now - self.due, ok, status)
        recorder.moment(self.due, 0 if ok else (2 if status == "exception" else 1))
        # locust's own statistics, latency from the actual send: the run's `plain_locust` comparison
        user.locust_stats.log_request(method, name, (now - sent) * 1000, size)
        self.due = now
        if not ok:
            user.locust_stats.log_error(method, name, str(status))
            raise StepFailed(name)
        return body, answer_headers


class StepFailed(Exception):
    pass


TaskFn = Callable[["OpenModelUser", Step, random.Random], None]


def _chooser(names: list[str], weights: list[float]) -> Callable[[random.Random], str]:
    """Picks an arrival's task by weight: one `random()` draw, the cumulative weights computed once."""
    if len(names) == 1:
        only = names[0]
        return lambda rng: only
    cumulative = list(itertools.accumulate(weights))
    return lambda rng: rng.choices(names, cum_weights=cumulative)[0]


class LazyRandom:
    """An arrival's own random source (its choices do not depend on the order arrivals finish in), seeded only
    when the task first draws from it: seeding a Mersenne Twister costs more than a short task that never uses
    it. Behaves as `random.Random(seed)`."""

    __slots__ = ("_rng", "_seed")

    def __init__(self, seed: float) -> None:
        self._seed = seed
        self._rng: random.Random | None = None

    def __getattr__(self, name: str) -> Any:
        if self._rng is None:
            self._rng = random.Random(self._seed)
        return getattr(self._rng, name)


class OpenModelUser(User):
    """One per worker: it runs this worker's share of the arrival schedule. Subclasses set `mix_tasks`.

    A locust User (locust runs the workers and the master), whose requests go through `loadtests/transport.py`
    rather than a FastHttpSession: the harness keeps its own histograms."""

    abstract = True
    concurrency = int(CONFIG.get("max_in_flight", 100))  # connections in the transport's pool
    network_timeout = float(CONFIG.get("timeout_s", 10.0))
    mix_tasks: ClassVar[dict[str, TaskFn]] = {}

    def setup_data(self, rng: random.Random) -> None:
        """Create what the tasks read (not measured). Override per profile, sending with `setup_request`."""

    def setup_request(self, method: str, path: str, json_body: Any, *, expect: int) -> Any:
        """One request of the load's setup (not measured): its JSON answer, read within the harness's bounds like
        every answer (`read_bounded`); an unexpected status is a RuntimeError saying what came back."""
        name = f"setup: {method} {path}"
        sent = time.perf_counter()
        status, _, content = self.transport.send(method, path, json_body)
        self.locust_stats.log_request(method, name, (time.perf_counter() - sent) * 1000, len(content))
        if status != expect:
            raise RuntimeError(f"{name} answered {status}: {bytes(content[:200]).decode('utf-8', errors='replace')}")
        return json.loads(content)

    def on_start(self) -> None:
        self.base_headers: dict[str, str] = json.loads(os.environ.get("CONFORMANCE_LOAD_HEADERS") or "{}")
        self.recorder = Recorder()
        self.locust_stats = self.environment.stats

    @task
    def run_schedule(self) -> None:
        runner = self.environment.runner
        index = getattr(runner, "worker_index", 0) if isinstance(runner, WorkerRunner) else 0
        workers = max(1, int(CONFIG.get("workers", 1)))
        rng = random.Random(f"{CONFIG.get('seed', 1)}-{index}")
        try:
            self.transport = Transport(self.host or "", concurrency=self.concurrency, timeout_s=self.network_timeout,
                                       headers=self.base_headers, tls=CONFIG.get("tls"))
            self.setup_data(rng)
            setup_error = None
        except Exception as exc:
            setup_error = f"{type(exc).__name__}: {exc}"
        mix = [(name, float(w)) for name, w in (CONFIG.get("mix") or {}).items() if float(w) > 0]
        users = int(CONFIG.get("concurrency") or 0)
        # a closed load's users are shared out between the workers: worker i runs every K-th of them
        local_users = len(range(index, users, workers))
        cpu0 = resource.getrusage(resource.RUSAGE_SELF)
        machine0 = machine_cpu()
        wall0 = time.perf_counter()
        stats: dict[str, Any] = {"scheduled": 0, "sent": 0, "late": 0, "capped": 0, "dropped": 0,
                                 "max_lateness_ms": 0.0, "lateness": Histogram()}
        window = 0.0
        if setup_error is None:
            if users:
                stats, window = self._closed(local_users, mix, rng, stats)
            else:
                stats, window = self._open(index, workers, mix, rng, stats)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        shares = machine_shares(machine0, machine_cpu())
        wall = time.perf_counter() - wall0
        cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
        lateness_hist = stats.pop("lateness")
        concurrency = {"users": local_users, "peak_in_flight": self.recorder.peak_in_flight,
                       "busy_s": self.recorder.busy_s, "window_s": window}
        generator = {"cpu_s": cpu, "wall_s": wall, "worker": index, "machine_cpus": os.cpu_count(),
                     "machine_busy": shares[0] if shares else None, "machine_steal": shares[1] if shares else None}
        payload = {**self.recorder.export(), "schedule": {**stats, "lateness_hdr": lateness_hist.encode().decode(
            "ascii")}, "generator": generator, "setup_error": setup_error, "concurrency": concurrency}
        publish(self.environment, payload)
        while True:  # this user's work is done; the test ends when every worker has published
            gevent.sleep(3600)

    def _open(self, index: int, workers: int, mix: list[tuple[str, float]], rng: random.Random,
              stats: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """This worker's share of the arrival schedule; returns the stats and the load's duration (s)."""
        names, weights = [m[0] for m in mix], [m[1] for m in mix]
        rate = float(CONFIG["rate"])
        per_worker = rate / workers
        count = int(float(CONFIG["duration_s"]) * per_worker)
        stats["scheduled"] = count
        cap = int(CONFIG.get("max_in_flight", 100))
        active = [0]  # arrivals in progress
        waiting = [False]  # the schedule is held back by the cap, waiting for `freed`
        freed = gevent.event.Event()
        # Arrivals run on long-lived greenlets fed from a queue: handing one over costs ~1-2 us, where a new
        # greenlet per arrival (spawn_raw) cost ~10 us. A runner is started only when none is idle, so there are
        # never more than the in-flight cap, and a slow rate needs few.
        queue: SimpleQueue[tuple[str, float, float] | None] = SimpleQueue()
        idle = [0]  # runners waiting for an arrival, less the arrivals already queued for them
        runners = [0]

        def runner() -> None:
            get, arrive = queue.get, self._arrive
            while (item := get()) is not None:
                name, due, seed = item
                try:
                    arrive(name, due, cast(random.Random, LazyRandom(seed)))
                finally:
                    active[0] -= 1
                    idle[0] += 1
                    if waiting[0]:
                        freed.set()

        def dispatch(item: tuple[str, float, float]) -> None:
            if idle[0]:
                idle[0] -= 1
            else:
                runners[0] += 1
                gevent.spawn_raw(runner)
            queue.put(item)

        poisson = CONFIG.get("arrivals", "poisson") == "poisson"
        start = time.perf_counter() + 0.5 + (0.0 if poisson else index / rate)
        drop_after = float(CONFIG.get("drop_after_s", 1.0))
        gaps = random.Random(f"{CONFIG.get('seed', 1)}-gaps-{index}")
        choose = _chooser(names, weights)
        lateness_hist, perf_counter = stats["lateness"], time.perf_counter
        due = start
        for i in range(count):
            # Poisson arrivals (officers act independently) or a fixed interval; either way the schedule
            # is fixed in advance and never waits for an answer.
            due = due + gaps.expovariate(per_worker) if poisson else start + i / per_worker
            delay = due - perf_counter()
            if delay > 0:
                gevent.sleep(delay)
            if active[0] >= cap:
                stats["capped"] += 1
                freed.clear()
                waiting[0] = True
                freed.wait(timeout=max(0.0, due + drop_after - perf_counter()))
                waiting[0] = False
            lateness = perf_counter() - due
            if lateness > drop_after or active[0] >= cap:
                stats["dropped"] += 1
                continue
            lateness_hist.record_value(max(1, int(lateness * 1_000_000)))
            if lateness * 1000 > stats["max_lateness_ms"]:
                stats["max_lateness_ms"] = lateness * 1000
            if lateness > LATE_S:
                stats["late"] += 1
            stats["sent"] += 1
            active[0] += 1
            dispatch((choose(rng), due, rng.random()))
        deadline = perf_counter() + float(CONFIG.get("timeout_s", 10.0)) * 3
        while active[0] and perf_counter() < deadline:  # every request is bounded by timeout_s
            gevent.sleep(0.02)
        for _ in range(runners[0]):
            queue.put(None)  # each runner ends when it takes one (a runner still stuck is left to the process's end)
        return stats, max(0.0, time.perf_counter() - start)

    def _closed(self, users: int, mix: list[tuple[str, float]], rng: random.Random,
                stats: dict[str, Any]) -> tuple[dict[str, Any], float]:
        """`users` simultaneous users, released at one instant, each running tasks back to back until the
        load's end: every task started is counted as scheduled and sent (nothing can be late or dropped)."""
        choose = _chooser([m[0] for m in mix], [m[1] for m in mix])
        gate = gevent.event.Event()
        start = [0.0]
        end = [0.0]

        def officer(seed: float) -> None:
            own = random.Random(seed)
            gate.wait()
            while time.perf_counter() < end[0]:
                stats["scheduled"] += 1
                stats["sent"] += 1
                self._arrive(choose(own), time.perf_counter(), cast(random.Random, LazyRandom(own.random())))

        group = [gevent.spawn(officer, rng.random()) for _ in range(users)]
        gevent.sleep(0.2)  # every user is waiting at the gate
        start[0] = time.perf_counter()
        end[0] = start[0] + float(CONFIG["duration_s"])
        gate.set()
        gevent.joinall(group, timeout=float(CONFIG["duration_s"]) + float(CONFIG.get("timeout_s", 10.0)) * 3)
        gevent.killall(group, block=True, timeout=5)
        return stats, max(0.0, time.perf_counter() - start[0])

    def _arrive(self, name: str, due: float, rng: random.Random) -> None:
        step = Step(self, name, due)
        ok = True
        try:
            self.mix_tasks[name](self, step, rng)
        except StepFailed:
            ok = False
        except Exception as exc:  # a task that cannot go on (an answer it cannot use): a failed task, not a crash
            ok = False
            self.recorder.error_sample(name, f"{type(exc).__name__}: {exc}", task=True)
        self.recorder.record(self.recorder.tasks, name, time.perf_counter() - due, ok, "ok" if ok else "failed")


# --- merging and writing results (master or local runner) ------------------------------------------

_received: list[dict[str, Any]] = []


def publish(environment: Any, payload: dict[str, Any]) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.send_message(MESSAGE, payload)
    else:
        _collect(environment, payload)


def _collect(environment: Any, payload: dict[str, Any]) -> None:
    _received.append(payload)
    if len(_received) >= max(1, int(CONFIG.get("workers", 1))):
        write_results(_received, CONFIG["out"])
        gevent.spawn_later(0.1, environment.runner.quit)


@events.init.add_listener
def _on_init(environment: Any, **_: Any) -> None:
    if isinstance(environment.runner, MasterRunner):
        environment.runner.register_message(MESSAGE, lambda msg, **kw: _collect(environment, msg.data))


def _merge_hdr(encoded: list[str]) -> str:
    total = histogram()
    for item in encoded:
        total.decode_and_add(item.encode("ascii"))
    return total.encode().decode("ascii")


def write_results(parts: list[dict[str, Any]], out: str) -> None:
    """Merge every worker's results (histograms added, counts summed) into one JSON file."""
    merged: dict[str, Any] = {"workers": len(parts), "operations": {}, "tasks": {}, "writes": [],
                              "schedule": {}, "generator": [], "setup_errors": [], "timeline": {}}
    for part in parts:
        for table in ("operations", "tasks"):
            for name, slot in part[table].items():
                into = merged[table].setdefault(name, {"hdr": [], "count": 0, "errors": 0, "statuses": {},
                                                        "error_samples": []})
                into["hdr"].append(slot["hdr"])
                into["count"] += slot["count"]
                into["errors"] += slot["errors"]
                for status, n in slot["statuses"].items():
                    into["statuses"][status] = into["statuses"].get(status, 0) + n
                into["error_samples"] = (into["error_samples"] + slot["error_samples"])[:5]
        merged["writes"].extend(part["writes"])
        for second, counts in part.get("timeline", {}).items():
            into_counts = merged["timeline"].setdefault(second, [0, 0, 0])
            for i, n in enumerate(counts):
                into_counts[i] += n
        sched = part["schedule"]
        for key in ("scheduled", "sent", "late", "capped", "dropped"):
            merged["schedule"][key] = merged["schedule"].get(key, 0) + sched[key]
        merged["schedule"]["max_lateness_ms"] = max(merged["schedule"].get("max_lateness_ms", 0.0),
                                                    sched["max_lateness_ms"])
        merged["schedule"].setdefault("lateness_hdr", []).append(sched["lateness_hdr"])
        merged["generator"].append(part["generator"])
        conc = part.get("concurrency") or {}
        into_conc = merged.setdefault("concurrency", {"users": 0, "peak_in_flight": 0, "busy_s": 0.0,
                                                      "window_s": 0.0, "worker_peaks": []})
        into_conc["users"] += int(conc.get("users", 0))
        into_conc["peak_in_flight"] += int(conc.get("peak_in_flight", 0))
        into_conc["worker_peaks"].append(int(conc.get("peak_in_flight", 0)))
        into_conc["busy_s"] += float(conc.get("busy_s", 0.0))
        into_conc["window_s"] = max(into_conc["window_s"], float(conc.get("window_s", 0.0)))
        if part.get("setup_error"):
            merged["setup_errors"].append(part["setup_error"])
    for table in ("operations", "tasks"):
        for slot in merged[table].values():
            slot["hdr"] = _merge_hdr(slot["hdr"])
    merged["schedule"]["lateness_hdr"] = _merge_hdr(merged["schedule"]["lateness_hdr"])
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(merged, fh)
    os.replace(tmp, out)
