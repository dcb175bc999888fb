"""Contract checks written in Python: the escape hatch for rules a YAML scenario cannot state, such as
properties over every valid record (hypothesis, with cases generated from the profile's own OpenAPI).

A check is a typed function registered under a name, stating the requirement ids it verifies; a profile
names it with `check: {kind: contract, python: NAME}`. Use it only when a scenario cannot say the rule:
a fixed example belongs in YAML, where a standards body can read and review it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from conformance.errors import SupplierFailure

if TYPE_CHECKING:
    import httpx

Unmet = SupplierFailure  # the name profile checks used before the error tree had a supplier-failure type

__all__ = ["REGISTRY", "ContractCheck", "ContractContext", "Unmet", "contract_check", "find_check"]


def _modules() -> list[str]:
    """Every module of this package: a profile's checks are registered by adding a file here."""
    return [f"{__name__}.{info.name}" for info in pkgutil.iter_modules(__path__) if not info.name.startswith("_")]


class ContractContext:
    """What a Python contract check may use. Every request goes through `send`, which keeps the evidence,
    counts the requests and redacts secrets, like a scenario step."""

    def __init__(self, send: Callable[..., httpx.Response], openapi_path: str, seed: int, examples: int,
                 systems: frozenset[str] = frozenset()) -> None:
        self._send = send
        self.openapi_path = openapi_path
        self.seed = seed
        self.examples = examples
        self.systems = systems  # the other systems this run was given (the check declared them)

    def send(self, method: str, path: str, *, json: Any = None, query: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, step: str = "", system: str | None = None,
             content: bytes | None = None) -> httpx.Response:
        """One request to the target, or to the named other `system`. `content` sends raw bytes (give
        the Content-Type in `headers`) instead of `json`."""
        return self._send(method, path, json=json, query=query, headers=headers, step=step, system=system,
                          content=content)

    def bodies(self, operation_id: str) -> Any:
        """A hypothesis strategy of valid request bodies for an operation of the profile's interface."""
        import schemathesis

        schema = schemathesis.openapi.from_path(self.openapi_path)
        return schema.find_operation_by_id(operation_id).as_strategy().map(lambda case: case.body)

    @staticmethod
    def fail(message: str) -> NoReturn:
        raise Unmet(message)


@dataclass(frozen=True)
class ContractCheck:
    name: str
    requirements: tuple[str, ...]
    function: Callable[[ContractContext], None]
    systems: tuple[str, ...] = ()  # other systems it talks to, declared in the profile's `systems:`


REGISTRY: dict[str, ContractCheck] = {}


def contract_check(name: str, *, requirements: tuple[str, ...], systems: tuple[str, ...] = ()) -> Callable[
        [Callable[[ContractContext], None]], Callable[[ContractContext], None]]:
    """Register `function` as the contract check `name`, verifying `requirements`; `systems` names the other
    systems it sends to (`c.send(..., system=NAME)`)."""

    def register(function: Callable[[ContractContext], None]) -> Callable[[ContractContext], None]:
        if name in REGISTRY:
            raise ValueError(f"contract check {name} is registered twice")
        REGISTRY[name] = ContractCheck(name, requirements, function, systems)
        return function

    return register


def find_check(name: str) -> ContractCheck | None:
    for module in _modules():
        importlib.import_module(module)
    return REGISTRY.get(name)
