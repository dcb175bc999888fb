"""Evaluate a tender: run every candidate on every required profile, then compare and rank them.

    evaluations/<UTC timestamp>-<tender id>/
        evaluation.json          the tender (path, digest, summary), the seed every candidate shares, status
        runs/<candidate>/<run>/  one ordinary run directory per candidate and profile (see rundir.py)
        interop/<a>--<b>/<run>/  with two or more candidates and a profile whose requirements talk to a peer
                                 system (a migration's other side): candidate a as the target, b as the peer
        logs/<candidate>.log     what a started candidate printed
        work/<candidate>/        a started candidate's own folder (its command's `{workdir}`), kept across restarts
        comparison.json|html|csv|md and ranking.csv

A candidate's command may name `{port}` (a free loopback port the harness picks, the same for every start) and
`{workdir}` (its folder under work/): a candidate started with `{port}` can be restarted by the harness (killed
and started again on the same port) for the requirements that check what survives a restart; one without it
cannot, and those requirements are errors saying so. One candidate's failure (it does not start, it crashes, the
harness errs on it) is recorded against that candidate and the evaluation goes on. Ctrl-C stops cleanly;
`--resume` keeps every finished run, continues unfinished ones against the restarted candidate, and starts the
rest.
"""

from __future__ import annotations

import random
import socket
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from conformance.engine.files import loads_strict, log_harness_error, utc_now, write_json_atomic
from conformance.engine.processes import LaunchError, candidate_command, launched, restartable
from conformance.engine.rundir import RunDir
from conformance.errors import ConformanceError, RunDirError
from conformance.inputs.targets import Target, parse_target
from conformance.inputs.tender import PORT, WORKDIR, Candidate, Tender, TenderProfile, fill_command, load_tender
from conformance.model import Outcome
from conformance.scoring.compare import CandidateRuns, build_comparison
from conformance.scoring.shapes import Comparison
from conformance.session.execute import RunListener, resume_run, start_run

__all__ = ["EvaluationOutcome", "evaluate_tender", "interop_plan", "resume_evaluation"]

EVALUATION_FILE = "evaluation.json"
START_TIMEOUT_S = 60.0  # for a started candidate or system to print "listening on URL"


@dataclass(frozen=True)
class EvaluationOutcome:
    path: Path
    comparison: Comparison
    files: dict[str, Path]
    interrupted: bool


def evaluate_tender(tender_path: Path, *, out_dir: Path, listener: RunListener,
                    say: Callable[[str], None]) -> EvaluationOutcome:
    tender = load_tender(tender_path)
    out_dir = out_dir.absolute()  # its runs and logs are handed to child processes
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"{stamp}-{tender.id}"
        n = 0
        while path.exists():
            n += 1
            path = out_dir / f"{stamp}-{tender.id}-{n}"
        (path / "runs").mkdir(parents=True)
        (path / "logs").mkdir()
    except OSError as exc:
        raise RunDirError(f"cannot create the evaluation folder: {exc.strerror}", file=str(out_dir),
                          fix="choose a writable folder with --out") from None
    seed = tender.seed if tender.seed is not None else random.SystemRandom().randrange(2**31)
    state = {"tender": {"path": str(Path(tender.path).resolve()), "digest": tender.digest, "id": tender.id,
                        "profiles": {tp.profile.ref: tp.profile.digest for tp in tender.profiles}},
             "seed": seed, "started_at": utc_now(), "finished_at": None, "status": "running",
             "candidates": {c.name: {"status": "pending", "error": None} for c in tender.candidates}}
    write_json_atomic(path / EVALUATION_FILE, state)
    return _evaluate(path, tender, state, listener, say)


def resume_evaluation(path: Path, *, listener: RunListener, say: Callable[[str], None]) -> EvaluationOutcome:
    path = path.absolute()
    try:
        state = loads_strict((path / EVALUATION_FILE).read_text(encoding="utf-8"))
        tender_path, tender_digest = state["tender"]["path"], state["tender"]["digest"]
        if not isinstance(state["candidates"], dict):
            raise TypeError("candidates is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RunDirError(f"not a resumable evaluation ({type(exc).__name__}: {exc})",
                          file=str(path / EVALUATION_FILE),
                          fix="give a folder `conformance evaluate` created") from None
    tender = load_tender(tender_path)
    if tender.digest != tender_digest:
        raise RunDirError("the tender file changed since this evaluation started", file=tender.path,
                          fix="candidates must be evaluated against one tender; start a new evaluation")
    for tp in tender.profiles:
        if state["tender"].get("profiles", {}).get(tp.profile.ref, tp.profile.digest) != tp.profile.digest:
            raise RunDirError(f"profile {tp.profile.ref} changed since this evaluation started", file=tp.profile.path,
                              fix="results from two versions of a profile cannot be mixed; start a new evaluation")
    state["status"] = "running"
    return _evaluate(path, tender, state, listener, say)


