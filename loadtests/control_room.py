"""Load scenario for control-room: calls arriving at the buyer's peak call rate.

    call-to-incident  the business task a call handler does for every 999 call: the call is recorded with its
                      serving cell (POST /calls), the handset's AML fix arrives (POST /calls/{id}/fixes) and the
                      call becomes an incident (POST /incidents); timed end to end from when the call was due

A profile requirement picks the mix (`mix: {call-to-incident: 1}`) and an arrival rate; see loadtests/openmodel.py
for how arrivals are scheduled and latency is measured. Numbers are from the drama range (07700 900xxx).
"""

from __future__ import annotations

import random
from typing import ClassVar

from loadtests.openmodel import OpenModelUser, Step, TaskFn


def call_to_incident(user: OpenModelUser, step: Step, rng: random.Random) -> None:
    mast = {"latitude": round(52.3 + rng.random() / 5, 5), "longitude": round(-1.6 + rng.random() / 5, 5)}
    call, _ = step.request("POST", "/calls", "POST /calls", expect=(201,), json_body={
        "channel": "999", "caller": {"number": f"07700900{rng.randrange(1000):03d}"},
        "received_at": "2026-12-01T21:14:05Z",
        "cell": {"cell_id": f"234-30-{rng.randint(1, 9999)}-{rng.randint(1, 99999)}", "mast": mast}})
    step.request("POST", f"/calls/{call['id']}/fixes", "POST /calls/{id}/fixes", json_body={
        "latitude": mast["latitude"] + 0.001, "longitude": mast["longitude"] - 0.001,
        "accuracy_m": rng.choice([5, 8, 12, 40]), "fix_time": "2026-12-01T21:14:09Z", "method": "gnss"})
    step.request("POST", "/incidents", "POST /incidents", expect=(201,), json_body={
        "call_id": call["id"], "type": rng.choice(["road-traffic-collision", "concern-for-safety", "assault"]),
        "priority": 1})


class ControlRoomUser(OpenModelUser):
    mix_tasks: ClassVar[dict[str, TaskFn]] = {"call-to-incident": call_to_incident}
