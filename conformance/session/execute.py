"""Run a profile against a target: plan the requirements, run each through its runner, append each
result as it finishes, score at the end. Front ends (CLI, pytest plugin) call `start_run`/`resume_run`."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from conformance import __version__
from conformance.engine.files import log_harness_error, utc_now
from conformance.engine.oauth import token_source_for
from conformance.engine.redact import Redactor
from conformance.engine.rundir import RunDir
from conformance.engine.runmeta import RunMeta, RunStatus
from conformance.errors import BaselineError, EngineFailure, LaunchError, RunDirError, TokenError, UsageError
from conformance.inputs.profiles import load_profile, profile_checks
from conformance.inputs.targets import ResetSpec, Target, parse_target
from conformance.model import CheckKind, Outcome, Profile, ProfileStatus, Requirement, Result
from conformance.runners import Deadline, RunContext, SharedRun, get_runner
from conformance.runners.schema import pass_members
from conformance.runners.schema_coverage import documented_interface
from conformance.scoring.scorecard import score_run
from conformance.scoring.shapes import Scorecard
from conformance.session.budget import AnswerTime, Planner, default_budget_s
from conformance.session.hooks import preflight, probe, reset
from conformance.session.hooks import restart as restart_with_hook

__all__ = ["RunListener", "RunOutcome", "rescore", "restart_needed", "resume_run", "scorecard_of", "start_run",
           "write_reports"]

TIERS = ("quick", "full")


class RunListener(Protocol):
    def planned(self, total: int, run_dir: Path) -> None: ...
    def requirement_started(self, requirement: Requirement) -> None: ...
    def requirement_progress(self, requirement: Requirement, text: str) -> None: ...
    def requirement_finished(self, requirement: Requirement, result: Result) -> None: ...
    def warning(self, text: str) -> None: ...


@dataclass(frozen=True)
class RunOutcome:
    run_dir: RunDir
    scorecard: Mapping[str, Any]
    interrupted: bool


def _select(profile: Profile, only: tuple[str, ...], skip: tuple[str, ...]) -> list[tuple[Requirement, str | None]]:
    """Each requirement with the reason it will not run (None: it runs)."""
    known = {r.id for r in profile.requirements}
    for rid in (*only, *skip):
        if rid not in known:
            raise UsageError(f"--only/--skip: no requirement '{rid}' in {profile.ref}; "
                             f"`conformance profiles show {profile.ref}` lists them")
    plan: list[tuple[Requirement, str | None]] = []
    for req in profile.requirements:
        if req.planned:
            continue  # scored as planned by score_run; nothing to run
        if only and req.id not in only:
            plan.append((req, "not selected by --only"))
        elif req.id in skip:
            plan.append((req, "excluded by --skip"))
        else:
            plan.append((req, None))
    return plan


def start_run(profile_ref: str, target_spec: str, *, runs_dir: Path, listener: RunListener,
              seed: int | None = None, tier: str = "quick", budget_s: int | None = None,
              only: tuple[str, ...] = (),
              skip: tuple[str, ...] = (), scoring: dict[str, Any] | None = None,
              target: Target | None = None, load: dict[str, Any] | None = None,
              systems: dict[str, str] | None = None, allow_retired: bool = False,
              certification: bool = False, params: dict[str, str] | None = None,
              restart: Callable[[], None] | None = None) -> RunOutcome:
    """Start a run. `scoring` (from a tender) holds `waivers` {id: reason} and `category_weights`
    {category: multiplier}, and (from a supplier's `--baseline`) `baseline` {id: {reason, accepted_by, expires}};
    it is kept in run.json so a resume or a re-score applies it again. `certification` asks for a certification
    run: refused (BaselineError) unless it is the full tier with no selection, waiver or baseline.
    `target` may be given ready-made (a tender's candidate); `target_spec` then only names it.
    `load` sizes load checks for the buyer: {"arrival_rate", "duration_s", "workers"} (any of them).
    `systems` ({name: base URL}, from `--system`) adds to or replaces the target file's `systems:`.
    `params` ({name: value}, from `--param`) adds to or replaces the target file's `params:`; a parameter the
    profile requires that neither gives (and has no default) is a UsageError naming it, before anything starts.
    A retired profile version is refused unless `allow_retired` (its results are no longer valid).
    `restart` restarts the target's process (a tender's candidate, started by the harness); without it a target's
    own `restart` hook is used, if it declares one."""
    if tier not in TIERS:
        raise UsageError(f"--tier: '{tier}' is not a tier; use quick or full")
    if certification:
        _check_certifiable(tier, only, skip, scoring or {})
    profile = load_profile(profile_ref)
    _check_lifecycle(profile, allow_retired, listener)
    target = target or parse_target(target_spec)
    if systems:
        declared = {system.name for system in profile.systems}
        for name in systems:
            if name not in declared:
                raise UsageError(f"--system {name}: {profile.ref} talks to no system of that name; "
                                 f"it declares {', '.join(sorted(declared)) or 'none'}")
        target = target.with_systems(systems)
    target = _with_params(profile, target.with_params(params or {}))
    target.request_headers()  # fail now, before creating anything, if a credential is missing
    _select(profile, only, skip)
    seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
    meta = RunMeta(
        harness={"name": "conformance-harness", "version": __version__},
        profile={"id": profile.id, "version": profile.version, "digest": profile.digest, "path": profile.path,
                 "lifecycle": {**profile.governance.to_dict(),
                               "status": profile.governance.status_on(dt.date.today()).value}},
        target=target.to_dict(), seed=seed, tier=tier, budget_s=budget_s, only=list(only), skip=list(skip),
        started_at=utc_now(), scoring=dict(scoring or {}), load={k: v for k, v in (load or {}).items() if v},
        systems_given=dict(systems or {}), certification=certification,
    )
    run_dir = RunDir.create(runs_dir, meta, supplier=target.supplier, profile_id=profile.id)
    return _execute(run_dir, profile, target, listener, restart)


def _with_params(profile: Profile, target: Target) -> Target:
    """The target with the profile's parameter defaults filled in; a missing required one is a UsageError."""
    try:
        return replace(target, params=profile.resolve_params(target.params))
    except KeyError as exc:
        name = str(exc.args[0])
        parameter = profile.parameter(name)
        described = f" ({parameter.description})" if parameter else ""
        raise UsageError(f"{profile.ref} needs parameter '{name}'{described}; give it with --param {name}=VALUE "
                         f"or under `params:` of the target in the targets file") from None


def _check_lifecycle(profile: Profile, allow_retired: bool, listener: RunListener) -> None:
    """Refuse a retired version (unless allowed); say what a result against a draft or deprecated one is worth."""
    validity = profile.governance.validity(dt.date.today())
    successor = profile.governance.superseded_by
    if validity.status is ProfileStatus.RETIRED and not allow_retired:
        instead = f"run {profile.id}@{successor}, or " if successor else ""
        raise UsageError(f"{profile.ref}: {validity.text}; {instead}pass --allow-retired to run it anyway "
                         "(its results are not valid)")
    if validity.status is not ProfileStatus.ACTIVE:
        listener.warning(f"{profile.ref}: {validity.text}")


def _check_certifiable(tier: str, only: tuple[str, ...], skip: tuple[str, ...], scoring: Mapping[str, Any]) -> None:
    """A certification run measures everything, the same way for every supplier: nothing excused, nothing left out."""
    refused = [what for what, present in (("--only", only), ("--skip", skip), ("a baseline", scoring.get("baseline")),
                                          ("waivers", scoring.get("waivers")), ("the quick tier", tier != "full"))
               if present]
    if refused:
        raise BaselineError(f"a certification run refuses {', '.join(refused)}", key="--certify",
                            fix="run the full tier (--tier full) of every requirement, without --baseline, "
                                "--only, --skip or waivers, or drop --certify")


def resume_run(path: Path, *, listener: RunListener, base_url: str | None = None,
               systems: dict[str, str] | None = None, restart: Callable[[], None] | None = None) -> RunOutcome:
    """Continue a run. `base_url` points it at a restarted candidate listening somewhere new, `systems` at
    restarted other systems (replacing the URLs the run was given); `restart` as for `start_run`."""
    run_dir = RunDir.open(path)
    meta = run_dir.meta
    try:
        profile = load_profile(meta.profile["path"])
        target = _target_of(meta)
        given = {**meta.systems_given, **(systems or {})}
        if given:
            target = target.with_systems(given)
        if base_url is not None:
            target = replace(target, base_url=base_url.rstrip("/"))
    except KeyError as exc:
        raise RunDirError(f"run.json lacks {exc}", file=str(path / "run.json"),
                          fix="the run cannot be resumed; start a new one") from None
    if profile.digest != meta.profile["digest"]:
        raise RunDirError(
            f"profile {profile.ref} changed since this run started (its files, Python checks included: "
            f"{meta.profile['digest']} then, {profile.digest} now)", file=str(path / "run.json"),
            key="profile.digest", fix="results from two versions of a profile cannot be mixed; start a new run")
    target.request_headers()
    run_dir.update_meta(status=RunStatus.RUNNING, resumed_at=[*meta.resumed_at, utc_now()])
    return _execute(run_dir, profile, target, listener, restart)


@contextmanager
def _graceful_stop(stop: threading.Event, listener: RunListener) -> Iterator[None]:
    """Ctrl-C or SIGTERM once: stop cleanly (the engine winds down, finished results are kept).
    Twice: stop now. A KeyboardInterrupt raised at an arbitrary point can land in a library's worker
    or finaliser and be swallowed, so the first signal only sets `stop`, which runners poll."""

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        listener.warning("stopping: finished results are kept; press Ctrl-C again to stop at once")

    try:
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def restart_needed(profile: Profile, req: Requirement) -> bool:
    """True if the requirement restarts the target's process (a Python check declared with `restarts=True`)."""
    if req.check.kind is not CheckKind.CONTRACT or "python" not in req.check.options:
        return False
    check = profile_checks(profile).find(req.check.options["python"])
    return bool(check and check.restarts)


NO_RESTART = ("could not be tested: it restarts the supplier's process mid-run, and there is no way to do it; in a "
              "targets file add `restart: {command: \"...\"}` (or `{request: \"POST /path\"}`) to the target "
              "(docs/reference/targets-format.md); in a tender give the candidate a `command` naming {port}, so the "
              "harness starts it and can restart it (docs/reference/tender-format.md)")


def systems_needed(profile: Profile, req: Requirement) -> frozenset[str]:
    """The other systems a requirement talks to: its scenario's steps' `system:`, or its Python check's."""
    if req.check.kind is not CheckKind.CONTRACT:
        return frozenset()
    if "python" in req.check.options:
        check = profile_checks(profile).find(req.check.options["python"])
        return frozenset(check.systems) if check else frozenset()
    from conformance.inputs.scenarios import load_scenario

    return load_scenario(Path(profile.path) / req.check.options["scenario"]).systems


def _missing_systems(profile: Profile, names: list[str]) -> str:
    described = "; ".join(f"{s.name}: {s.description}" for s in profile.systems if s.name in names)
    options = " ".join(f"--system {name}=URL" for name in names)
    return (f"could not be tested: it needs {', '.join(names)} ({described}); give {options} "
            "or `systems:` in the targets file")


def _start_reference_systems(profile: Profile, names: set[str], run_dir: RunDir, stack: contextlib.ExitStack,
                             listener: RunListener) -> dict[str, Target]:
    """Start this profile's reference supplier for each missing system the profile lets it play (a migration's
    other side, with a single candidate). Each is stopped when the run ends; its output goes to systems/."""
    from conformance.engine.processes import LaunchError, launched

    started: dict[str, Target] = {}
    for spec in profile.systems:
        if spec.name not in names or not spec.reference:
            continue
        log = run_dir.path / "systems" / f"{spec.name}.log"
        log.parent.mkdir(exist_ok=True)
        try:
            # the reference suppliers are a command of the harness (`conformance reference serve`), not a module it
            # imports: the fixtures register that command (pyproject.toml, entry point conformance.commands)
            command = [sys.executable, "-m", "conformance", "reference", "serve", "--profile", profile.id, "--port",
                       "0"]
            url = stack.enter_context(launched(command, log_path=log))
        except LaunchError as exc:
            listener.warning(f"could not start the reference supplier as {spec.name}: {exc.summary} (see {log})")
            continue
        listener.warning(f"{spec.name}: the harness started the {profile.id} reference supplier at {url}")
        started[spec.name] = Target(name=spec.name, base_url=url, source="reference",
                                    supplier=f"{profile.id} reference supplier",
                                    reset=ResetSpec(request=("POST", "/__reference/reset")))
    if started:
        run_dir.update_meta(systems_started={name: t.to_dict() for name, t in started.items()})
    return started


def _reset_systems(systems: dict[str, Target], names: frozenset[str],
                   stop: threading.Event | None = None) -> str | None:
    for name in sorted(names):
        system = systems[name]
        if system.reset is not None and (failed := reset(system, system.request_headers(), stop)):
            return f"{name}: {failed}"
    return None


def _execute(run_dir: RunDir, profile: Profile, target: Target, listener: RunListener,
             restart: Callable[[], None] | None = None) -> RunOutcome:
    meta = run_dir.meta
    plan = _select(profile, tuple(meta.only), tuple(meta.skip))
    previous, warnings = run_dir.results()
    for text in warnings:
        listener.warning(text)
    done = {r.requirement_id for r in previous if r.outcome is not Outcome.ERROR}
    todo = [(req, why) for req, why in plan if req.id not in done]
    listener.planned(len(todo), run_dir.path)
    headers = target.request_headers()
    redactor = Redactor(target.secrets())  # a dict the run may add to (OAuth2 tokens), see Redactor.remember
    tokens = token_source_for(target, redactor)
    unreachable: str | None = None

    needs = {req.id: systems_needed(profile, req) for req, why in todo if why is None}
    systems = dict(target.systems)
    runnable = [req for req, why in todo if why is None]
    shared = SharedRun(planned=tuple(runnable))
    budget_s = meta.budget_s or default_budget_s(meta.tier, runnable, meta.load)
    budget_end = time.monotonic() + budget_s  # resumed: the budget applies afresh to what is left
    planner = Planner(float(budget_s), meta.tier, len(documented_interface(profile.openapi_path)[0]),
                      AnswerTime(()), dict(meta.load))

    def context(req: Requirement, deadline: Deadline | None, max_examples: int | None) -> RunContext:
        return RunContext(profile=profile, target=target, headers=headers, redactor=redactor,
                          seed=meta.seed, tier=meta.tier, budget_s=budget_s,
                          run_dir=run_dir, auth=tokens.headers if tokens is not None else None,
                          progress=_progress(listener, req), stop=stop, load=dict(meta.load),
                          systems={name: systems[name] for name in needs.get(req.id, ())}, oauth=tokens,
                          restart=restart_target if can_restart else None, deadline=deadline,
                          max_examples=max_examples, shared=shared)

    def restart_target() -> None:
        if restart is not None:  # the harness started the target: it kills and starts it again
            try:
                restart()
            except LaunchError as exc:
                raise EngineFailure(f"the harness could not restart the target: {exc.summary}") from None
            if (problem := preflight(target, headers, stop)) is not None:
                raise EngineFailure(f"the target did not answer after its restart: {problem}")
        else:
            restart_with_hook(target, {**headers, **(tokens.headers() if tokens else {})}, redactor, stop)

    can_restart = restart is not None or target.restart is not None

    interrupted = False
    stop = threading.Event()
    with _graceful_stop(stop, listener), contextlib.ExitStack() as started_systems:
        try:
            if runnable:
                unreachable = preflight(target, headers, stop)
                if not unreachable:
                    planner.probe = probe(target, headers, stop)
                run_dir.update_meta(timing={"budget_s": budget_s,
                                            "budget_from": "--budget" if meta.budget_s else f"the {meta.tier} tier",
                                            "probe": planner.probe.to_dict()})
            if tokens is not None and not unreachable:
                try:
                    tokens.token()  # fail before the first requirement, with the endpoint's answer
                except TokenError as exc:
                    unreachable = f"no OAuth2 token: {redactor.text(str(exc))}"
            if not unreachable:
                systems.update(_start_reference_systems(profile, set().union(*needs.values()) - set(systems),
                                                        run_dir, started_systems, listener))
            for req, why in todo:
                if stop.is_set():
                    raise KeyboardInterrupt
                listener.requirement_started(req)
                started = utc_now()
                missing = sorted(needs.get(req.id, frozenset()) - set(systems))
                if why is not None:
                    result = Result(req.id, Outcome.SKIPPED, reason=why)
                elif (not_applicable := req.not_applicable_because(target.params)) is not None:
                    result = Result(req.id, Outcome.NOT_APPLICABLE, reason=_with_description(profile, req,
                                                                                              not_applicable))
                elif unreachable:
                    result = Result(req.id, Outcome.ERROR, reason=unreachable)
                elif missing:
                    result = Result(req.id, Outcome.ERROR, reason=_missing_systems(profile, missing))
                elif not can_restart and restart_needed(profile, req):
                    result = Result(req.id, Outcome.ERROR, reason=NO_RESTART)
                elif req.check.kind in (CheckKind.SCHEMA, CheckKind.CONTRACT) and not shared.measured(req.id) and (
                        failed := reset(target, {**headers, **(tokens.headers() if tokens else {})}, stop)
                        or _reset_systems(systems, needs.get(req.id, frozenset()), stop)):
                    result = Result(req.id, Outcome.ERROR, reason=redactor.text(failed))
                else:
                    try:
                        if shared.measured(req.id):  # measured in an earlier requirement's engine pass
                            result = _run_one(req, context(req, None, None), run_dir)
                        else:
                            together = pass_members(req, shared)[1:] if req.check.kind is CheckKind.SCHEMA else []
                            share = planner.share_s(runnable[runnable.index(req):], budget_end - time.monotonic(),
                                                    together=together)
                            result = _run_planned(req, planner, share, budget_s, context, run_dir)
                    except KeyboardInterrupt:  # recorded, so the report says what was cut short; --resume reruns it
                        _record(run_dir, listener, req, Result(req.id, Outcome.ERROR, reason=INTERRUPTED), started)
                        raise
                _record(run_dir, listener, req, result, started)
        except KeyboardInterrupt:
            interrupted = True
    run_dir.update_meta(status=RunStatus.INTERRUPTED if interrupted else RunStatus.FINISHED,
                        finished_at=None if interrupted else utc_now())
    scorecard = rescore(run_dir, profile, interrupted=interrupted, target=target)
    write_reports(run_dir, scorecard, listener)
    return RunOutcome(run_dir, scorecard, interrupted)


def _with_description(profile: Profile, req: Requirement, reason: str) -> str:
    parameter = profile.parameter(str((req.applies_when or {}).get("param")))
    return f"{reason} ({parameter.description})" if parameter else reason


INTERRUPTED = ("interrupted: the run was stopped (Ctrl-C or SIGTERM) while this requirement ran; "
               "`conformance run --resume` runs it again")


def _record(run_dir: RunDir, listener: RunListener, req: Requirement, result: Result, started: str) -> None:
    result = replace(result, started_at=started, finished_at=utc_now())
    run_dir.append_result(result)
    listener.requirement_finished(req, result)


def write_reports(run_dir: RunDir, scorecard: Mapping[str, Any], listener: RunListener | None = None) -> None:
    """report.html, report.md, junit.xml and badge.svg beside scorecard.json. A renderer failing costs only that file:
    the scorecard is already written, and `conformance report RUN_DIR` renders again."""
    from conformance.reporters.files import write_run_reports

    try:
        write_run_reports(run_dir.path, scorecard)
    except Exception as exc:  # a reporter bug must not lose the run
        log_harness_error(run_dir.path, "reports")
        if listener is not None:
            listener.warning(f"reports not written ({type(exc).__name__}: {exc}); scorecard.json is complete; "
                             f"see harness-errors.log")


def _target_of(meta: RunMeta) -> Target:
    """The run's target: re-read from its source, with the names and claims the run started with."""
    recorded = meta.target
    target = parse_target(recorded["source"])
    return replace(target, name=recorded.get("name", target.name), supplier=recorded.get("supplier", target.supplier),
                   product=recorded.get("product", target.product),
                   product_version=recorded.get("product_version", target.product_version),
                   claims=recorded.get("claims", target.claims),
                   params=dict(recorded.get("params") or {}))


def rescore(run_dir: RunDir, profile: Profile | None = None, *, interrupted: bool | None = None,
            target: Target | None = None) -> Scorecard:
    """Score the run's results as they stand (with the tender's waivers and weights recorded in run.json),
    write scorecard.json, and return it."""
    scorecard = scorecard_of(run_dir, profile, interrupted=interrupted, target=target)
    run_dir.write_scorecard(scorecard)
    return scorecard


def scorecard_of(run_dir: RunDir, profile: Profile | None = None, *, interrupted: bool | None = None,
                 target: Target | None = None) -> Scorecard:
    """The scorecard of the run's results as they stand, written nowhere (`rescore` writes it; an inspector's
    re-score of a bundle compares it with the recorded one)."""
    meta = run_dir.meta
    if profile is None:
        profile = load_profile(meta.profile["path"])
        if profile.digest != meta.profile["digest"]:
            raise RunDirError(f"profile {profile.ref} changed since this run", file=str(run_dir.path / "run.json"),
                              key="profile.digest", fix="results of one profile version cannot be scored by another")
    if interrupted is None:
        interrupted = not meta.finished
    results, _ = run_dir.results()
    scoring = meta.scoring
    target_info = target.to_dict() if target is not None else dict(meta.target)
    scorecard = score_run(profile, results, target=target_info, run=_run_summary(run_dir, interrupted),
                          waivers=scoring.get("waivers"), category_weights=scoring.get("category_weights"),
                          claims=target_info.get("claims"), lifecycle_at_run=meta.profile.get("lifecycle"),
                          as_of=dt.date.today(), baseline=scoring.get("baseline"), on=meta.started_at[:10])
    return scorecard


def _progress(listener: RunListener, req: Requirement) -> Callable[[str], None]:
    return lambda text: listener.requirement_progress(req, text)


MIN_SHARE_S = 1.0  # a share smaller than this is not started: the budget is spent


def _run_planned(req: Requirement, planner: Planner, share: float, budget_s: int,
                 context: Callable[[Requirement, Deadline | None, int | None], RunContext], run_dir: RunDir) -> Result:
    """Run `req` within its `share` of the run's budget (its deadline), with the examples the plan affords;
    record the plan in its measurements (`budget`) and learn from what it measured."""
    answer_s = planner.answer_s
    plan = {"share_s": round(share, 1), "run_budget_s": budget_s, "answer_s": round(answer_s, 4)}
    if share < MIN_SHARE_S:
        return Result(req.id, Outcome.ERROR, measurements={"budget": plan},
                      reason=f"deadline: the run's {budget_s} s --budget was spent before this requirement started; "
                             "a larger --budget gives it time")
    examples = planner.max_examples(req, share)
    if examples is not None:
        plan["max_examples_planned"] = examples
    stop_after = planner.deadline_s(req, share)  # the share, less what stopping may take
    result = _run_one(req, context(req, Deadline(time.monotonic() + stop_after, stop_after, budget_s), examples),
                      run_dir)
    planner.learn(req, result)
    reason = result.reason
    if examples is not None:
        reason = (f"{reason}; " if reason else "") + (
            f"planned with {examples} example(s) per phase, not the profile's: its {share:.0f} s share of the "
            f"budget at the target's {answer_s:.2f} s per answer afforded no more")
    return replace(result, reason=reason, measurements={**(result.measurements or {}), "budget": plan})


def _run_one(req: Requirement, ctx: RunContext, run_dir: RunDir) -> Result:
    try:
        return get_runner(req.check.kind).run(req, ctx)
    except EngineFailure as exc:
        return Result(req.id, Outcome.ERROR, reason=ctx.redactor.text(str(exc)))
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as exc:  # a harness bug: recorded as an error, never as a supplier failure
        log_harness_error(run_dir.path, req.id, redact=ctx.redactor.text)
        return Result(req.id, Outcome.ERROR,
                      reason=f"harness error {type(exc).__name__}: {ctx.redactor.text(str(exc))} "
                             f"(traceback in harness-errors.log)")


def _run_summary(run_dir: RunDir, interrupted: bool) -> dict[str, Any]:
    meta = run_dir.meta
    return {"id": meta.run_id or run_dir.path.name, "seed": meta.seed, "tier": meta.tier,
            "harness_version": meta.harness["version"], "started_at": meta.started_at,
            "finished_at": None if interrupted else (meta.finished_at or utc_now()),
            "interrupted": interrupted,
            "only": meta.only, "skip": meta.skip, **({"certification": True} if meta.certification else {})}
