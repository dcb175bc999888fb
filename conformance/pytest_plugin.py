"""The pytest plugin: run a profile beside a supplier's own test suite, one pytest item per requirement.

    pytest --conformance-profile pole-records --conformance-target http://127.0.0.1:8000 [-k POLE-REC] [--junitxml x]

Registered through the `pytest11` entry point (pyproject.toml) and inactive unless `--conformance-profile` is given:
until then it adds its options and nothing else, and this module imports no engine (the engine is imported when
the first requirement item runs). A front end like the CLI: it plans nothing and scores nothing itself.

- Collection: one item per requirement of the profile, named by its id (`pole-records@1.0.0::POLE-REC-005`), so
  `-k`, `--lf`, `--deselect` and JUnit work on ids.
- Running: when the first item runs, ONE run of the engine measures exactly the items still selected (as `--only`)
  and writes its run directory as `conformance run` does (`--conformance-runs-dir`, default `runs`); each item then
  reports its requirement's result.
- Outcomes: pass -> passed; fail -> failed (the findings with their curl reproductions); error (the harness could
  not measure) -> error; skipped, not-run, not-applicable, planned -> skipped with the reason; a baselined failure (with
  `--conformance-baseline FILE`, not expired) -> skipped "baselined: ...". A usage error (an unknown profile, a bad
  target) stops pytest with its one-line message.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

__all__ = ["RequirementItem"]

_KEY = pytest.StashKey["_Session"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "conformance harness (one item per requirement of a profile)")
    group.addoption("--conformance-profile", metavar="PROFILE",
                    help="Run this profile (id, id@version or folder) as pytest items; the plugin is off without it.")
    group.addoption("--conformance-target", metavar="URL|FILE#NAME",
                    help="The supplier system: a base URL, or targets.yaml#name.")
    group.addoption("--conformance-runs-dir", metavar="DIR", default="runs",
                    help="Where the run directory is written (default: runs).")
    group.addoption("--conformance-seed", type=int, metavar="N", help="Seed for generated cases (default: random).")
    group.addoption("--conformance-tier", choices=("quick", "full"), default="quick",
                    help="quick (default) or full.")
    group.addoption("--conformance-param", action="append", default=[], metavar="NAME=VALUE",
                    help="A parameter the profile asks for (conformance run --param); repeatable.")
    group.addoption("--conformance-baseline", metavar="FILE",
                    help="Accepted failures (conformance run --baseline): reported as skipped until they expire.")


class _Session:
    """The one run behind every item: made when the first item runs, over the items still selected."""

    def __init__(self, config: pytest.Config, profile_ref: str, target: str) -> None:
        self.config = config
        self.profile_ref = profile_ref
        self.target = target
        self.rows: dict[str, Mapping[str, Any]] | None = None
        self.run_dir: Path | None = None
        self.selected: list[str] = []

    def rows_for(self) -> dict[str, Mapping[str, Any]]:
        if self.rows is None:
            self.rows = self._run()
        return self.rows

    def _run(self) -> dict[str, Mapping[str, Any]]:
        from conformance.errors import UsageError
        from conformance.inputs.profiles import load_profile
        from conformance.inputs.targets import parse_param_options
        from conformance.session.execute import start_run

        opt = self.config.getoption
        scoring: dict[str, Any] = {}
        try:
            profile = load_profile(self.profile_ref)
            everything = [r.id for r in profile.requirements if not r.planned]
            only = () if set(everything) <= set(self.selected) else tuple(
                rid for rid in self.selected if rid in everything)
            if opt("conformance_baseline"):
                from conformance.supplier.baseline import load_baseline

                scoring["baseline"] = load_baseline(Path(opt("conformance_baseline")), profile)
            outcome = start_run(self.profile_ref, self.target, runs_dir=Path(opt("conformance_runs_dir")),
                                listener=_Quiet(), seed=opt("conformance_seed"), tier=opt("conformance_tier"),
                                only=only, scoring=scoring,
                                params=parse_param_options(opt("conformance_param")))
        except UsageError as exc:
            raise pytest.UsageError(str(exc)) from None
        self.run_dir = outcome.run_dir.path
        return {str(row["id"]): row for row in outcome.scorecard["requirements"]}


class _Quiet:
    """The run's listener: pytest's own reporting shows each item."""

    def planned(self, total: int, run_dir: Path) -> None: ...
    def requirement_started(self, requirement: Any) -> None: ...
    def requirement_progress(self, requirement: Any, text: str) -> None: ...
    def requirement_finished(self, requirement: Any, result: Any) -> None: ...
    def warning(self, text: str) -> None: ...


class RequirementFailed(AssertionError):
    """The supplier failed the requirement (shown without a traceback)."""


class RequirementError(RuntimeError):
    """The harness could not measure the requirement (pytest reports the item as an error)."""


class _Profile(pytest.Collector):
    def __init__(self, *, requirements: list[tuple[str, str, bool]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.requirements = requirements

    def collect(self) -> Iterator[pytest.Item]:
        for rid, title, planned in self.requirements:
            yield RequirementItem.from_parent(self, name=rid, title=title, planned=planned)


class RequirementItem(pytest.Item):
    """One requirement of the profile."""

    def __init__(self, *, title: str, planned: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.title = title
        self.planned = planned

    def _row(self) -> Mapping[str, Any]:
        return self.config.stash[_KEY].rows_for().get(self.name) or {"outcome": "not-run", "reason": "not run"}

    def setup(self) -> None:
        if self.planned:
            pytest.skip("planned: stated, but not yet checked by this harness version")
        row = self._row()
        outcome, reason = str(row.get("outcome")), str(row.get("reason") or row.get("outcome"))
        entry = row.get("baselined")
        if outcome != "pass" and isinstance(entry, Mapping) and not entry.get("expired"):
            pytest.skip(f"baselined: {entry.get('reason')} (accepted by {entry.get('accepted_by')}, until "
                        f"{entry.get('expires')}; measured: {outcome})")
        if outcome == "error":
            raise RequirementError(reason)
        if outcome == "not-applicable":  # its reason starts "not applicable: ..."
            pytest.skip(reason)
        if outcome in ("skipped", "not-run"):
            pytest.skip(f"{outcome}: {reason}")

    def runtest(self) -> None:
        row = self._row()
        if row.get("outcome") == "fail":
            lines = [str(row.get("reason") or "failed")]
            for finding in row.get("findings") or []:
                lines.append(f"- {finding.get('title')}: {finding.get('message')}")
                if finding.get("curl"):
                    lines.append(f"  reproduce: {finding['curl']}")
            raise RequirementFailed("\n".join(lines))
        if row.get("outcome") != "pass":  # never report an unknown outcome as a pass
            raise RequirementError(f"outcome {row.get('outcome')!r}: {row.get('reason')}")

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, (RequirementFailed, RequirementError)):
            return f"{self.name} {self.title}\n{excinfo.value}"
        return str(super().repr_failure(excinfo, style=style))

    def _repr_failure_py(self, excinfo: pytest.ExceptionInfo[BaseException],
                         style: Any = None) -> Any:
        """An error raised at setup (the harness could not measure) as its message, without pytest's traceback."""
        if isinstance(excinfo.value, RequirementError):
            return f"{self.name} {self.title}\nerror (not a supplier failure): {excinfo.value}"
        return super()._repr_failure_py(excinfo, style=style)

    def reportinfo(self) -> tuple[str, int | None, str]:
        return self.config.stash[_KEY].profile_ref, None, f"{self.name} {self.title}"


