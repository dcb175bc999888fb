"""The control-room check a scenario cannot state: a call in progress survives a restart of the supplier's process.

The check records a call, restarts the supplier's process through the target's restart hook (`c.restart()`: the
harness runs the hook the targets file declares, then waits until the target answers again), and reads the call
back. A target that declares no restart hook makes the requirement an error naming what is missing, never a pass.
"""

from __future__ import annotations

from typing import Any

import httpx

from conformance.kit import ContractContext, contract_check, json_or_none


def _answer(c: ContractContext, response: httpx.Response, status: int, what: str) -> dict[str, Any]:
    """The answer as a JSON object when it has `status`; anything else fails the requirement, saying what came back."""
    body = json_or_none(response)
    if response.status_code != status or not isinstance(body, dict):
        c.fail(f"{what}: expected {status} with a JSON object, got {response.status_code}: {response.text[:200]!r}")
    return body


def _best(call: dict[str, Any]) -> Any:
    location = call.get("location")
    return location.get("best") if isinstance(location, dict) else None


@contract_check("control_room.call_survives_restart", requirements=("CR-RES-001",), restarts=True)
def call_survives_restart(c: ContractContext) -> None:
    data = c.dataset("calls.yaml")
    sent_call, first_fix, later_fix = data["call-999-with-cell"], data["fix-gnss-8m"], data["fix-wifi-40m"]
    call = _answer(c, c.send("POST", "/calls", json=sent_call, step="record a call in progress"), 201,
                   "POST /calls")
    call_id = call.get("id")
    if not isinstance(call_id, str) or not call_id:
        c.fail(f"POST /calls: the 201 answer has no call id (expected a string at /id, got {call_id!r})")
    _answer(c, c.send("POST", f"/calls/{call_id}/fixes", json=first_fix, step="the handset's GNSS fix arrives"),
            200, "POST /calls/{id}/fixes")

    c.restart("the supplier's process is restarted mid-call")

    after = c.send("GET", f"/calls/{call_id}", step="read the call after the restart")
    if after.status_code == 404:
        c.fail(f"the call {call_id}, in progress when the supplier's process restarted, is gone (GET /calls/{{id}} "
               "answered 404 after the restart): everything recorded about it was lost")
    held = _answer(c, after, 200, "GET /calls/{id} after the restart")
    lost = []
    if held.get("status") != "in-progress":
        lost.append(f"status is {held.get('status')!r}, expected 'in-progress'")
    if held.get("cell") != sent_call["cell"]:
        lost.append(f"cell is {held.get('cell')!r}, expected {sent_call['cell']!r}")
    best = _best(held)
    if not isinstance(best, dict) or best.get("accuracy_m") != first_fix["accuracy_m"] or \
            best.get("method") != first_fix["method"]:
        lost.append(f"location.best is {best!r}, expected the {first_fix['method']} fix of "
                    f"{first_fix['accuracy_m']} m received before the restart")
    if lost:
        c.fail(f"the call {call_id} read back after the restart lost what was recorded: {'; '.join(lost)}")

    more = _answer(c, c.send("POST", f"/calls/{call_id}/fixes", json=later_fix,
                             step="a fix arrives after the restart"), 200, "POST /calls/{id}/fixes after the restart")
    location = more.get("location") if isinstance(more.get("location"), dict) else {}
    kept = [location.get("best"), *(location.get("other_fixes") or [])] if isinstance(location, dict) else []
    if not any(isinstance(f, dict) and f.get("method") == later_fix["method"] for f in kept):
        c.fail(f"the {later_fix['method']} fix sent after the restart is not kept on the call (location: "
               f"{location!r})")
    ended = _answer(c, c.send("POST", f"/calls/{call_id}/end", step="the call ends"), 200, "POST /calls/{id}/end")
    if ended.get("status") != "ended":
        c.fail(f"POST /calls/{{id}}/end: the call's status is {ended.get('status')!r}, expected 'ended'")
