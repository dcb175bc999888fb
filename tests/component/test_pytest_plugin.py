"""The pytest plugin (conformance/pytest_plugin.py) under pytest's own `pytester` (a pytest subprocess for each
engine run) against reference processes on loopback: off without its option, one item per requirement with the id
in the node id, `-k` and `--lf` select requirements, outcomes map (fail -> failed, error -> error, baselined ->
skipped with the reason), JUnit names the ids, and the run directory is written as `conformance run` writes it."""

from __future__ import annotations

import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from conformance.inputs.profiles import load_profile
from tests.conftest import reference

REF = load_profile("pole-records").ref  # what a bare `pole-records` means: its latest active version
# Items of the bare profile (its latest active version): one per requirement, planned ones included
REQUIREMENTS = len(load_profile("pole-records").requirements)

pytest_plugins = ["pytester"]

# the inner pytest loads the plugin from its entry point, after this process imported the package already
NO_ENGINE_PLUGINS = ("-p", "no:schemathesis", "-p", "no:locust", "-p", "no:randomly",
                     "-W", "ignore::pytest.PytestAssertRewriteWarning")


@pytest.fixture(scope="module")
def lost_update() -> Iterator[str]:
    with reference("lost-update") as url:
        yield url


def _run(pytester: pytest.Pytester, url: str, *args: str) -> pytest.RunResult:
    """A pytest subprocess: pytester's in-process runs drop the modules each inner run imported, and the engine
    re-imported by the next one mixed two copies of httpcore's exception classes (a ConnectError went unmapped)."""
    return pytester.runpytest_subprocess(*NO_ENGINE_PLUGINS, "--conformance-profile", "pole-records",
                                        "--conformance-target", url, "--conformance-runs-dir",
                                        str(pytester.path / "runs"), "--conformance-seed", "1", *args)


def test_it_is_registered_and_its_module_imports_no_engine() -> None:
    assert [e.value for e in entry_points(group="pytest11") if e.name == "conformance"] == ["conformance.pytest_plugin"]
    code = ("import sys, conformance.pytest_plugin; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'schemathesis', 'locust', 'gevent', 'httpx'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == "[]"


def test_without_its_option_it_adds_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_own():\n    assert True\n")
    result = pytester.runpytest_inprocess(*NO_ENGINE_PLUGINS)
    result.assert_outcomes(passed=1)
    assert not (pytester.path / "runs").exists()


def test_items_per_requirement_selected_with_k_mapped_and_in_junit(pytester: pytest.Pytester,
                                                                    lost_update: str) -> None:
    pytester.makepyfile("def test_suppliers_own_test():\n    assert True\n")
    junit = pytester.path / "junit.xml"
    result = _run(pytester, lost_update, "-k", "POLE-REC-001 or POLE-REC-005 or own", f"--junitxml={junit}", "-rA")
    result.assert_outcomes(passed=2, failed=1, deselected=REQUIREMENTS - 2)
    result.stdout.fnmatch_lines([f"collected {REQUIREMENTS + 1} items / {REQUIREMENTS - 2} deselected / 3 selected",
                                 "*reproduce: curl -X PUT*",
                                 f"PASSED {REF}::POLE-REC-001",
                                 f"FAILED {REF}::POLE-REC-005 - POLE-REC-005 Concurrent updates*"])
    names = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    assert names["POLE-REC-005"].find("failure") is not None and names["POLE-REC-001"].find("failure") is None
    runs = list((pytester.path / "runs").iterdir())
    assert len(runs) == 1 and (runs[0] / "scorecard.json").is_file() and (runs[0] / "report.html").is_file()
    meta = json.loads((runs[0] / "run.json").read_text(encoding="utf-8"))
    assert meta["only"] == ["POLE-REC-001", "POLE-REC-005"]  # the run measured only the selected items

    again = _run(pytester, lost_update, "--lf")  # only what failed last time
    again.assert_outcomes(failed=1, deselected=REQUIREMENTS)


def test_an_unmeasurable_requirement_is_an_error_and_a_usage_error_stops_pytest(pytester: pytest.Pytester) -> None:
    unreachable = _run(pytester, "http://127.0.0.1:9", "-k", "POLE-REC-001")
    unreachable.assert_outcomes(errors=1, deselected=REQUIREMENTS - 1)
    unreachable.stdout.fnmatch_lines(["*target unreachable*"])
    unknown = pytester.runpytest_subprocess(*NO_ENGINE_PLUGINS, "--conformance-profile", "no-such-profile",
                                           "--conformance-target", "http://127.0.0.1:9")
    assert unknown.ret == pytest.ExitCode.USAGE_ERROR
    no_target = pytester.runpytest_subprocess(*NO_ENGINE_PLUGINS, "--conformance-profile", "pole-records")
    assert no_target.ret == pytest.ExitCode.USAGE_ERROR
    no_target.stderr.fnmatch_lines(["*--conformance-profile needs --conformance-target*"])
    parallel = pytester.runpytest_subprocess(*NO_ENGINE_PLUGINS, "--conformance-profile", "pole-records",
                                             "--conformance-target", "http://127.0.0.1:9", "-n", "2")
    assert parallel.ret == pytest.ExitCode.USAGE_ERROR
    parallel.stderr.fnmatch_lines(["*drop -n (pytest-xdist)*"])


def test_a_baselined_failure_is_skipped_with_its_reason(pytester: pytest.Pytester, lost_update: str,
                                                        tmp_path: Path) -> None:
    baseline = tmp_path / "baseline.yaml"
    baseline.write_text("profile: pole-records\nentries:\n  - requirement: POLE-REC-005\n    reason: fix in 2.4\n"
                        "    accepted_by: QA lead\n    expires: 2999-01-01\n", encoding="utf-8")
    result = _run(pytester, lost_update, "-k", "POLE-REC-005", "--conformance-baseline", str(baseline), "-rs")
    result.assert_outcomes(skipped=1, deselected=REQUIREMENTS - 1)
    result.stdout.fnmatch_lines(["*baselined: fix in 2.4 (accepted by QA lead, until 2999-01-01; measured: fail)*"])


def test_parameters_are_given_and_a_requirement_that_does_not_apply_is_skipped_with_its_reason(
        pytester: pytest.Pytester, tmp_path: Path) -> None:
    from tests.component.test_following_a_server import _profile, linked_pages

    folder = _profile(tmp_path / "profiles")
    with linked_pages() as server:
        result = pytester.runpytest_subprocess(
            *NO_ENGINE_PLUGINS, "--conformance-profile", str(folder), "--conformance-target",
            f"http://127.0.0.1:{server.server_address[1]}", "--conformance-runs-dir", str(pytester.path / "runs"),
            "--conformance-param", "collection=lakes", "-rs")
    result.assert_outcomes(passed=2, skipped=2)
    result.stdout.fnmatch_lines(["*not applicable: the target gives no parameter 'temporal_collection'*",
                                 "*not applicable: step 'the collection has a temporal extent'*"],
                                consecutive=False)
