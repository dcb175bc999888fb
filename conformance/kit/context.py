"""What a Python check may use while it runs: `ContractContext` (the `c` every check takes)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from conformance.errors import EngineFailure, SupplierFailure

if TYPE_CHECKING:
    import httpx

__all__ = ["ContractContext", "Send"]

# send(method, path, *, json, query, headers, step, system, content) -> the response; see ContractContext.send
Send = Callable[..., "httpx.Response"]
# restart(step) restarts the supplier's process and returns once it answers again; see ContractContext.restart
Restart = Callable[[str], None]


class ContractContext:
    """What a Python contract check may use. Every request goes through `send`, which keeps the evidence,
    counts the requests and redacts secrets, like a scenario step.

    `seed` makes generated data reproducible (the finding names it); `examples` is how many generated cases a
    property tries (the requirement's `max_examples`, five times more in the full tier); `systems` are the other
    systems this run was given (a check may send only to those it declared)."""

    def __init__(self, send: Send, openapi_path: str, seed: int, examples: int,
                 systems: frozenset[str] = frozenset(), restart: Restart | None = None) -> None:
        self._send = send
        self._restart = restart
        self.openapi_path = openapi_path
        self.seed = seed
        self.examples = examples
        self.systems = systems  # the other systems this run was given (the check declared them)

    def send(self, method: str, path: str, *, json: Any = None, query: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None, step: str = "", system: str | None = None,
             content: bytes | None = None) -> httpx.Response:
        """One request to the target, or to the named other `system`. `content` sends raw bytes (give
        the Content-Type in `headers`) instead of `json`. `step` names the request in the evidence."""
        return self._send(method, path, json=json, query=query, headers=headers, step=step, system=system,
                          content=content)

    def restart(self, step: str = "restart the supplier's process") -> None:
        """Restart the supplier's process through the target's restart hook (targets file `restart:`) and return
        once it answers again at the same base URL. Only for a check declared with `restarts=True`; a hook that
        fails, or a supplier that does not answer again in time, is an error (`EngineFailure`), not a failure."""
        if self._restart is None:
            raise EngineFailure("this check restarts the supplier's process: declare it with "
                                "@contract_check(..., restarts=True)")
        self._restart(step)

    def bodies(self, operation_id: str) -> Any:
        """A hypothesis strategy of valid request bodies for an operation of the profile's interface."""
        import schemathesis

        schema = schemathesis.openapi.from_path(self.openapi_path)
        return schema.find_operation_by_id(operation_id).as_strategy().map(lambda case: case.body)

    def dataset(self, name: str) -> Any:
        """A YAML file of the profile's `datasets/` folder, parsed (it is part of the profile's digest)."""
        from conformance.inputs.yamlfile import safe_load

        path = Path(self.openapi_path).parent / "datasets" / name
        return safe_load(path.read_text(encoding="utf-8"))

    @staticmethod
    def fail(message: str) -> NoReturn:
        """The target broke the rule: the requirement fails with `message` (what was expected, what came back)."""
        raise SupplierFailure(message)
