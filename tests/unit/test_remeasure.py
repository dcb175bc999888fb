"""The suite's re-measure (tests/conftest.py `measured`): a load the harness declared unmeasured is measured again,
but a pass or a failure is never re-run, nor hidden by a later measurement."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import UNKEPT, Run, measured


def run_of(**outcomes: str) -> Run:
    rows = [{"id": rid, "outcome": got, "reason": f"{UNKEPT}: 5 of 60 arrivals sent late" if got == "unkept" else ""}
            for rid, got in outcomes.items()]
    for row in rows:
        row["outcome"] = "error" if row["outcome"] == "unkept" else row["outcome"]
    return Run(0, "", "", Path("."), {"requirements": rows}, "http://127.0.0.1:1")


def maker(*runs: Run) -> tuple[list[int], Callable[[], Run]]:
    made = [0]

    def make() -> Run:
        made[0] += 1
        return runs[made[0] - 1]
    return made, make


def test_a_run_with_every_load_measured_is_made_once() -> None:
    made, make = maker(run_of(A="pass", L="fail"))
    assert measured(make, "x").scorecard["requirements"][1]["outcome"] == "fail"
    assert made == [1]


def test_an_unmeasured_load_is_measured_again_and_the_new_measurement_counts() -> None:
    made, make = maker(run_of(A="pass", L="unkept"), run_of(A="pass", L="pass"))
    with pytest.warns(UserWarning, match="measured again"):
        run = measured(make, "x")
    assert made == [2] and [r["outcome"] for r in run.scorecard["requirements"]] == ["pass", "pass"]


def test_at_most_two_more_measurements() -> None:
    made, make = maker(*(run_of(A="pass", L="unkept") for _ in range(4)))
    with pytest.warns(UserWarning):
        run = measured(make, "x")
    assert made == [3] and run.scorecard["requirements"][1]["outcome"] == "error"


def test_a_later_measurement_never_hides_another_requirements_outcome() -> None:
    made, make = maker(run_of(A="fail", L="unkept"), run_of(A="pass", L="pass"))
    with pytest.warns(UserWarning) as caught:
        run = measured(make, "x")
    assert [str(w.message).split(":")[0] for w in caught] == ["x measured again", "x"]
    assert "came out differently" in str(caught[1].message) and "'A': ('fail', 'pass')" in str(caught[1].message)
    assert made == [2] and [r["outcome"] for r in run.scorecard["requirements"]] == ["fail", "error"]
