"""The `contract` check kind: a requirement's `check:` names a YAML scenario (`scenario:`, run by
`conformance.runners.scenario`) or a Python check of the profile (`python:`, run by `conformance.runners.checks`).
Both send through `conformance.runners.http`."""

from __future__ import annotations

from conformance.model import CheckKind, Requirement, Result
from conformance.runners import RunContext

__all__ = ["ContractRunner"]


class ContractRunner:
    kind = CheckKind.CONTRACT

    def run(self, requirement: Requirement, ctx: RunContext) -> Result:
        if "python" in requirement.check.options:
            from conformance.runners.checks import run_check

            return run_check(requirement, ctx)
        from conformance.runners.scenario import run_scenario

        return run_scenario(requirement, ctx)
