"""benchmarks/load_capacity.py's search for one worker's highest on-schedule rate, and the K-worker steps around
K x it, against a fake generator with a known limit (no process is started)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from benchmarks.load_capacity import MAX_SEARCH_RUNS, RateRun, find_limit, highest_kept, scale_out


def fake(limits: dict[int, float], runs: list[RateRun]) -> Callable[[float, int], RateRun]:
    """A generator that keeps its schedule up to `limits[workers]` arrivals/s and is 5% late above it."""
    def attempt(rate: float, workers: int) -> RateRun:
        late = 0 if rate <= limits[workers] else 50
        run = RateRun(rate=rate, scheduled=1000, sent=1000, late=late, dropped=0, capped=0, errors=0,
                      max_lateness_ms=1.0, cpu_s=1.0, wall_s=1.0, server_cpu_share=None, workers=workers)
        runs.append(run)
        return run
    return attempt


@pytest.mark.parametrize(("ladder", "limit"), [((3000.0, 6000.0), 7000.0), ((8000.0,), 1000.0), ((500.0,), 20000.0)])
def test_the_search_brackets_one_workers_limit_within_the_precision(ladder: tuple[float, ...], limit: float) -> None:
    runs: list[RateRun] = []
    attempt = fake({1: limit}, runs)
    for rate in ladder:
        attempt(rate, 1)
    find_limit(attempt, runs, 0.05)
    low = highest_kept(runs, 1)
    high = min(r.rate for r in runs if not r.kept_schedule and r.rate > low)
    assert low <= limit < high and (high - low) / low <= 0.05, (low, high, [r.rate for r in runs])
    assert len(runs) <= len(ladder) + MAX_SEARCH_RUNS


def test_k_workers_are_tried_at_k_times_one_workers_limit_then_stepped_down_until_kept() -> None:
    runs: list[RateRun] = []
    scale_out(fake({2: 11000.0}, runs), 2, 7000.0)  # two workers keep 1.57x one worker's rate
    assert [r.rate for r in runs] == [14000.0, 12600.0, 11200.0, 9800.0]
    assert highest_kept(runs, 2) == 9800.0


def test_k_workers_that_keep_k_times_the_rate_are_stepped_up_until_they_miss() -> None:
    runs: list[RateRun] = []
    scale_out(fake({2: 15000.0}, runs), 2, 7000.0)
    assert [r.rate for r in runs] == [14000.0, 15400.0]
    assert highest_kept(runs, 2) == 14000.0
