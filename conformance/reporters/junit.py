"""JUnit XML from a scorecard, for the test report views of Jenkins and GitLab. Pure: data in, text out.

One `<testsuites>` holding one `<testsuite>` named `<profile id>@<version>`, with the run's facts as
`<properties>`, and one `<testcase>` per requirement row, named `<ID> <title>` so CI shows the id first.

Outcome mapping (a waived requirement is never a failure):

| requirement row                        | inside its `<testcase>`                                         |
| -------------------------------------- | --------------------------------------------------------------- |
| pass                                   | nothing                                                         |
| fail                                   | `<failure>` whose text lists every finding, with its curl       |
| error (the harness could not measure)  | `<error>`                                                       |
| skipped, not-run, planned              | `<skipped>`                                                     |
| not-applicable (condition unmet)       | `<skipped message="not applicable: <reason>">` (not a failure) |
| waived by a tender (any outcome)       | `<skipped message="waived: <reason> (measured: <outcome>)">`    |
| baselined, not passing, not expired    | `<skipped message="baselined: <reason> (accepted by, until, measured)">` |
| baselined, expired                     | as its outcome; a failure's message starts "baseline expired DATE" |

Checked against the Jenkins xUnit plugin's `junit-10.xsd` in tests/unit/test_junit.py.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from conformance.model import Outcome, Verdict

__all__ = ["render_junit"]

# XML 1.0 allows #x9 #xA #xD, #x20-#xD7FF, #xE000-#xFFFD and #x10000-#x10FFFF: everything else is stripped.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")

_SKIPPED_OUTCOMES = (Outcome.SKIPPED, Outcome.NOT_RUN)


def _clean(value: object) -> str:
    """Text safe to put in XML 1.0: ElementTree escapes markup, this removes what cannot be escaped."""
    return _XML_FORBIDDEN.sub("", str(value))


def _set(element: ET.Element, **attributes: object) -> None:
    for name, value in attributes.items():
        if value is not None:
            element.set(name, _clean(value))


def _duration(run: dict[str, Any]) -> str | None:
    """Seconds between the run's start and end, as JUnit writes them ("12.345"); None when unknown."""
    try:
        started = datetime.fromisoformat(str(run["started_at"]))
        finished = datetime.fromisoformat(str(run["finished_at"]))
        seconds = (finished - started).total_seconds()
    except (KeyError, TypeError, ValueError):
        return None
    return f"{seconds:.3f}" if seconds >= 0 else None


def _elapsed(row: dict[str, Any]) -> str | None:
    elapsed = (row.get("measurements") or {}).get("elapsed_s")
    if isinstance(elapsed, int | float) and not isinstance(elapsed, bool) and elapsed >= 0:
        return f"{elapsed:.3f}"
    return None


def _finding_text(index: int, total: int, finding: dict[str, Any]) -> str:
    lines = [f"[{index}/{total}] {finding.get('title') or ''} (x{finding.get('occurrences', 1)})"]
    for label, key in (("operation", "operation"), ("status code", "status_code"), ("check", "check"),
                       ("code", "code"), ("seed", "seed")):
        if finding.get(key) is not None:
            lines.append(f"  {label}: {finding[key]}")
    if finding.get("also_breaks"):
        lines.append(f"  also breaks: {', '.join(finding['also_breaks'])}")
    if finding.get("message"):
        lines.append("  message:")
        lines.extend(f"    {line}" for line in str(finding["message"]).splitlines())
    if finding.get("curl"):
        lines.append("  reproduce:")
        lines.extend(f"    {line}" for line in str(finding["curl"]).splitlines())
    return "\n".join(lines)


def _failure(testcase: ET.Element, row: dict[str, Any]) -> None:
    findings: list[dict[str, Any]] = list(row.get("findings") or [])
    first = findings[0] if findings else {}
    if findings:
        more = f" (+{len(findings) - 1} more finding(s))" if len(findings) > 1 else ""
        message = f"{first.get('title') or first.get('check') or 'finding'}{more}"
    else:
        message = row.get("reason") or "failed"
    entry = row.get("baselined")
    if isinstance(entry, Mapping) and entry.get("expired"):
        message = f"baseline expired {entry.get('expires')}: {message}"
    failure = ET.SubElement(testcase, "failure")
    _set(failure, message=message, type=first.get("code") or first.get("check") or row.get("check_kind") or "fail")
    parts = []
    if row.get("reason"):
        parts.append(str(row["reason"]))
    parts.extend(_finding_text(i, len(findings), f) for i, f in enumerate(findings, start=1))
    failure.text = _clean("\n\n".join(parts))