def _evaluate(path: Path, tender: Tender, state: dict[str, Any], listener: RunListener,
              say: Callable[[str], None]) -> EvaluationOutcome:
    interrupted = False
    with ExitStack() as systems_stack:
        urls = _start_systems(path, tender, systems_stack, say)
        for number, cand in enumerate(tender.candidates, start=1):
            entry = state["candidates"].setdefault(cand.name, {"status": "pending", "error": None})
            if entry["status"] == "finished":
                say(f"[{number}/{len(tender.candidates)}] {cand.name}: already evaluated, kept")
                continue
            say(f"[{number}/{len(tender.candidates)}] {cand.name} ({cand.supplier})")
            entry.update(status="running", error=None)
            write_json_atomic(path / EVALUATION_FILE, state)
            try:
                interrupted = _evaluate_candidate(path, tender, cand, int(state["seed"]), listener, say, urls)
                entry["status"] = "interrupted" if interrupted else "finished"
            except LaunchError as exc:  # its output may hold anything: the log has it, the reports only the gist
                entry.update(status="error", error=f"the candidate did not start: {exc.summary} "
                                                   f"(its output is in logs/{cand.name}.log)")
                say(f"  {cand.name}: {entry['error']}")
            except ConformanceError as exc:
                entry.update(status="error", error=str(exc))
                say(f"  {cand.name}: could not be evaluated: {exc}")
            except Exception as exc:  # a harness bug on one candidate must not lose the others
                entry.update(status="error", error=f"harness error {type(exc).__name__}: {exc}")
                log_harness_error(path / "logs", cand.name)
                say(f"  {cand.name}: harness error {type(exc).__name__} (see logs/harness-errors.log); going on")
            write_json_atomic(path / EVALUATION_FILE, state)
            if interrupted:
                break
        if not interrupted:
            interrupted = _interoperability(path, tender, state, listener, say, urls)
    state.update(status="interrupted" if interrupted else "finished",
                 finished_at=None if interrupted else utc_now())
    write_json_atomic(path / EVALUATION_FILE, state)
    comparison = build_comparison([_collect(path, tender, c, state) for c in tender.candidates],
                                  title=tender.title, tender=tender.summary(), profiles=_profile_rows(tender),
                                  generated_at=utc_now())
    comparison["interoperability"] = _interop_matrices(path, tender) or None
    from conformance.reporters.files import write_comparison

    files = write_comparison(path, comparison)
    return EvaluationOutcome(path, comparison, files, interrupted)


def _start_systems(path: Path, tender: Tender, stack: ExitStack, say: Callable[[str], None]) -> dict[str, str]:
    """The tender's other systems (a court receiver), up for the whole evaluation: {name: URL}."""
    urls: dict[str, str] = {}
    for name, spec in tender.systems.items():
        if "base_url" in spec:
            urls[name] = spec["base_url"].rstrip("/")
            continue
        say(f"starting the {name}: {spec['command']}")
        try:
            urls[name] = _start(stack, spec["command"], path / "logs" / f"system-{name}.log")
        except LaunchError as exc:
            raise ConformanceError(f"the tender's {name} did not start: {exc.summary} "
                                   f"(see logs/system-{name}.log); no candidate can be tested without it") from None
        say(f"  {name} listening on {urls[name]}")
    return urls


def _start(stack: ExitStack, command: str, log_path: Path) -> str:
    """Start a tender's command (a candidate or another system) for as long as `stack` lasts; its URL."""
    return stack.enter_context(launched(candidate_command(command), timeout=START_TIMEOUT_S, log_path=log_path))


def _peer_plan(tender: Tender) -> list[tuple[TenderProfile, str, list[str]]]:
    """(profile, peer system, requirement ids that talk to it) for each tender profile whose requirements talk
    to a system its reference can play: those are the journeys between two candidates."""
    from conformance.session.execute import systems_needed

    plan = []
    for tp in tender.profiles:
        for system in tp.profile.systems:
            if not system.reference:
                continue
            ids = [r.id for r in tp.profile.requirements if not r.planned
                   and system.name in systems_needed(tp.profile, r)]
            if ids:
                plan.append((tp, system.name, ids))
    return plan


