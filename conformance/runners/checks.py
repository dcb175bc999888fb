"""Run a profile's Python check (`check: {kind: contract, python: NAME}`), declared in the profile's
`checks/` folder with the kit (`conformance.kit`) and loaded with the profile (`conformance.inputs.checks`).

The check gets a `ContractContext` whose `send` is the shared sender (`conformance.runners.http`): evidence,
redaction and request counting as for a scenario step. `SupplierFailure` (`c.fail`) is the finding; an
`EngineFailure` is an error; sending to a system the check did not declare is an error too. A check declared
with `restarts=True` may restart the supplier's process (`c.restart()`, the session's restart hook); each
restart is counted in the measurements.
"""

from __future__ import annotations

from typing import Any

import httpx

from conformance.errors import EngineFailure, SupplierFailure
from conformance.inputs.profiles import profile_checks
from conformance.kit import ContractContext
from conformance.model import Requirement, Result
from conformance.runners import RunContext
from conformance.runners.http import Exchanges, exchanges, held, measurements, not_met, send

__all__ = ["run_check"]

DEFAULT_EXAMPLES = 25  # generated cases a property tries in the quick tier, unless the requirement says
FULL_TIER_FACTOR = 5


def run_check(requirement: Requirement, ctx: RunContext) -> Result:
    name = requirement.check.options["python"]
    check = profile_checks(ctx.profile).find(name)
    if check is None or requirement.id not in check.requirements:
        raise EngineFailure(f"no contract check '{name}' registered for {requirement.id}")
    examples = int(requirement.check.options.get("max_examples", DEFAULT_EXAMPLES)) * (
        FULL_TIER_FACTOR if ctx.tier == "full" else 1)
    with exchanges(requirement, ctx) as ex:

        def send_one(method: str, path: str, *, json: Any = None, query: dict[str, Any] | None = None,
                     headers: dict[str, str] | None = None, step: str = "", system: str | None = None,
                     content: bytes | None = None) -> httpx.Response:
            if ctx.stop.is_set():
                raise KeyboardInterrupt
            if system is not None and system not in check.systems:
                raise EngineFailure(f"contract check '{name}' sent to system '{system}' without declaring it "
                                    "in @contract_check(systems=...)")
            request: dict[str, Any] = {"method": method, "path": path}
            if json is not None:
                request["json"] = json
            if content is not None:
                request["content"] = content
            if query:
                request["query"] = query
            if headers:
                request["headers"] = headers
            where = f" on {system}" if system else ""
            ctx.progress(f"{step or method + ' ' + path}{where} ({ex.requests} requests)")
            return send(ex, step or f"{method} {path}", request, system=system)

        def restart(step: str) -> None:
            if not check.restarts or ctx.restart is None:
                raise EngineFailure(f"contract check '{name}' restarted the supplier without declaring it in "
                                    "@contract_check(restarts=True)" if not check.restarts else
                                    "the target declares no restart hook (`restart:` in the targets file)")
            ctx.progress(f"{step}: restarting the supplier's process ({ex.requests} requests)")
            ex.restarts += 1
            ctx.restart()

        try:
            check.function(ContractContext(send_one, ctx.profile.openapi_path, ctx.seed, examples,
                                           frozenset(ctx.systems), restart))
        except SupplierFailure as unmet:
            return not_met(requirement, ex, _measurements(requirement, ex, name), name=name,
                           step=f"property {name}", operation=None, why=str(unmet))
        if check.restarts and not ex.restarts:  # what survives a restart was not seen: never a pass
            raise EngineFailure(f"contract check '{name}' declares restarts=True but never restarted the supplier")
    return held(requirement, ex, _measurements(requirement, ex, name), name=name, task=None,
                what=f"property {name} held")


def _measurements(requirement: Requirement, ex: Exchanges, name: str) -> dict[str, Any]:
    return measurements(requirement, ex, scenario=None, python=name, steps=0, task=None)
