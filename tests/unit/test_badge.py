"""badge.svg: valid XML, the profile@version, verdict and score in it, escaped text, a colour per verdict, and
written beside the other reports."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conformance.reporters.badge import COLOURS, render_badge
from conformance.reporters.files import RUN_REPORTERS, write_run_reports

SVG = "{http://www.w3.org/2000/svg}"


def _card(verdict: str = "conformant", score: float = 100.0, profile_id: str = "pole-records") -> dict[str, Any]:
    return {"profile": {"id": profile_id, "version": "1.0.0"}, "verdict": verdict, "score": score,
            "requirements": []}


def _texts(svg: str) -> list[str]:
    return [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]


@pytest.mark.parametrize(("verdict", "score", "value"), [("conformant", 100.0, "conformant 100"),
                                                         ("non-conformant", 82.3, "non-conformant 82.3"),
                                                         ("incomplete", 13.6, "incomplete 13.6")])
def test_the_badge_is_svg_with_profile_verdict_score_and_its_colour(verdict: str, score: float, value: str) -> None:
    svg = render_badge(_card(verdict, score))
    assert ET.fromstring(svg).tag == f"{SVG}svg"
    assert "pole-records@1.0.0" in _texts(svg) and value in _texts(svg)
    assert COLOURS[verdict].lower() in svg.lower()


def test_text_is_escaped() -> None:
    svg = render_badge(_card(profile_id='<script>alert("x")</script>&'))
    assert "<script>" not in svg
    assert '<script>alert("x")</script>&@1.0.0' in _texts(svg)  # parsed back: the text, not markup


def test_it_is_a_registered_report_written_beside_the_others(tmp_path: Path) -> None:
    assert "badge.svg" in [r.file for r in RUN_REPORTERS]
    written = write_run_reports(tmp_path, _card())
    assert written["badge"] == tmp_path / "badge.svg"
    ET.parse(tmp_path / "badge.svg")
