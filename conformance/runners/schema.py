"""Schema checks: property-based conformance of a target to the profile's OpenAPI interface.

The only code that touches schemathesis is this module and its helpers: `schema_plan.py` (which requirements share
an engine run, and its configuration), `schema_pass.py` (the run), `schema_tally.py` (what each requirement is
judged on, findings), `schema_adapter.py` (answers read within the harness's bounds), `schema_coverage.py`.
Its in-process engine (`schemathesis.engine`) is internal API, hence the exact pin in pyproject.toml. The
schema requirements a run plans are grouped into passes (`schema_plan.plan_passes`); a pass runs when its first
member's turn comes, with a fixed seed and no example database, so the same seed sends the same cases, and the
other members take their results when their turn comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from conformance.errors import EngineFailure
from conformance.kit.properties import only_the_seed_decides
from conformance.model import CheckKind, Requirement, Result
from conformance.runners import RunContext, SharedRun
from conformance.runners.schema_adapter import bound_the_engine
from conformance.runners.schema_pass import run_pass
from conformance.runners.schema_plan import ALL_PHASES, Member, engine_config, plan_passes

__all__ = ["ALL_PHASES", "HARNESS_CHECKS", "TIERS", "SchemaRunner", "pass_members", "time_limit"]

HARNESS_CHECKS = frozenset({"operation_implemented"})


@dataclass(frozen=True)
class Tier:
    """How hard to look. `budget_s` is not a cap: given a time budget, schemathesis keeps cycling its
    phases until the budget is spent, so a tier with a budget runs for that long; without one, each
    phase stops at `max-examples` and the run ends when the cases are exhausted."""

    examples_factor: int
    budget_s: int | None  # per requirement, shared by its seeds; within its share of the run's --budget
    request_timeout_s: float
    seeds: int = 1


TIERS = {
    "quick": Tier(examples_factor=1, budget_s=None, request_timeout_s=10.0),
    "full": Tier(examples_factor=5, budget_s=600, request_timeout_s=30.0, seeds=3),
}
# A stop signalled to the engine, which honours it between cases: the quick tier's cases normally take
# well under a minute per requirement against a responsive system; a budget gets this much grace on top.
QUICK_TIME_LIMIT_S = 600
BUDGET_GRACE_S = 30  # the engine stops between cases, so it overshoots by at most a case per seed
SEED_STRIDE = 7919  # the full tier's further seeds: seed + k * SEED_STRIDE, recorded in the result


def _budget(ctx: RunContext, members: int) -> int | None:
    """The engine's generation time for a pass of `members` requirements (None: none, it stops when the cases are
    exhausted): the tier's per requirement, within the pass's share of the run's budget (its deadline), leaving a
    grace to wind down."""
    budget = TIERS[ctx.tier].budget_s
    if budget is None:
        return None
    budget *= members
    if ctx.deadline is None:
        return budget
    share = ctx.deadline.share_s
    return max(1, min(budget, int(share - min(BUDGET_GRACE_S, share / 2))))


def seeds_for(seed: int, tier: str) -> list[int]:
    return [(seed + k * SEED_STRIDE) % 2**31 for k in range(TIERS[tier].seeds)]


def time_limit(ctx: RunContext, members: int) -> float:
    """How long a pass of `members` requirements may take before its engine is stopped: the sum of its members'
    time (each QUICK_TIME_LIMIT_S, or the tier's budget plus BUDGET_GRACE_S), and never past the pass's deadline
    (the run plans a pass's share as its costliest member's: session/budget.py)."""
    return min(_own_limit(ctx, members), _deadline_limit(ctx))


def _own_limit(ctx: RunContext, members: int) -> float:
    budget = _budget(ctx, members)
    return float(members * QUICK_TIME_LIMIT_S if budget is None else budget + BUDGET_GRACE_S)


def _deadline_limit(ctx: RunContext) -> float:
    return float("inf") if ctx.deadline is None else max(1.0, ctx.deadline.remaining())


def pass_members(requirement: Requirement, shared: SharedRun) -> list[Requirement]:
    """The schema requirements measured in the same engine pass as `requirement`, itself first."""
    return [m.requirement for m in _pass_of(requirement, shared)]


def _pass_of(requirement: Requirement, shared: SharedRun) -> list[Member]:
    """The pass `requirement` belongs to: the planned schema requirements from it on that are not measured yet,
    grouped by `plan_passes`, its group."""
    planned = [r for r in shared.planned if r.check.kind is CheckKind.SCHEMA]
    later = planned[planned.index(requirement):] if requirement in planned else [requirement]
    candidates = [r for r in later if not shared.measured(r.id)]
    return next(group for group in plan_passes(candidates) if group[0].requirement == requirement)


_registered = False


def _register_harness_checks() -> None:
    """Checks of our own, beside schemathesis' built-ins; enabled per requirement like any other."""
    global _registered
    if _registered:
        return
    import schemathesis

    @schemathesis.check  # type: ignore[untyped-decorator,unused-ignore]
    def operation_implemented(ctx: Any, response: Any, case: Any) -> bool | None:
        """A documented operation answers; it is not missing (404 on a path without parameters),
        refused as a method (405) or declared unimplemented (501)."""
        meta = getattr(case, "meta", None)
        if meta is not None and not meta.generation.mode.is_positive:
            return True  # only well-formed requests say anything about implementation
        status = response.status_code
        label = f"{case.operation.method.upper()} {case.operation.path}"
        if status in (405, 501):
            raise AssertionError(f"{label} is documented but the target answered {status}: not implemented")
        if status == 404 and "{" not in case.operation.path:
            raise AssertionError(f"{label} is documented but the target answered 404: no such route")
        return None

    _registered = True


class SchemaRunner:
    kind = CheckKind.SCHEMA

    def run(self, requirement: Requirement, ctx: RunContext) -> Result:
        if not ctx.shared.measured(requirement.id):
            self._run_pass_of(requirement, ctx)
        outcome = ctx.shared.results.pop(requirement.id)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def _run_pass_of(self, requirement: Requirement, ctx: RunContext) -> None:
        """Run the pass `requirement` belongs to: it and the schema requirements planned after it that are not
        measured yet, grouped by `plan_passes`; every member's result (or the pass's error) goes to ctx.shared."""
        members = _pass_of(requirement, ctx.shared)
        try:
            results: dict[str, Result | Exception] = dict(self._run_pass(members, ctx))
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # the pass could not measure (EngineFailure) or a harness bug: every member's
            results = {m.id: exc for m in members}
        ctx.shared.results.update(results)

    @staticmethod
    def _run_pass(members: list[Member], ctx: RunContext) -> dict[str, Result]:
        import hypothesis.configuration
        import schemathesis

        _register_harness_checks()
        bound_the_engine()
        only_the_seed_decides()  # the same seed sends the same cases, whatever else this process has loaded
        hypothesis.configuration.set_hypothesis_home_dir(str(ctx.run_dir.path / ".engine"))
        tier = TIERS[ctx.tier]
        budget = _budget(ctx, len(members))

        def configure(seed: int) -> dict[str, Any]:
            return engine_config(members, ctx.target, ctx.headers, seed, examples_factor=tier.examples_factor,
                                 request_timeout_s=min(tier.request_timeout_s, ctx.target.timeout_s),
                                 max_time_s=None if budget is None else max(1, budget // tier.seeds),
                                 max_examples=ctx.max_examples)

        def load_schema(config_data: dict[str, Any]) -> Any:
            try:
                config = schemathesis.Config.from_dict(config_data)
                schema = schemathesis.openapi.from_path(ctx.profile.openapi_path, config=config)
            except Exception as exc:  # invalid config or interface: the harness cannot measure
                raise EngineFailure(f"schemathesis could not load the interface: {exc}") from exc
            if ctx.auth is not None:
                _use_dynamic_auth(schema, ctx.auth)
            return schema

        return run_pass(members, ctx, seeds=seeds_for(ctx.seed, ctx.tier), configure=configure,
                        limit=time_limit(ctx, len(members)), load_schema=load_schema,
                        deadline=ctx.deadline.describe() if ctx.deadline is not None
                        and _deadline_limit(ctx) < _own_limit(ctx, len(members)) else None)


def _use_dynamic_auth(schema: Any, headers: Any) -> None:
    """Ask `headers()` before every request (it renews tokens itself), via schemathesis' auth providers."""

    class DynamicHeaders:
        def get(self, case: Any, context: Any) -> dict[str, str]:
            return dict(headers())

        def set(self, case: Any, data: dict[str, str], context: Any) -> None:
            case.headers = {**(case.headers or {}), **data}

    schema.auth(refresh_interval=None)(DynamicHeaders)
