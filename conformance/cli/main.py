"""The `conformance` command. A thin front end: it parses, calls the engine, prints, and exits with
0 conformant, 1 non-conformant, 2 usage or configuration error, 3 incomplete (or interrupted)."""

from __future__ import annotations

import math
import sys
from enum import IntEnum
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from conformance import __version__
from conformance.cli.audit import COMMANDS as AUDIT_COMMANDS
from conformance.cli.governance import profiles
from conformance.cli.registry import COMMANDS as REGISTRY_COMMANDS
from conformance.cli.supplier import COMMANDS as SUPPLIER_COMMANDS
from conformance.errors import ConformanceError, UsageError
from conformance.inputs.profiles import load_profile
from conformance.inputs.targets import parse_param_options, parse_system_options
from conformance.model import Verdict
from conformance.reporters.terminal import literal

__all__ = ["ExitCode", "main"]


class ExitCode(IntEnum):
    CONFORMANT = 0
    NON_CONFORMANT = 1
    USAGE = 2
    INCOMPLETE = 3


VERDICT_EXIT = {Verdict.CONFORMANT: ExitCode.CONFORMANT, Verdict.NON_CONFORMANT: ExitCode.NON_CONFORMANT,
                Verdict.INCOMPLETE: ExitCode.INCOMPLETE}

# emoji=False: a file name and line (`profile.yaml:100:`) is printed as written, never as an emoji.
console = Console(highlight=False, emoji=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


class _FiniteRange(click.FloatRange):
    """click's FloatRange lets `nan` and `inf` through (no comparison with NaN is false); this does not."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


PLUGIN_GROUP = "conformance.commands"


class _Commands(click.Group):
    """The commands defined here, and each command another installed package registers under the entry-point
    group `conformance.commands` (name = "module:click_command"). The reference suppliers register `reference`
    that way (pyproject.toml), so the harness never imports them. A registered command is imported only when it
    is run or its help shown; one named like a command of this module is ignored."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *_registered()})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        own = super().get_command(ctx, cmd_name)
        if own is not None or cmd_name not in _registered():
            return own
        command = _registered()[cmd_name].load()
        if not isinstance(command, click.Command):
            raise UsageError(f"{cmd_name}: the entry point {_registered()[cmd_name].value} ({PLUGIN_GROUP}) is "
                             "not a click command")
        return command


def _registered() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="conformance")
def cli() -> None:
    """Test supplier systems against versioned operating-standard profiles, with evidence."""


# keys, bundle, verify (cli/audit.py); diff (cli/supplier.py); registry (cli/registry.py)
for _command in [*AUDIT_COMMANDS, *SUPPLIER_COMMANDS, *REGISTRY_COMMANDS]:
    cli.add_command(_command)
cli.add_command(profiles)  # conformance/cli/governance.py: profiles list | show | lint [--against] | diff | bundle


@cli.command()
@click.argument("profile", required=False)
@click.option("--target", "-t", "target", metavar="URL|FILE#NAME",
              help="The supplier system: a base URL, or targets.yaml#name (credentials from env vars).")
@click.option("--seed", type=int, help="Seed for generated cases (default: random, recorded in run.json).")
@click.option("--tier", type=click.Choice(["quick", "full"]),
              help="quick for CI (one seed, a fixed number of cases, 8 minutes at most; the default); full for "
                   "procurement and certification (3 seeds, 5x the cases, each schema requirement generating for "
                   "up to 600 s).")
@click.option("--budget", type=click.IntRange(min=1), metavar="SECONDS",
              help="Wall-clock budget for the whole run, shared among its requirements: each gets a deadline from "
                   "its share and ends by it (a verdict, or an error naming the deadline). Default: 480 for quick; "
                   "for full, 630 per schema requirement plus the others' allowance.")
@click.option("--only", multiple=True, metavar="REQ-ID", help="Run only these requirements (repeatable).")
@click.option("--skip", multiple=True, metavar="REQ-ID", help="Do not run these requirements (repeatable).")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Where run directories are created.")
@click.option("--resume", type=click.Path(path_type=Path, exists=True, file_okay=False), metavar="RUN_DIR",
              help="Continue an interrupted run: re-runs only requirements without a result (or with an error).")
@click.option("--load-rate", type=_FiniteRange(min=0.01), metavar="PER_SECOND",
              help="Load checks: arrivals per second, sized to the buyer (default: the profile's quick-tier rate).")
@click.option("--load-duration", type=_FiniteRange(min=1), metavar="SECONDS",
              help="Load checks: seconds of arrivals (default: the profile's; the full tier runs 6x as long).")
@click.option("--load-concurrency", type=click.IntRange(min=1), metavar="USERS",
              help="Load checks that measure concurrency: simultaneous users, requests in flight at once "
                   "(default: the profile's quick-tier level).")
