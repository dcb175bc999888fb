"""CSV of a comparison, for procurement spreadsheets: one row per requirement, two columns per candidate,
and a ranking. Cells that a spreadsheet would run as a formula are quoted with a leading apostrophe
(a supplier's error message is data, never a formula)."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

__all__ = ["render_comparison_csv", "render_ranking_csv"]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    text = "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
    return "'" + text if text.startswith(_FORMULA_START) else text


def _write(rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for row in rows:
        writer.writerow([_cell(v) for v in row])
    return out.getvalue()


def render_comparison_csv(comparison: Mapping[str, Any]) -> str:
    names = [c["name"] for c in comparison["candidates"]]
    header = ["profile", "requirement", "title", "level", "category", "weight", "waived"]
    for name in names:
        header += [f"{name} outcome", f"{name} findings"]
    rows: list[list[Any]] = [header]
    for req in comparison["requirements"]:
        row: list[Any] = [req["profile"], req["id"], req["title"], req["level"], req["category"],
                          float(req["weight"]), req["waived"] or ""]
        for name in names:
            result = req["results"].get(name) or {}
            row += [result.get("outcome", ""), result.get("findings", "")]
        rows.append(row)
    return _write(rows)


def render_ranking_csv(comparison: Mapping[str, Any]) -> str:
    refs = [p["ref"] for p in comparison["profiles"]]
    rows: list[list[Any]] = [["rank", "candidate", "supplier", "product", "verdict", "score", "meets thresholds",
                              "reasons", *[f"{ref} score" for ref in refs]]]
    candidates = {c["name"]: c for c in comparison["candidates"]}
    for entry in comparison["ranking"]:
        cand = candidates[entry["candidate"]]
        rows.append([entry["rank"], entry["candidate"], entry["supplier"], entry["product"] or "", entry["verdict"],
                     float(entry["score"]), "yes" if entry["meets_thresholds"] else "no", "; ".join(entry["reasons"]),
                     *[float(cand["profiles"][ref]["score"]) for ref in refs]])
    return _write(rows)
