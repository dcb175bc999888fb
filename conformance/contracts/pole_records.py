"""Property contracts of pole-records: rules over every valid record, not one example."""

from __future__ import annotations

from typing import Any

from conformance.contracts import ContractContext, Unmet, contract_check


@contract_check("pole_records.person_round_trip", requirements=("POLE-REC-002",))
def person_round_trip(c: ContractContext) -> None:
    """For any valid person the interface allows, create then read returns every field unchanged.
    Failures are shrunk by hypothesis to a minimal record, which the finding shows."""
    from hypothesis import HealthCheck, given, seed, settings

    failing: list[tuple[dict[str, Any], str]] = []

    @seed(c.seed)
    @settings(max_examples=c.examples, database=None, deadline=None, suppress_health_check=list(HealthCheck),
              print_blob=False)
    @given(c.bodies("createPerson"))
    def round_trip(body: dict[str, Any]) -> None:
        try:
            check(body)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:  # garbage from the target
            failing.append((body, f"the target's answer could not be read: {type(exc).__name__}: {exc}"))
            raise AssertionError from None

    def check(body: dict[str, Any]) -> None:
        created = c.send("POST", "/persons", json=body, step="create a generated person")
        if created.status_code != 201:
            failing.append((body, f"create answered {created.status_code}, expected 201"))
            raise AssertionError
        read = c.send("GET", f"/persons/{created.json()['id']}", step="read it back")
        if read.status_code != 200:
            failing.append((body, f"read answered {read.status_code}, expected 200"))
            raise AssertionError
        stored = read.json()
        for field, sent in body.items():
            got = stored.get(field)
            if field == "flags":
                sent = [{k: f[k] for k in ("code", "note") if k in f} for f in sent]
                got = [{k: f[k] for k in ("code", "note") if k in f} for f in got or []]
            if got != sent:
                failing.append((body, f"{field}: sent {sent!r}, read back {got!r}"))
                raise AssertionError

    try:
        round_trip()
    except AssertionError:
        body, why = failing[-1] if failing else ({}, "the property failed")
        raise Unmet(f"{why}; minimal record (seed {c.seed}): {body!r}") from None
