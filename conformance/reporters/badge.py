"""badge.svg: a profile@version badge with the run's verdict and score, for a supplier's README. Pure: data in,
text out. Drawn by anybadge (a maintained badge library, no dependencies; it escapes label and value). The
verdict is the honest one: a baseline changes the CI job's exit code, never the badge."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["render_badge"]

COLOURS = {"conformant": "#2e7d32", "non-conformant": "#c62828", "incomplete": "#ef6c00"}


def render_badge(scorecard: Mapping[str, Any]) -> str:
    import anybadge

    profile = scorecard.get("profile") or {}
    verdict = str(scorecard.get("verdict") or "incomplete")
    score = scorecard.get("score")
    value = f"{verdict} {score:g}" if isinstance(score, (int, float)) else verdict
    badge = anybadge.Badge(f"{profile.get('id')}@{profile.get('version')}", value,
                           default_color=COLOURS.get(verdict, "#616161"))
    return str(badge.badge_svg_text)
