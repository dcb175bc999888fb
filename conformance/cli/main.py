"""The `conformance` command. A thin front end: it parses, calls the engine, prints, and exits with
0 conformant, 1 non-conformant, 2 usage or configuration error, 3 incomplete (or interrupted)."""

from __future__ import annotations

import json
import sys
from enum import IntEnum
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from conformance import __version__
from conformance.errors import ConformanceError, UsageError
from conformance.inputs.profiles import find_profiles, lint_profile, load_profile
from conformance.model import Verdict

__all__ = ["ExitCode", "main"]


class ExitCode(IntEnum):
    CONFORMANT = 0
    NON_CONFORMANT = 1
    USAGE = 2
    INCOMPLETE = 3


VERDICT_EXIT = {Verdict.CONFORMANT: ExitCode.CONFORMANT, Verdict.NON_CONFORMANT: ExitCode.NON_CONFORMANT,
                Verdict.INCOMPLETE: ExitCode.INCOMPLETE}

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="conformance")
def cli() -> None:
    """Test supplier systems against versioned operating-standard profiles, with evidence."""


@cli.command()
@click.argument("profile", required=False)
@click.option("--target", "-t", "target", metavar="URL|FILE#NAME",
              help="The supplier system: a base URL, or targets.yaml#name (credentials from env vars).")
@click.option("--seed", type=int, help="Seed for generated cases (default: random, recorded in run.json).")
@click.option("--tier", type=click.Choice(["quick", "full"]), default="quick", show_default=True,
              help="quick for CI (one seed, a fixed number of cases); full for procurement (3 seeds, 5x the "
                   "cases, and keeps generating until the time budget is spent).")
@click.option("--budget", type=click.IntRange(min=1), metavar="SECONDS",
              help="Time budget per requirement, shared by its seeds; the engine keeps generating until it is "
                   "spent. Default: none for quick, 600 for full.")
@click.option("--only", multiple=True, metavar="REQ-ID", help="Run only these requirements (repeatable).")
@click.option("--skip", multiple=True, metavar="REQ-ID", help="Do not run these requirements (repeatable).")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Where run directories are created.")
@click.option("--resume", type=click.Path(path_type=Path, exists=True, file_okay=False), metavar="RUN_DIR",
              help="Continue an interrupted run: re-runs only requirements without a result (or with an error).")
@click.option("--load-rate", type=click.FloatRange(min=0.01), metavar="PER_SECOND",
              help="Load checks: arrivals per second, sized to the buyer (default: the profile's quick-tier rate).")
@click.option("--load-duration", type=click.FloatRange(min=1), metavar="SECONDS",
              help="Load checks: seconds of arrivals (default: the profile's; the full tier runs 6x as long).")
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
def run(profile: str | None, target: str | None, seed: int | None, tier: str, budget: int | None,
        only: tuple[str, ...], skip: tuple[str, ...], runs_dir: Path, resume: Path | None,
        load_rate: float | None, load_duration: float | None, workers: int, remote_workers: int,
        master_bind: str | None, systems: tuple[str, ...]) -> None:
    """Run PROFILE (id, id@version or folder) against a target and score it."""
    from conformance.reporters.terminal import TerminalListener, render_scorecard
    from conformance.session.execute import resume_run, start_run

    if resume is None and (profile is None or target is None):
        raise UsageError("give a PROFILE and --target (or --resume RUN_DIR); "
                         "e.g. conformance run pole-records --target http://127.0.0.1:8000")
    if resume is not None and (profile or target or seed is not None or only or skip or budget or load_rate
                               or load_duration or workers or remote_workers or master_bind or systems):
        raise UsageError("--resume takes the profile, target, seed and selection from the run; give nothing else")
    with TerminalListener(console) as listener:
        if resume is not None:
            outcome = resume_run(resume, listener=listener)
        else:
            assert profile is not None and target is not None
            outcome = start_run(profile, target, runs_dir=runs_dir, listener=listener, seed=seed, tier=tier,
                                budget_s=budget, only=only, skip=skip, systems=_system_options(systems, "--system"),
                                load={"arrival_rate": load_rate, "duration_s": load_duration, "workers": workers,
                                      "remote_workers": remote_workers, "master_bind": _host_port(master_bind)})
    render_scorecard(console, outcome.scorecard, run_dir=outcome.run_dir.path)
    if outcome.interrupted:
        err_console.print(f"[yellow]interrupted[/]: finished results are kept; continue with "
                          f"`conformance run --resume {outcome.run_dir.path}`")
        sys.exit(ExitCode.INCOMPLETE)
    sys.exit(VERDICT_EXIT[outcome.scorecard["verdict"]])


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
        console.print(f"{tender}: ok: [bold]{escape(plan.title)}[/] ({plan.id})")
        for tp in plan.profiles:
            console.print(f"  profile {tp.profile.ref} weight {tp.weight:g}, {len(tp.waivers)} waiver(s)")
        for name, spec in plan.systems.items():
            console.print(f"  system {name}: {escape(spec.get('command') or spec.get('base_url') or '')}")
        for cand in plan.candidates:
            how = f"command: {cand.command}" if cand.command else f"target: {cand.target}"
            console.print(f"  candidate {cand.name} ({escape(cand.supplier)}): {escape(how)}")
        from conformance.procurement.evaluate import interop_plan

        for ref, system, ids, pairs in interop_plan(plan):
            console.print(f"  interoperability on {ref}: {pairs} ordered pair(s), each candidate as the target and "
                          f"another as the {system}, on {', '.join(ids)}")
        return

    def say(text: str) -> None:
        console.print(escape(text))

    with TerminalListener(console) as listener:
        if resume is not None:
            outcome = resume_evaluation(resume, listener=listener, say=say)
        else:
            assert tender is not None
            outcome = evaluate_tender(tender, out_dir=out_dir, listener=listener, say=say)
    render_ranking(console, outcome.comparison)
    for kind, path in outcome.files.items():
        console.print(f"{kind:>12}: {escape(str(path))}")
    if outcome.interrupted:
        err_console.print(f"[yellow]interrupted[/]: finished runs are kept; continue with "
                          f"`conformance evaluate --resume {escape(str(outcome.path))}`")
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
        console.print(f"{kind:>12}: {escape(str(path))}")