def pytest_configure(config: pytest.Config) -> None:
    profile = config.getoption("conformance_profile", default=None)
    if not profile:
        return
    target = config.getoption("conformance_target")
    if not target:
        raise pytest.UsageError("--conformance-profile needs --conformance-target URL (or targets.yaml#name)")
    if config.getoption("numprocesses", default=None):
        raise pytest.UsageError("--conformance-profile runs one engine run in one process: drop -n (pytest-xdist); "
                                "the engine measures requirements one after another anyway")
    config.stash[_KEY] = _Session(config, profile, target)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Add the profile's items first, so -k, --lf and --deselect see them like any other test."""
    state = config.stash.get(_KEY, None)
    if state is None:
        return
    from conformance.errors import UsageError
    from conformance.inputs.profiles import load_profile

    try:
        profile = load_profile(state.profile_ref)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    collector = _Profile.from_parent(session, name=profile.ref, nodeid=profile.ref,
                                     requirements=[(r.id, r.title, r.planned) for r in profile.requirements])
    collected: list[pytest.Item | pytest.Collector] = list(collector.collect())
    items.extend(item for item in collected if isinstance(item, pytest.Item))
    # tell the reporters, as pytest's own collection does, so "collected N items" counts these
    config.hook.pytest_collectreport(report=pytest.CollectReport(collector.nodeid, "passed", None,
                                                                  [*collected]))


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash.get(_KEY, None)
    if state is not None:
        state.selected = [item.name for item in session.items if isinstance(item, RequirementItem)]


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    state = config.stash.get(_KEY, None)
    if state is not None and state.run_dir is not None:
        terminalreporter.write_line(f"conformance run directory: {state.run_dir}")
