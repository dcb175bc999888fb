"""The check kit: what a profile's Python checks may use. Everything here is public, typed and stable.

A Python check is the escape hatch for rules a YAML scenario cannot state (properties over every valid record,
time arithmetic, bursts, two systems). It lives with its profile, in `profiles/<id>/<version>/checks/*.py`, so it
is covered by the profile's digest: a change to a check is a change to the profile. The profile loader imports
each file of that folder under a name of its own (per profile id and version) and collects the functions
declared with `@contract_check`; a requirement names one with `check: {kind: contract, python: NAME}`.

A check file may import: the standard library, third-party libraries the harness depends on (httpx, hypothesis,
jsonschema, yaml), `conformance.kit` (this module), and other files of its own `checks/` folder
(`from . import name`). Nothing else of the harness: the runners, the session and the CLI are not its business.

    from conformance.kit import ContractContext, contract_check

    @contract_check("pole_records.person_round_trip", requirements=("POLE-REC-002",))
    def person_round_trip(c: ContractContext) -> None:
        ...  # c.send(...) every request (evidence kept, secrets redacted); c.fail("expected ..., got ...")

The context `c`: `send` (one request to the target or a declared other system), `bodies(operation_id)`
(a hypothesis strategy of valid request bodies from the profile's interface), `dataset(name)` (a file of the
profile's datasets/), `seed`, `examples`, `systems`, `openapi_path`, `fail(message)`, and `restart(step)` (the
supplier's process restarted through the target's restart hook; for checks declared with `restarts=True`).

Outcomes: `c.fail` (or raising `SupplierFailure`) fails the requirement; `EngineFailure` (or `blame` naming
another system) makes it an error; returning normally is a pass. Any other exception is a harness error.

Helpers: `counterexample` (a property over generated values, shrunk to a minimal breach), `poll` and `at_once`
(asynchronous results, bursts), `json_or_none`, `json_object`, `excerpt`, `blame`, `who` (reading answers and
saying whose fault a bad one is), `listed`, `same_time`, `chunks`, `plan_pages` (reconciling, batching, paging),
`interface`, `parameter_maximum`, `component_validator` (the profile's openapi.yaml as data).
"""

from __future__ import annotations

from conformance.errors import EngineFailure, SupplierFailure
from conformance.kit.answers import blame, excerpt, json_object, json_or_none, who
from conformance.kit.context import ContractContext, Restart, Send
from conformance.kit.interface import component_validator, interface, parameter_maximum
from conformance.kit.listing import SHOWN, chunks, listed, plan_pages, same_time
from conformance.kit.properties import counterexample
from conformance.kit.registry import CheckFunction, ContractCheck, contract_check, declared_checks
from conformance.kit.waiting import at_once, poll

__all__ = [
    "SHOWN",
    "CheckFunction",
    "ContractCheck",
    "ContractContext",
    "EngineFailure",
    "Restart",
    "Send",
    "SupplierFailure",
    "at_once",
    "blame",
    "chunks",
    "component_validator",
    "contract_check",
    "counterexample",
    "declared_checks",
    "excerpt",
    "interface",
    "json_object",
    "json_or_none",
    "listed",
    "parameter_maximum",
    "plan_pages",
    "poll",
    "same_time",
    "who",
]