def _testcase(suite: ET.Element, profile_id: str, row: dict[str, Any]) -> str:
    """Append the row's `<testcase>`; return what it counts as: pass, failure, error or skipped."""
    testcase = ET.SubElement(suite, "testcase")
    _set(testcase, name=f"{row['id']} {row.get('title') or ''}".rstrip(),
         classname=f"{profile_id}.{row.get('category') or 'uncategorised'}", time=_elapsed(row))
    outcome = str(row.get("outcome") or Outcome.NOT_RUN)
    reason = row.get("reason")
    if row.get("waived") is not None:
        _set(ET.SubElement(testcase, "skipped"), message=f"waived: {row['waived']} (measured: {outcome})")
        return "skipped"
    entry = row.get("baselined")
    if isinstance(entry, Mapping) and not entry.get("expired") and outcome != Outcome.PASS:
        _set(ET.SubElement(testcase, "skipped"), message=f"baselined: {entry.get('reason')} (accepted by "
             f"{entry.get('accepted_by')}, until {entry.get('expires')}; measured: {outcome})")
        return "skipped"
    if outcome == Outcome.NOT_APPLICABLE:  # JUnit has no such outcome: CI views read a skip with its message
        text = str(reason or "its condition does not hold")
        _set(ET.SubElement(testcase, "skipped"),
             message=text if text.startswith("not applicable") else f"not applicable: {text}")
        return "skipped"
    if row.get("status") == "planned" or outcome in _SKIPPED_OUTCOMES:
        _set(ET.SubElement(testcase, "skipped"), message=reason or outcome)
        return "skipped"
    if outcome == Outcome.FAIL:
        _failure(testcase, row)
        return "failure"
    if outcome == Outcome.ERROR:
        error = ET.SubElement(testcase, "error")
        _set(error, message=reason or "error: could not be measured", type="error")
        error.text = _clean(reason or "")
        return "error"
    if outcome != Outcome.PASS:  # an outcome this reporter does not know: never shown as a pass
        error = ET.SubElement(testcase, "error")
        _set(error, message=f"unknown outcome {outcome!r}: {reason or ''}".rstrip(": "), type="unknown-outcome")
        return "error"
    return "pass"


def _verdict_testcase(suite: ET.Element, profile_id: str, scorecard: Mapping[str, Any]) -> str:
    """One testcase for the verdict itself, so that a run whose MUSTs were not all run (interrupted, skipped)
    is never shown green: non-conformant is a failure, incomplete an error."""
    testcase = ET.SubElement(suite, "testcase")
    _set(testcase, name=f"verdict: {profile_id} conformant", classname=f"{profile_id}.verdict", time="0")
    verdict = str(scorecard.get("verdict") or Verdict.INCOMPLETE)
    reason = str(scorecard.get("verdict_reason") or verdict)
    if verdict == Verdict.CONFORMANT:
        return "pass"
    kind = "failure" if verdict == Verdict.NON_CONFORMANT else "error"
    element = ET.SubElement(testcase, kind)
    _set(element, message=f"{verdict}: {reason}", type=verdict)
    element.text = _clean(reason)
    return kind


def _properties(suite: ET.Element, scorecard: Mapping[str, Any]) -> None:
    run: dict[str, Any] = scorecard.get("run") or {}
    target: dict[str, Any] = scorecard.get("target") or {}
    profile: dict[str, Any] = scorecard.get("profile") or {}
    values = {
        "verdict": scorecard.get("verdict"),
        "verdict_reason": scorecard.get("verdict_reason"),
        "score": scorecard.get("score"),
        "profile_title": profile.get("title"),
        "profile_digest": profile.get("digest"),
        "run_id": run.get("id"),
        "seed": run.get("seed"),
        "tier": run.get("tier"),
        "harness_version": run.get("harness_version"),
        "interrupted": run.get("interrupted"),
        "target": target.get("name"),
        "supplier": target.get("supplier"),
        "product": target.get("product"),
        "product_version": target.get("product_version"),
        "base_url": target.get("base_url"),
    }
    properties = ET.SubElement(suite, "properties")
    for name, value in values.items():
        if value is not None:
            text = str(value).lower() if isinstance(value, bool) else value
            _set(ET.SubElement(properties, "property"), name=name, value=text)


def render_junit(scorecard: Mapping[str, Any]) -> str:
    """The scorecard as a JUnit XML document (a `str`; write it UTF-8 encoded)."""
    profile: dict[str, Any] = scorecard.get("profile") or {}
    run: dict[str, Any] = scorecard.get("run") or {}
    profile_id = str(profile.get("id") or "profile")
    suite_name = f"{profile_id}@{profile.get('version') or '?'}"

    root = ET.Element("testsuites")
    suite = ET.SubElement(root, "testsuite")
    _properties(suite, scorecard)
    tally = {"pass": 0, "failure": 0, "error": 0, "skipped": 0}
    for row in scorecard.get("requirements") or []:
        tally[_testcase(suite, profile_id, row)] += 1
    tally[_verdict_testcase(suite, profile_id, scorecard)] += 1
    tests = sum(tally.values())
    time = _duration(run)
    _set(root, name=f"conformance {suite_name}", tests=tests, failures=tally["failure"], errors=tally["error"],
         time=time)
    _set(suite, name=suite_name, tests=tests, failures=tally["failure"], errors=tally["error"],
         skipped=tally["skipped"], timestamp=run.get("started_at"), time=time)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
