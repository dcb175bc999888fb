"""What a load requirement says about concurrency (conformance/runners/load.py, pure parts): the concurrency
reached comes from the generator's own counts, a closed load that never held the users it asks for is an error,
and a wrong answer counted by the scenario is an error of its operation like a refusal."""

from __future__ import annotations

from typing import Any

from hdrh.histogram import HdrHistogram

from conformance.model import CheckKind, CheckSpec, Level, Outcome, Requirement
from conformance.reporters.html import _concurrency_text, _schedule_text
from conformance.runners.load import LoadRunner, closed_users, concurrency_reached, summarise


def _hdr(values_ms: list[float]) -> str:
    hist = HdrHistogram(1, 120_000_000, 3)
    for value in values_ms:
        hist.record_value(int(value * 1000))
    return hist.encode().decode("ascii")


def _results(*, users: int, peaks: list[int], errors: int = 0, wrong: int = 0) -> dict[str, Any]:
    count = 1000
    statuses = {"200": count - errors - wrong, **({"503": errors} if errors else {}),
                **({"wrong-answer": wrong} if wrong else {})}
    slot = {"hdr": _hdr([20.0] * count), "count": count, "errors": errors + wrong, "statuses": statuses,
            "error_samples": ["GET /persons?... -> 200 but the search for Nowak-load4 1954-05-12 found nothing"]
            if wrong else []}
    return {"operations": {"GET /persons (search)": slot}, "tasks": {"search": dict(slot)}, "writes": [],
            "schedule": {"scheduled": count, "sent": count, "late": 0, "capped": 0, "dropped": 0,
                         "max_lateness_ms": 0.0, "lateness_hdr": _hdr([])},
            "generator": [], "workers": len(peaks),
            "concurrency": {"users": users, "peak_in_flight": sum(peaks), "worker_peaks": peaks,
                            "busy_s": 0.02 * count, "window_s": 5.0}}


def _requirement() -> Requirement:
    slo = {"p95_ms": 1000, "error_rate": 0.01}
    return Requirement("P-6", "t", Level.SHOULD, "performance", 1.0, "r",
                       CheckSpec(CheckKind.LOAD, {"slo": slo, "concurrency": 32}))


def _judged(raw: dict[str, Any], wanted: int) -> Any:
    summary = summarise(raw, 5.0)
    summary["sizing"] = {"workers": 0, "concurrency": wanted, "duration_s": 5.0}
    return LoadRunner._outcome(_requirement(), {"p95_ms": 1000, "error_rate": 0.01}, raw, summary)


def test_the_concurrency_reached_is_the_generators_peak_and_littles_law_mean() -> None:
    got = concurrency_reached({"users": 32, "peak_in_flight": 32, "worker_peaks": [16, 16], "busy_s": 150.0,
                               "window_s": 5.0})
    assert got == {"users": 32, "peak_in_flight": 32, "worker_peaks": [16, 16], "mean_in_flight": 30.0}
    assert concurrency_reached({})["mean_in_flight"] == 0.0  # nothing measured: zero, never a made-up figure


def test_a_closed_load_that_reached_its_users_is_judged_on_errors_and_latency() -> None:
    passed = _judged(_results(users=32, peaks=[32]), 32)
    assert passed.outcome is Outcome.PASS, passed.reason
    assert passed.measurements["concurrency"]["peak_in_flight"] == 32
    refused = _judged(_results(users=32, peaks=[32], errors=600), 32)
    assert refused.outcome is Outcome.FAIL
    assert [f.code for f in refused.findings] == ["slo_error_rate"]


def test_a_closed_load_that_never_held_its_users_in_flight_is_an_error_never_a_pass() -> None:
    short = _judged(_results(users=32, peaks=[5]), 32)
    assert short.outcome is Outcome.ERROR
    assert "did not reach the concurrency asked for: 5 requests in flight at most" in short.reason
    assert "asks for 32" in short.reason
    few_users = _judged(_results(users=16, peaks=[8, 8]), 32)  # a worker that never started its share
    assert few_users.outcome is Outcome.ERROR
    assert _judged(_results(users=32, peaks=[16, 16]), 32).outcome is Outcome.PASS


def test_a_wrong_answer_under_load_counts_against_the_operation() -> None:
    """The clean reference's searches once came back empty while the operation said `errors: 0`: the samples
    said so, the figures did not. Wrong answers are counted as errors and can fail the service level."""
    raw = _results(users=32, peaks=[32], wrong=40)
    result = _judged(raw, 32)
    operation = result.measurements["operations"]["GET /persons (search)"]
    assert operation["errors"] == 40 and operation["statuses"]["wrong-answer"] == 40
    assert result.outcome is Outcome.FAIL
    (finding,) = result.findings
    assert "found nothing" in finding.message


def test_the_report_says_what_concurrency_was_reached_and_asked_for() -> None:
    summary = summarise(_results(users=32, peaks=[16, 15]), 5.0)
    summary["sizing"] = {"workers": 2, "concurrency": 32, "duration_s": 5.0, "source": "quick"}
    assert _concurrency_text(summary) == ("31 requests in flight at most (mean 4), summed over the workers' peaks; "
                                          "32 asked for")
    assert _schedule_text(summary).startswith("1000 tasks run back to back (a closed load: nothing late or dropped)"
                                              "; load 32 simultaneous users for 5 s, 2 processes")
    assert _concurrency_text({}) == "not recorded"


def test_only_a_requirement_that_asks_for_concurrency_runs_a_closed_load() -> None:
    tender = {"concurrency": 400, "arrival_rate": 200}
    assert closed_users({"rate": 40}, tender) == 0  # an open load stays open whatever the tender sizes
    assert closed_users({"concurrency": 32}, tender) == 400
    assert closed_users({"concurrency": 32}, {"arrival_rate": 200}) == 32  # the quick-tier level
