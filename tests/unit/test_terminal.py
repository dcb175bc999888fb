"""The terminal summary prints whatever a supplier sent back, verbatim and without crashing."""

from __future__ import annotations

import io

from rich.console import Console

from conformance.reporters.terminal import render_scorecard


def scorecard(message: str, curl: str) -> dict[str, object]:
    finding = {"requirement_id": "X-1", "check": "c", "title": "Response [x] violates schema", "message": message,
               "operation": "GET /a/[b]", "curl": curl, "status_code": 200, "code": None, "seed": 1,
               "occurrences": 2}
    return {
        "profile": {"id": "p", "version": "1.0.0"}, "target": {"supplier": "[bold]Acme[/]"},
        "requirements": [
            {"id": "X-1", "level": "MUST", "category": "c", "status": "active", "outcome": "fail",
             "reason": "1 finding [/red]", "findings": [finding] * 5},
            {"id": "X-2", "level": "MUST", "category": "c", "status": "planned", "outcome": "not-run",
             "reason": "planned", "findings": []},
        ],
        "categories": {"c": {"score": 0.0}}, "counts": {"fail": 1, "planned": 1},
        "verdict": "non-conformant", "score": 0.0, "verdict_reason": "MUST requirement(s) failed: X-1",
    }


def test_markup_in_supplier_text_is_printed_verbatim() -> None:
    out = io.StringIO()
    console = Console(file=out, width=200, color_system=None)
    render_scorecard(console, scorecard("[/bold] unbalanced [Filtered]", "curl -H 'X: [/]' http://h/a"))
    text = out.getvalue()
    assert "[/bold] unbalanced [Filtered]" in text
    assert "curl -H 'X: [/]' http://h/a" in text
    assert "[bold]Acme[/]" in text
    assert "planned (stated, not yet checked), never scored: X-2" in text
    assert "2 more finding(s) for X-1" in text