@click.option("--workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Load checks: locust worker processes (0: one local process). Each runs its share of arrivals.")
@click.option("--remote-workers", type=click.IntRange(min=0), default=0, show_default=True,
              help="Load checks: locust workers you start on other machines (the run prints the command and waits).")
@click.option("--master-bind", metavar="HOST:PORT",
              help="Load checks: where the locust master listens for workers (default 127.0.0.1 on a free port; "
                   "remote workers need an address they can reach).")
@click.option("--system", "systems", multiple=True, metavar="NAME=URL",
              help="Another system the profile's requirements talk to (case-file: --system receiver=URL); "
                   "a targets file can give them under `systems:`.")
@click.option("--param", "params", multiple=True, metavar="NAME=VALUE",
              help="A value the profile's `parameters:` ask for (which collection, which record), adding to or "
                   "replacing the targets file's `params:`; used as ${params.NAME} in scenarios.")
@click.option("--allow-retired", is_flag=True, help="Run a retired profile version anyway (its results are not valid).")
@click.option("--baseline", type=click.Path(path_type=Path, dir_okay=False), metavar="FILE",
              help="Accepted failures (YAML: requirement, reason, accepted_by, expires): shown everywhere, they do "
                   "not fail the exit code until they expire.")
@click.option("--certify", is_flag=True,
              help="A certification run: full tier (the default then), every requirement, no baseline or waiver; "
                   "recorded as `certification: true`.")
def run(profile: str | None, target: str | None, seed: int | None, tier: str | None, budget: int | None,
        only: tuple[str, ...], skip: tuple[str, ...], runs_dir: Path, resume: Path | None,
        load_rate: float | None, load_duration: float | None, load_concurrency: int | None, workers: int,
        remote_workers: int, master_bind: str | None, systems: tuple[str, ...], params: tuple[str, ...],
        allow_retired: bool, baseline: Path | None, certify: bool) -> None:
    """Run PROFILE (id, id@version or folder) against a target and score it."""
    from conformance.reporters.terminal import TerminalListener, render_scorecard
    from conformance.session.execute import resume_run, start_run

    if resume is None and (profile is None or target is None):
        raise UsageError("give a PROFILE and --target (or --resume RUN_DIR); "
                         "e.g. conformance run pole-records --target http://127.0.0.1:8000")
    if resume is not None and (profile or target or seed is not None or only or skip or budget or load_rate
                               or load_duration or load_concurrency or workers or remote_workers or master_bind
                               or systems or params or allow_retired or tier or baseline or certify):
        raise UsageError("--resume takes the profile, target, seed and selection from the run; give nothing else")
    scoring: dict[str, Any] = {}
    if baseline is not None and certify:
        raise UsageError(f"--baseline {baseline}: a certification run refuses baselines; drop --baseline or --certify")
    if baseline is not None and profile is not None:
        from conformance.supplier.baseline import load_baseline

        scoring["baseline"] = load_baseline(baseline, load_profile(profile))
    with TerminalListener(console) as listener:
        if resume is not None:
            outcome = resume_run(resume, listener=listener)
        else:
            assert profile is not None and target is not None
            outcome = start_run(profile, target, runs_dir=runs_dir, listener=listener, seed=seed,
                                tier=tier or ("full" if certify else "quick"), certification=certify,
                                budget_s=budget, only=only, skip=skip, systems=parse_system_options(systems),
                                scoring=scoring, params=parse_param_options(params),
                                load={"arrival_rate": load_rate, "duration_s": load_duration,
                                      "concurrency": load_concurrency, "workers": workers,
                                      "remote_workers": remote_workers, "master_bind": _host_port(master_bind)},
                                allow_retired=allow_retired)
    render_scorecard(console, outcome.scorecard, run_dir=outcome.run_dir.path)
    if outcome.interrupted:
        err_console.print(f"[yellow]interrupted[/]: finished results are kept; continue with "
                          f"`conformance run --resume {outcome.run_dir.path}`")
        sys.exit(ExitCode.INCOMPLETE)
    sys.exit(gate_exit(outcome.scorecard))


def gate_exit(scorecard: Any) -> ExitCode:
    """The exit code: the verdict's, or with a baseline the verdict with its accepted failures set aside (an
    expired entry makes it non-conformant)."""
    gate = scorecard.get("baseline") or scorecard
    return VERDICT_EXIT[Verdict(gate["verdict"])]


@cli.command()
@click.argument("tender", required=False, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("evaluations"), show_default=True,
              help="Where the evaluation folder is created.")
@click.option("--resume", type=click.Path(path_type=Path, exists=True, file_okay=False), metavar="EVALUATION_DIR",
              help="Continue an interrupted evaluation: finished runs are kept, the rest run.")
