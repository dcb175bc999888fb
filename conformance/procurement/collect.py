"""`conformance compare`: read scorecards (files or run directories) and build a comparison from them."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import jsonschema

from conformance.engine.files import loads_strict, utc_now
from conformance.errors import UsageError
from conformance.model import Candidate
from conformance.schemas import load_schema
from conformance.scoring.compare import CandidateRuns, build_comparison
from conformance.scoring.shapes import Comparison

__all__ = ["comparison_from_files"]


def _read(path: Path) -> tuple[Path, dict[str, Any]]:
    card_path = path / "scorecard.json" if path.is_dir() else path
    try:
        card = loads_strict(card_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{card_path}: no scorecard here; give a scorecard.json or a run directory") from None
    except (OSError, ValueError) as exc:
        raise UsageError(f"{card_path}: not a readable scorecard ({exc})") from None
    errors = sorted(jsonschema.Draft202012Validator(load_schema("scorecard")).iter_errors(card),
                    key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        where = "/".join(str(p) for p in errors[0].absolute_path) or "(top level)"
        raise UsageError(f"{card_path}: not a valid scorecard at {where}: {errors[0].message[:200]}")
    return card_path, card


def comparison_from_files(paths: list[Path], *, out_dir: Path, title: str) -> Comparison:
    """One candidate per target (its name, else its supplier); each candidate may bring several profiles.
    Two runs of the same target on the same profile (a version before and after a fix) are told apart by
    their run ids."""
    candidates: dict[str, CandidateRuns] = {}
    for path in paths:
        card_path, card = _read(path)
        target = card.get("target") or {}
        name = str(target.get("name") or target.get("supplier") or card_path.parent.name)
        if "://" in str(target.get("source", "")):  # a URL target is named after its host: keep the port
            name = str(target.get("base_url", name)).split("://", 1)[-1]
        ref = f"{card['profile']['id']}@{card['profile']['version']}"
        if ref in getattr(candidates.get(name), "scorecards", {}):
            name = str((card.get("run") or {}).get("id") or card_path.parent.name)  # two runs of one system
            if ref in getattr(candidates.get(name), "scorecards", {}):
                raise UsageError(f"{card_path}: given twice")
        cand = candidates.setdefault(name, CandidateRuns(Candidate(
            name=name, supplier=str(target.get("supplier") or name), product=target.get("product"),
            product_version=target.get("product_version"), claims=target.get("claims"))))
        cand.scorecards[ref] = card
        report = card_path.parent / "report.html"
        cand.paths[ref] = {"scorecard": os.path.relpath(card_path, out_dir),
                           "report": os.path.relpath(report, out_dir) if report.exists() else None}
    digests: dict[str, set[str]] = {}
    rules: dict[str, set[str]] = {}
    for cand in candidates.values():
        for ref, card in cand.scorecards.items():
            digests.setdefault(ref, set()).add(card["profile"]["digest"])
            waived = sorted((w["id"], w["reason"]) for w in card.get("waivers") or [])
            weights = sorted((k, v.get("category_weight", 1.0)) for k, v in card["categories"].items())
            rules.setdefault(ref, set()).add(json.dumps([waived, weights]))
    for ref, found in digests.items():
        if len(found) > 1:
            raise UsageError(f"the scorecards for {ref} were measured against different profile contents "
                             f"({len(found)} digests); compare runs of the same profile version")
    for ref, found in rules.items():
        if len(found) > 1:
            raise UsageError(f"the scorecards for {ref} were scored under different waivers or category weights "
                             "(different tenders); candidates can only be compared under the same rules")
    return build_comparison(list(candidates.values()), title=title, generated_at=utc_now())