@cli.command()
@click.argument("run_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
def report(run_dir: Path) -> None:
    """Score a run directory again and (re)write its scorecard.json, report.html, report.md and junit.xml."""
    from conformance.engine.rundir import RunDir
    from conformance.reporters.terminal import render_scorecard
    from conformance.session.execute import rescore, write_reports

    run = RunDir.open(run_dir)
    scorecard = rescore(run)
    write_reports(run, scorecard)
    render_scorecard(console, scorecard, run_dir=run.path)


@cli.group()
def profiles() -> None:
    """List, show and lint profiles."""


@profiles.command("list")
def profiles_list() -> None:
    """Every profile version found (./profiles, $CONFORMANCE_PROFILES_PATH, the shipped ones)."""
    table = Table("id", "version", "status", "title", "requirements", "path")
    for entry in find_profiles():
        try:
            p = load_profile(entry.path)
            table.add_row(p.id, p.version, p.status.value, p.title, str(len(p.requirements)), str(entry.path))
        except ConformanceError as exc:
            table.add_row(entry.id, entry.version, "[red]invalid[/]", str(exc)[:80], "-", str(entry.path))
    console.print(table)


@profiles.command("show")
@click.argument("profile")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def profiles_show(profile: str, as_json: bool) -> None:
    """Show a profile's requirements (ID or ID@VERSION or a folder)."""
    p = load_profile(profile)
    if as_json:
        data: dict[str, Any] = {
            "id": p.id, "version": p.version, "title": p.title, "status": p.status.value, "digest": p.digest,
            "requirements": [{"id": r.id, "title": r.title, "level": r.level.value, "category": r.category,
                              "weight": r.weight, "status": r.status.value, "check_kind": r.check.kind.value}
                             for r in p.requirements]}
        click.echo(json.dumps(data, indent=2))
        return
    console.print(f"[bold]{p.title}[/] ({p.id} {p.version}, {p.status.value})\n{p.summary}\n"
                  f"digest {p.digest}\n")
    table = Table("id", "level", "category", "weight", "check", "status", "title")
    for r in p.requirements:
        status = "[yellow]planned[/]" if r.planned else "active"
        table.add_row(r.id, r.level.value, r.category, f"{r.weight:g}", r.check.kind.value, status, r.title)
    console.print(table)


@profiles.command("lint")
@click.argument("paths", nargs=-1, required=True)
def profiles_lint(paths: tuple[str, ...]) -> None:
    """Validate profile folders (profile.yaml, openapi.yaml, CHANGELOG.md); exit 2 on any problem."""
    problems = 0
    for path in paths:
        found = lint_profile(path)
        for problem in found:
            err_console.print(str(problem), markup=False)
        problems += len(found)
        if not found:
            console.print(f"{path}: ok")
    if problems:
        sys.exit(ExitCode.USAGE)


@cli.group()
def reference() -> None:
    """The reference supplier systems (the demo target and the harness's oracle)."""


@reference.command("serve")
@click.option("--profile", default="pole-records", show_default=True, help="Which profile to implement.")
@click.option("--fault", "faults", multiple=True, metavar="NAME", help="Inject a catalogued fault (repeatable; "
              "`conformance reference faults --profile P` lists them).")
@click.option("--system", "systems", multiple=True, metavar="NAME=URL",
              help="Another system this reference talks to (case-file: --system receiver=URL).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8000, show_default=True, help="0 picks a free port.")
@click.option("--db", type=click.Path(path_type=Path), help="SQLite file (default: a fresh temporary one).")
@click.option("--api-key-env", metavar="VAR", help="Require the API key held in this environment variable.")
@click.option("--ready-file", type=click.Path(path_type=Path), help="Write the URL here once serving.")
@click.option("--oauth-client", metavar="ID", help="pole-records: require OAuth2 access tokens, issued to this "
              "client at POST /__reference/oauth/token (client credentials grant).")
@click.option("--oauth-secret-env", metavar="VAR", help="The environment variable holding that client's secret.")
@click.option("--token-ttl", type=click.FloatRange(min=0.5), default=300.0, show_default=True,
              help="Lifetime of the access tokens, in seconds.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), help="Serve HTTPS with this certificate.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), help="The certificate's private key.")
@click.option("--tls-client-ca", type=click.Path(exists=True, dir_okay=False),
              help="Require client certificates signed by this CA (mutual TLS).")
@click.option("--stall-ms", type=click.FloatRange(min=1), default=1000.0, show_default=True,
              help="With --fault stall: how long each freeze lasts.")
@click.option("--stall-every-ms", type=click.FloatRange(min=2), default=2000.0, show_default=True,
              help="With --fault stall: a freeze starts every this many milliseconds.")
def reference_serve(profile: str, faults: tuple[str, ...], systems: tuple[str, ...], host: str, port: int,
                    db: Path | None, api_key_env: str | None, ready_file: Path | None, oauth_client: str | None,
                    oauth_secret_env: str | None, token_ttl: float, tls_cert: str | None, tls_key: str | None,
                    tls_client_ca: str | None, stall_ms: float, stall_every_ms: float) -> None:
    """Serve a reference supplier over HTTP until Ctrl-C."""
    import os

    from fixtures.reference.server import serve
    from fixtures.registry import REFERENCES

    loaded = load_profile(profile)
    impl = REFERENCES.get(loaded.id)
    if impl is None:
        raise UsageError(f"--profile: no reference supplier implements {loaded.id}; "
                         f"references exist for {', '.join(sorted(REFERENCES))}")
    known = impl.faults()
    for name in faults:
        if name not in known:
            raise UsageError(f"--fault: {loaded.id} has no fault '{name}'; known: {', '.join(sorted(known))}")
    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise UsageError(f"--api-key-env: environment variable {api_key_env} is not set")
    options: dict[str, Any] = {}
    if loaded.id == "pole-records":
        from fixtures.reference.app import LoadFaultOptions, OAuthClient

        if stall_ms >= stall_every_ms:
            raise UsageError("--stall-ms must be shorter than --stall-every-ms (or the server never answers)")
        options["load_faults"] = LoadFaultOptions(stall_ms=stall_ms, stall_every_ms=stall_every_ms)
        if oauth_client:
            secret = os.environ.get(oauth_secret_env or "")
            if not secret:
                raise UsageError("--oauth-client needs --oauth-secret-env naming a set environment variable")
            options["oauth"] = OAuthClient(oauth_client, secret, token_ttl)
    elif oauth_client:
        raise UsageError(f"--oauth-client: only the pole-records reference issues OAuth2 tokens, not {loaded.id}")
    if bool(tls_cert) != bool(tls_key) or (tls_client_ca and not tls_cert):
        raise UsageError("--tls-cert and --tls-key go together (and --tls-client-ca needs them)")
    tls = (tls_cert, tls_key, tls_client_ca) if tls_cert and tls_key else None
    serve(profile, list(faults), host=host, port=port, db_path=str(db) if db else None, api_key=api_key,
          ready_file=str(ready_file) if ready_file else None, tls=tls,
          systems=_system_options(systems, "--system"), **options)


def _host_port(value: str | None) -> str | None:
    if value is None:
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"--master-bind {value}: expected HOST:PORT, e.g. --master-bind 10.0.0.5:5557")
    return value