@click.option("--check", is_flag=True, help="Only check the tender file and print the plan; run nothing.")
def evaluate(tender: Path | None, out_dir: Path, resume: Path | None, check: bool) -> None:
    """Evaluate TENDER (a tender.yaml): every candidate on every profile, then a ranked comparison.

    Exit 0 when at least one candidate meets the tender's thresholds, 1 when none does, 3 if interrupted.
    """
    from conformance.inputs.tender import load_tender
    from conformance.procurement.evaluate import evaluate_tender, resume_evaluation
    from conformance.reporters.terminal import TerminalListener, render_ranking

    if (tender is None) == (resume is None):
        raise UsageError("give a TENDER file, or --resume EVALUATION_DIR (not both)")
    if check:
        if tender is None:
            raise UsageError("--check takes a TENDER file")
        plan = load_tender(tender)
        console.print(f"{tender}: ok: [bold]{literal(plan.title)}[/] ({plan.id})")
        for tp in plan.profiles:
            console.print(f"  profile {tp.profile.ref} weight {tp.weight:g}, {len(tp.waivers)} waiver(s)")
        for name, spec in plan.systems.items():
            console.print(f"  system {name}: {literal(spec.get('command') or spec.get('base_url') or '')}")
        for cand in plan.candidates:
            how = f"command: {cand.command}" if cand.command else f"target: {cand.target}"
            console.print(f"  candidate {cand.name} ({literal(cand.supplier)}): {literal(how)}")
        from conformance.procurement.evaluate import interop_plan

        for ref, system, ids, pairs in interop_plan(plan):
            console.print(f"  interoperability on {ref}: {pairs} ordered pair(s), each candidate as the target and "
                          f"another as the {system}, on {', '.join(ids)}")
        return

    def say(text: str) -> None:
        console.print(literal(text, keep_newlines=True))

    with TerminalListener(console) as listener:
        if resume is not None:
            outcome = resume_evaluation(resume, listener=listener, say=say)
        else:
            assert tender is not None
            outcome = evaluate_tender(tender, out_dir=out_dir, listener=listener, say=say)
    render_ranking(console, outcome.comparison)
    for kind, path in outcome.files.items():
        console.print(f"{kind:>12}: {literal(str(path))}")
    if outcome.interrupted:
        err_console.print(f"[yellow]interrupted[/]: finished runs are kept; continue with "
                          f"`conformance evaluate --resume {literal(str(outcome.path))}`")
        sys.exit(ExitCode.INCOMPLETE)
    met = any(r["meets_thresholds"] for r in outcome.comparison["ranking"])
    sys.exit(ExitCode.CONFORMANT if met else ExitCode.NON_CONFORMANT)


@cli.command()
@click.argument("scorecards", nargs=-1, required=True, type=click.Path(path_type=Path, exists=True))
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), default=Path("comparison"),
              show_default=True, help="Folder for comparison.json, .html, .md, .csv and ranking.csv.")
@click.option("--title", default="Comparison of supplier systems", show_default=True)
def compare(scorecards: tuple[Path, ...], out_dir: Path, title: str) -> None:
    """Compare existing runs: each SCORECARD is a scorecard.json or a run directory."""
    from conformance.procurement.collect import comparison_from_files
    from conformance.reporters.files import write_comparison
    from conformance.reporters.terminal import render_ranking

    comparison = comparison_from_files(list(scorecards), out_dir=out_dir, title=title)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out: cannot create {out_dir}: {exc.strerror}") from None
    files = write_comparison(out_dir, comparison)
    render_ranking(console, comparison)
    for kind, path in files.items():
        console.print(f"{kind:>12}: {literal(str(path))}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
def report(run_dir: Path) -> None:
    """Score a run directory again and (re)write its scorecard.json, report.html, report.md, junit.xml and badge.svg."""
    from conformance.engine.rundir import RunDir
    from conformance.reporters.terminal import render_scorecard
    from conformance.session.execute import rescore, write_reports

    run = RunDir.open(run_dir)
    scorecard = rescore(run)
    write_reports(run, scorecard)
    render_scorecard(console, scorecard, run_dir=run.path)


def _host_port(value: str | None) -> str | None:
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--master-bind {value}: expected HOST:PORT, e.g. --master-bind 10.0.0.5:5557")
    return value


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        err_console.print("aborted")
        sys.exit(ExitCode.INCOMPLETE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except UsageError as exc:
        err_console.print(f"[red]error:[/] {literal(str(exc))}")
        sys.exit(ExitCode.USAGE)
    except ConformanceError as exc:
        err_console.print(f"[red]error:[/] {literal(str(exc))}")
        sys.exit(ExitCode.INCOMPLETE)


if __name__ == "__main__":
    main()
