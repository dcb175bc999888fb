"""Load scenarios for custody: what a custody block does to its system on a busy night.

    due-view     the custody officer reads the suite's doses due now and overdue (GET /suites/{suite}/due-medication)
    read-record  an officer opens a detainee's record, conditions and schedules (GET /detainees/{id})
    give-dose    an officer records a dose given, by whom and when (POST /detainees/{id}/administrations)

A profile requirement picks a mix (`mix: {due-view: 6, read-record: 2, give-dose: 2}`) and an arrival rate; see
loadtests/openmodel.py for how arrivals are scheduled and latency is measured. The detainees are synthetic.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from loadtests.openmodel import OpenModelUser, Step, TaskFn

DRUGS = [("Levetiracetam", "2.5", "ml", "oral"), ("Insulin aspart", "4.5", "units", "subcutaneous"),
         ("Salbutamol", "2", "puffs", "inhaled"), ("Clonazepam", "0.125", "mg", "sublingual")]


def due_view(user: CustodyUser, step: Step, rng: random.Random) -> None:
    body, _ = step.request("GET", f"/suites/{user.suite}/due-medication", "GET /suites/{suite}/due-medication")
    if not isinstance(body, dict) or not body.get("items"):
        step.user.recorder.error_sample("GET /suites/{suite}/due-medication",
                                        f"the due view of {user.suite} listed no dose")


def read_record(user: CustodyUser, step: Step, rng: random.Random) -> None:
    detainee_id, _ = rng.choice(user.detainees)
    step.request("GET", f"/detainees/{detainee_id}", "GET /detainees/{id}")


def give_dose(user: CustodyUser, step: Step, rng: random.Random) -> None:
    detainee_id, doses = rng.choice(user.detainees)
    schedule_id, due_at, amount, unit = rng.choice(doses)
    step.request("POST", f"/detainees/{detainee_id}/administrations", "POST /detainees/{id}/administrations",
                 expect=(201,), json_body={
                     "schedule_id": schedule_id, "due_at": due_at,
                     "administered_at": datetime.now(UTC).isoformat(timespec="seconds"),
                     "administered_by": {"officer_id": f"PC-{rng.randint(1000, 9999)}", "name": "Load Example"},
                     "dose": {"amount": amount, "unit": unit}})


class CustodyUser(OpenModelUser):
    mix_tasks: ClassVar[dict[str, TaskFn]] = {
        "due-view": due_view, "read-record": read_record, "give-dose": give_dose}

    def setup_data(self, rng: random.Random) -> None:
        """Detainees in a suite of this generator's own, each with doses every half hour from four hours ago to
        four hours ahead (booked in before the schedule starts; not measured)."""
        self.suite = f"load-{rng.randrange(16**8):08x}"
        self.detainees: list[tuple[str, list[tuple[str, str, str, str]]]] = []
        now = datetime.now(UTC).replace(microsecond=0)
        due = [(now + timedelta(minutes=30 * k)).isoformat() for k in range(-8, 9)]
        for i in range(8):
            drugs = rng.sample(DRUGS, 2)
            booking = {"custody_ref": f"LOAD-{i}", "suite": self.suite,
                       "name": {"family": f"Loadtest-{i}", "given": "Example"}, "date_of_birth": "1990-01-01",
                       "booked_in_at": (now - timedelta(hours=5)).isoformat(),
                       "conditions": [{"name": "Synthetic condition"}],
                       "schedules": [{"drug": d, "dose": {"amount": a, "unit": u}, "route": r, "due_at": due}
                                     for d, a, u, r in drugs]}
            held = self.setup_request("POST", "/detainees", booking, expect=201)
            doses = [(s["id"], when, s["dose"]["amount"], s["dose"]["unit"])
                     for s in held["schedules"] for when in s["due_at"]]
            self.detainees.append((held["id"], doses))