def interop_plan(tender: Tender) -> list[tuple[str, str, list[str], int]]:
    """What the interoperability phase will run: (profile ref, peer system, requirement ids, ordered pairs)."""
    n = len(tender.candidates)
    return [(tp.profile.ref, system, ids, n * (n - 1)) for tp, system, ids in _peer_plan(tender) if n >= 2]


def _interoperability(path: Path, tender: Tender, state: dict[str, Any], listener: RunListener,
                      say: Callable[[str], None], systems: dict[str, str]) -> bool:
    """Every ordered pair of candidates that started: a as the target, b as its peer, on the requirements that
    talk to the peer. True if interrupted. A pair whose run finished is kept on resume."""
    plan = _peer_plan(tender)
    started = [c for c in tender.candidates if state["candidates"].get(c.name, {}).get("status") == "finished"]
    if not plan or len(started) < 2:
        return False
    pairs = [(a, b) for a in started for b in started if a is not b]
    say(f"interoperability: {len(pairs)} ordered pairs of {len(started)} candidates")
    with ExitStack() as stack:
        urls: dict[str, str] = {}
        for cand in started:  # all up at once: each is a target in some pairs and a peer in others
            if cand.command:
                try:
                    urls[cand.name] = _start(stack, _filled(cand, systems, path / "work" / f"{cand.name}.interop"),
                                             path / "logs" / f"{cand.name}.interop.log")
                except LaunchError as exc:
                    say(f"  {cand.name}: did not start for the interoperability runs: {exc.summary}")
            else:
                assert cand.target is not None
                urls[cand.name] = _target(cand, cand.target).base_url
        for tp, system, ids in plan:
            for a, b in pairs:
                folder = path / "interop" / f"{a.name}--{b.name}"
                if any(r.meta.finished for r in _runs_of_folder(folder, tp)):
                    continue
                if a.name not in urls or b.name not in urls:
                    continue  # recorded as not run in the matrix
                say(f"  {tp.profile.ref}: {a.name} as the target, {b.name} as the {system}")
                target = _target(a, urls[a.name]) if a.command else _target(a, a.target or "")
                try:
                    outcome = start_run(tp.profile.path, target.base_url, runs_dir=folder, listener=listener,
                                        seed=int(state["seed"]), tier=tender.tier, budget_s=tender.budget_s,
                                        only=tuple(ids), target=target,
                                        systems={**tender.systems_for(tp.profile, systems), system: urls[b.name]})
                except ConformanceError as exc:
                    say(f"  {a.name}--{b.name}: could not be run: {exc}")
                    continue
                if outcome.interrupted:
                    return True
    return False


def _runs_of_folder(folder: Path, tp: TenderProfile) -> list[RunDir]:
    found = []
    for child in sorted(folder.iterdir()) if folder.is_dir() else []:
        try:
            run = RunDir.open(child)
        except RunDirError:
            continue
        if run.meta.profile.get("digest") == tp.profile.digest:
            found.append(run)
    return found


def _interop_matrices(path: Path, tender: Tender) -> list[dict[str, Any]]:
    """One matrix per profile with peer journeys: for each ordered pair, the outcome of each requirement, the
    first finding's message when it failed, and the run's report."""
    matrices = []
    names = [c.name for c in tender.candidates]
    for tp, system, ids in _peer_plan(tender):
        pairs = []
        for a in names:
            for b in names:
                if a == b:
                    continue
                runs = _runs_of_folder(path / "interop" / f"{a}--{b}", tp)
                pair: dict[str, Any] = {"target": a, "peer": b, "status": "not-run", "outcomes": {},
                                        "findings": {}, "report": None}
                if runs:
                    run = runs[-1]
                    pair["status"] = str(run.meta.status)
                    results, _ = run.results()
                    for result in results:
                        if result.requirement_id in ids:
                            pair["outcomes"][result.requirement_id] = result.outcome.value
                            if result.findings:
                                pair["findings"][result.requirement_id] = result.findings[0].message[:300]
                            elif result.reason and result.outcome is Outcome.ERROR:
                                pair["findings"][result.requirement_id] = result.reason[:300]
                    report = run.path / "report.html"
                    pair["report"] = str(report.relative_to(path)) if report.exists() else None
                pairs.append(pair)
        matrices.append({"profile": tp.profile.ref, "system": system,
                         "requirements": [{"id": rid, "title": tp.profile.requirement(rid).title} for rid in ids],
                         "candidates": names, "pairs": pairs})
    return matrices


