"""Declaring a Python check: `@contract_check(name, requirements=(...), systems=(...), restarts=False)`.

The decorator only marks the function; nothing is registered globally. The profile loader
(`conformance.inputs.checks`) imports each file of the profile's `checks/` folder and collects the functions
marked there, so every loaded profile version has its own checks, and two versions may use the same names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.kit.context import ContractContext

__all__ = ["CheckFunction", "ContractCheck", "contract_check", "declared_checks"]

CheckFunction = Callable[["ContractContext"], None]
_MARK = "__contract_check__"


@dataclass(frozen=True)
class ContractCheck:
    """A check as declared: its name (what `check: {python: NAME}` names), the requirement ids it verifies, the
    function, the other systems it sends to (declared in the profile's `systems:`), and whether it restarts the
    supplier's process (`c.restart()`, which needs the target's `restart` hook)."""

    name: str
    requirements: tuple[str, ...]
    function: CheckFunction
    systems: tuple[str, ...] = ()
    restarts: bool = False


def contract_check(name: str, *, requirements: tuple[str, ...], systems: tuple[str, ...] = (),
                   restarts: bool = False) -> Callable[[CheckFunction], CheckFunction]:
    """Declare `function` as the contract check `name`, verifying `requirements`; `systems` names the other
    systems it sends to (`c.send(..., system=NAME)`); `restarts` says it restarts the supplier's process
    (`c.restart()`): against a target with no restart hook the requirement is an error, and the check does not
    run. The function is returned unchanged."""

    def mark(function: CheckFunction) -> CheckFunction:
        setattr(function, _MARK, ContractCheck(name, tuple(requirements), function, tuple(systems), restarts))
        return function

    return mark


def declared_checks(module: ModuleType) -> list[ContractCheck]:
    """The checks declared in `module` itself (not those it imported), in the order they are defined."""
    found = []
    for value in vars(module).values():
        check = getattr(value, _MARK, None)
        if isinstance(check, ContractCheck) and getattr(value, "__module__", None) == module.__name__:
            found.append(check)
    return found
