"""Properties over generated data: search for a value that breaks a rule, shrunk to a minimal one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from conformance.errors import EngineFailure

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

    from conformance.kit.context import ContractContext

__all__ = ["counterexample", "only_the_seed_decides"]

T = TypeVar("T")


def only_the_seed_decides() -> None:
    """Make what hypothesis generates depend on the seed alone, in this process, from now on.

    Hypothesis also draws "local constants" from every module loaded in the process that is not in site-packages:
    the harness's own code, the profile's checks/, and whatever happens to be imported when generation starts. So
    the same seed would send other cases after any edit to the harness, between an editable install and a wheel,
    or depending on import order, and a replay could not reproduce a run. The constants are an internal of
    hypothesis (hypothesis.internal.conjecture.providers, 6.1xx): where they exist they are switched off; where
    they do not, generation already depends on the seed alone."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - a hypothesis without the internal module has no local constants
        return
    constants = getattr(providers, "_local_constants", None)
    if constants is None or not hasattr(providers, "_get_local_constants"):
        return
    empty = type(constants)()
    providers._get_local_constants = lambda: empty
    cache = getattr(providers, "CONSTANTS_CACHE", None)
    if cache is not None and hasattr(cache, "cache"):
        cache.cache.clear()


class _NotMeasured(BaseException):
    """Carries an EngineFailure out of hypothesis, which would otherwise shrink it like a breach."""


def counterexample(c: ContractContext, strategy: SearchStrategy[T], breach: Callable[[T], str | None], *,
                   shrink: bool = True) -> tuple[T, str] | None:
    """Run `breach` on `c.examples` values drawn from `strategy`, seeded by `c.seed`. None if the rule held for
    every one; otherwise the minimal value hypothesis shrank the breach to (the first one found if not `shrink`),
    and what `breach` said was wrong with it.

    `breach` returns None when the rule holds for the value, else what is wrong. A ValueError, KeyError,
    TypeError or AttributeError it raises is read as garbage from the target (a breach saying so)."""
    from hypothesis import HealthCheck, Phase, given, seed, settings
    from hypothesis.errors import Flaky

    only_the_seed_decides()

    failing: list[tuple[T, str]] = []
    phases = list(Phase) if shrink else [Phase.explicit, Phase.reuse, Phase.generate]

    cannot_measure: list[EngineFailure] = []

    @seed(c.seed)
    @settings(max_examples=c.examples, database=None, deadline=None, phases=phases,
              suppress_health_check=list(HealthCheck), print_blob=False, report_multiple_bugs=False)
    @given(strategy)
    def holds(example: T) -> None:
        try:
            why = breach(example)
        except EngineFailure as exc:  # nothing measured: stop at once, never shrink (every try costs a request)
            cannot_measure.append(exc)
            raise _NotMeasured from None
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # garbage from the target
            why = f"the target's answer could not be read: {type(exc).__name__}: {exc}"
        if why is not None:
            failing.append((example, why))
            raise AssertionError(why)

    try:
        holds()
    except _NotMeasured:
        raise cannot_measure[0] from None
    except (AssertionError, Flaky):  # Flaky: the target answered a replay differently; the breach still stands
        if not failing:
            raise
        return failing[-1]  # hypothesis replays the minimal example last
    return None
