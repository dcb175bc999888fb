"""A supplier's baseline: failures it has accepted while it fixes them (`conformance run ... --baseline FILE`).

    profile: pole-records
    entries:
      - requirement: POLE-REC-005
        reason: "optimistic locking lands in 2.4 (JIRA-123)"
        accepted_by: "J. Smith, head of QA"
        expires: 2027-03-31

The file is checked against conformance/schemas/baseline.schema.json and the profile (every requirement must
exist in it; each requirement once). Scoring applies it (conformance/scoring/scorecard.py: the verdict stays
honest; `baseline` in the scorecard gives the verdict the CI job goes by). A certification run refuses it.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import jsonschema

from conformance.errors import BaselineError
from conformance.inputs.yamlfile import explain_schema_error, load_located_yaml
from conformance.model import Profile
from conformance.schemas import load_schema

__all__ = ["load_baseline"]



def load_baseline(path: Path, profile: Profile) -> dict[str, dict[str, str]]:
    """The baseline as {requirement id: {reason, accepted_by, expires}}; `BaselineError` naming file, line and key
    on the first problem."""
    doc = load_located_yaml(path, error=BaselineError)
    data: Any = doc.data
    for entry in (data.get("entries") if isinstance(data, dict) else None) or []:
        if isinstance(entry, dict) and isinstance(entry.get("expires"), datetime.date):
            entry["expires"] = entry["expires"].isoformat()  # YAML reads an unquoted date as a date
    validator = jsonschema.Draft202012Validator(load_schema("baseline"))
    for error in sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]):
        for problem in explain_schema_error(error, doc, schema_name="schemas/baseline.schema.json"):
            raise BaselineError(problem.problem, file=problem.file, line=problem.line, key=problem.key,
                                fix=problem.fix)
    if str(data["profile"]).split("@")[0] != profile.id:
        raise BaselineError(f"a baseline for {data['profile']}, not {profile.id}", file=str(path),
                            line=doc.line_of(["profile"]), key="profile", fix="give the baseline of this profile")
    known = {r.id for r in profile.requirements}
    entries: dict[str, dict[str, str]] = {}
    for index, entry in enumerate(data["entries"]):
        rid = entry["requirement"]
        line, key = doc.line_of(["entries", index, "requirement"]), f"entries[{index}].requirement"
        if rid not in known:
            raise BaselineError(f"{rid} is not a requirement of {profile.ref}", file=str(path), line=line, key=key,
                                fix="remove the entry, or correct the id (`conformance profiles show`)")
        if rid in entries:
            raise BaselineError(f"{rid} is listed twice", file=str(path), line=line, key=key,
                                fix="keep one entry per requirement")
        try:
            datetime.date.fromisoformat(entry["expires"])
        except ValueError:
            raise BaselineError(f"expires {entry['expires']!r} is not a date", file=str(path),
                                line=doc.line_of(["entries", index, "expires"]), key=f"entries[{index}].expires",
                                fix="write it as YYYY-MM-DD") from None
        entries[rid] = {"reason": entry["reason"], "accepted_by": entry["accepted_by"], "expires": entry["expires"]}
    return entries