def _system_options(values: tuple[str, ...], option: str) -> dict[str, str]:
    """`NAME=URL` pairs, each URL an http(s) base URL."""
    out: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if not sep or not name or not url.startswith(("http://", "https://")):
            raise UsageError(f"{option} {value}: expected NAME=URL, e.g. {option} receiver=http://127.0.0.1:8001")
        if name in out:
            raise UsageError(f"{option}: {name} is given twice")
        out[name] = url.rstrip("/")
    return out


@reference.command("faults")
@click.option("--profile", default=None, help="Only this profile's faults (default: every profile's).")
def reference_faults(profile: str | None) -> None:
    """The fault catalogue: each fault and the requirement(s) that must catch it."""
    from fixtures.registry import REFERENCES

    impls = list(REFERENCES.values())
    if profile is not None:
        impls = [i for i in impls if i.profile == profile]
        if not impls:
            raise UsageError(f"--profile: no reference supplier implements {profile}; "
                             f"references exist for {', '.join(sorted(REFERENCES))}")
    table = Table("profile", "fault", "caught by", "what it does")
    for impl in impls:
        for fault in impl.faults().values():
            table.add_row(impl.profile, fault.name, ", ".join(fault.catches), fault.description)
    console.print(table)


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
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(ExitCode.USAGE)
    except ConformanceError as exc:
        err_console.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(ExitCode.INCOMPLETE)


if __name__ == "__main__":
    main()