def _profile_rows(tender: Tender) -> list[dict[str, Any]]:
    return [{"ref": tp.profile.ref, "id": tp.profile.id, "version": tp.profile.version, "title": tp.profile.title,
             "digest": tp.profile.digest, "weight": tp.weight} for tp in tender.profiles]


def _runs_of(path: Path, cand: Candidate, tp: TenderProfile) -> list[RunDir]:
    """This candidate's run directories for this profile, oldest first."""
    return _runs_of_folder(path / "runs" / cand.name, tp)


def _evaluate_candidate(path: Path, tender: Tender, cand: Candidate, seed: int, listener: RunListener,
                        say: Callable[[str], None], systems: dict[str, str]) -> bool:
    """Run every profile on one candidate; True if interrupted."""
    todo = [tp for tp in tender.profiles
            if not any(r.meta.finished for r in _runs_of(path, cand, tp))]
    if not todo:
        return False
    restart = None
    with ExitStack() as stack:
        if cand.command:
            say(f"  starting: {cand.command}")
            command = _filled(cand, systems, path / "work" / cand.name)
            if PORT in cand.command:  # the harness can kill it and start it again on the same port
                service = stack.enter_context(restartable(candidate_command(command), timeout=START_TIMEOUT_S,
                                                          log_path=path / "logs" / f"{cand.name}.log"))
                url, restart = service.url, service.restart
            else:
                url = _start(stack, command, path / "logs" / f"{cand.name}.log")
            say(f"  listening on {url}")
            spec = url
        else:
            assert cand.target is not None
            spec = cand.target
        target = _target(cand, spec)
        for tp in todo:
            unfinished = [r for r in _runs_of(path, cand, tp) if not r.meta.finished]
            scoring = {"tender": tender.id, "waivers": dict(tp.waivers),
                       "category_weights": dict(tender.category_weights)}
            if unfinished:
                say(f"  {tp.profile.ref}: resuming {unfinished[-1].path.name}")
                outcome = resume_run(unfinished[-1].path, listener=listener,
                                     base_url=target.base_url if cand.command else None,
                                     systems=tender.systems_for(tp.profile, systems), restart=restart)
            else:
                say(f"  {tp.profile.ref}: seed {seed}, tier {tender.tier}")
                outcome = start_run(tp.profile.path, spec, runs_dir=path / "runs" / cand.name, listener=listener,
                                    seed=seed, tier=tender.tier, budget_s=tender.budget_s, scoring=scoring,
                                    target=target, load=tender.load,
                                    systems=tender.systems_for(tp.profile, systems), restart=restart)
            card = outcome.scorecard
            say(f"  {tp.profile.ref}: {card['verdict']}, score {card['score']:g}")
            if outcome.interrupted:
                return True
    return False


def _filled(cand: Candidate, systems: dict[str, str], workdir: Path) -> str:
    """The candidate's command with its systems' URLs, `{port}` (a loopback port free now, which the candidate
    binds next) and `{workdir}` (its own folder, created) filled in."""
    command = cand.command or ""
    if WORKDIR in command:
        workdir.mkdir(parents=True, exist_ok=True)
    port = None
    if PORT in command:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
    return fill_command(command, systems, port=port, workdir=workdir)


def _target(cand: Candidate, spec: str) -> Target:
    target = parse_target(spec)
    return replace(target, name=cand.name, supplier=cand.supplier, product=cand.product or target.product,
                   product_version=cand.product_version or target.product_version,
                   claims=cand.claims or target.claims)


def _collect(path: Path, tender: Tender, cand: Candidate, state: dict[str, Any]) -> CandidateRuns:
    scorecards: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    paths: dict[str, dict[str, str | None]] = {}
    entry_error = state["candidates"].get(cand.name, {}).get("error")
    for tp in tender.profiles:
        runs = _runs_of(path, cand, tp)
        if not runs:
            errors[tp.profile.ref] = entry_error or "not run"
            continue
        run = runs[-1]
        card_path = run.path / "scorecard.json"
        try:
            scorecards[tp.profile.ref] = loads_strict(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            errors[tp.profile.ref] = entry_error or f"{run.path.name} has no readable scorecard"
            continue
        if not run.meta.finished:
            errors[tp.profile.ref] = entry_error or f"run {run.path.name} did not finish"
        report = run.path / "report.html"
        paths[tp.profile.ref] = {"scorecard": str(card_path.relative_to(path)),
                                 "report": str(report.relative_to(path)) if report.exists() else None}
    return CandidateRuns(cand, scorecards=scorecards, errors=errors, paths=paths)
