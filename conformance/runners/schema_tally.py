"""What one engine pass observed, gathered from its events: every exchange once (evidence, the request
fingerprint), and each member's judgement on the cases it asked for (checks evaluated, findings, coverage).

One cause is one finding: the failures a request shows are taken member by member, in the pass's order; the first
member a request breaks holds the finding, and the others it breaks are named on it (`also_breaks`) and fail with
it. A finding names the request as it was sent (method, path with its parameters filled) and its curl is that
request, as recorded when it was sent.
"""

from __future__ import annotations

import hashlib
import json
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import IO, Any
from urllib.parse import urlsplit

from conformance.engine.evidence import BODY_EVIDENCE_LIMIT, body_text, jsonl
from conformance.model import Finding
from conformance.runners import RunContext
from conformance.runners.schema_coverage import documented_interface
from conformance.runners.schema_plan import Member

__all__ = ["JUDGED_ANSWERS", "Judged", "PassTally", "curl_of", "judges_answer", "sent_of"]

MAX_LEARNED_VALUES = 100_000
_TOKEN = re.compile(r"[A-Za-z0-9_\-:.+]{8,}")
_Holder = tuple[str, tuple[str, str, str]]  # (requirement id, key of its finding)
# Headers requests adds by itself: a reproduction without them sends the same request.
_TRANSPORT_HEADERS = frozenset({"content-length", "connection", "accept-encoding", "user-agent", "accept"})


@dataclass
class Judged:
    """What one member was judged on."""

    member: Member
    findings: dict[tuple[str, str, str], Finding] = field(default_factory=dict)
    also: dict[str, int] = field(default_factory=dict)  # requirement holding the finding -> failures it shares
    evaluated: dict[str, int] = field(default_factory=dict)
    operations_exercised: set[str] = field(default_factory=set)
    statuses: dict[str, set[int]] = field(default_factory=dict)
    links_followed: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    cases: int = 0
    new_findings_by_seed: dict[int, int] = field(default_factory=dict)
    # Per check, the answers of the class it judges (`judges_answer`): a check evaluated only on answers it says
    # nothing about observed nothing. And the operations a valid request showed implemented.
    answers_judged: dict[str, int] = field(default_factory=dict)
    shown_implemented: set[str] = field(default_factory=set)


# What each check needs to have seen for its pass to mean something; a check not named judges every answer.
JUDGED_ANSWERS = {
    "positive_data_acceptance": "a valid request answered below 500 (a 5xx is the server-error requirement's)",
    "negative_data_rejection": "an invalid request answered",
    "operation_implemented": "a valid request answered below 500 with a status the interface documents for it",
    "response_schema_conformance": "an answer with a status the interface documents",
}


def judges_answer(check: str, *, mode: str | None, status: int, documented: set[int]) -> bool:
    """Whether an answer is one `check` says something about (JUDGED_ANSWERS): a server answering 500 to every
    request never shows a valid request accepted; one answering 302 to everything never shows an operation
    implemented, though neither check fails on those answers."""
    if check == "positive_data_acceptance":
        return mode == "positive" and status < 500
    if check == "negative_data_rejection":
        return mode == "negative"
    if check == "operation_implemented":  # a documented 500 says the route exists, not that it works
        return mode == "positive" and status < 500 and status in documented
    if check == "response_schema_conformance":
        return status in documented
    return True


@dataclass
class PassTally:
    """What one engine run observed, gathered from its events: the exchanges (evidence, fingerprint) once, and
    each member's judgement."""

    members: list[Member]
    ctx: RunContext
    evidence: IO[str]
    judged: dict[str, Judged] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    requests: int = 0
    cases: int = 0
    sequence: Any = field(default_factory=hashlib.sha256)
    learned: set[str] = field(default_factory=set)
    seed: int = 0
    timed_out: float | None = None  # the time limit (s) that stopped the engine, if one did
    deadline: str | None = None  # the run's deadline, when the time limit is it (session/budget.py)
    stop_reason: str | None = None
    answers: tuple[int, float] = (0, 0.0)  # every answer the engine read, and their summed time (s)

    def __post_init__(self) -> None:
        self.judged = {m.id: Judged(m) for m in self.members}

    def scenario(self, phase: str, recorder: Any) -> None:
        self.cases += len(recorder.cases)
        modes = {case_id: _mode_of(node) for case_id, node in recorder.cases.items()}
        for case_id in recorder.cases:
            for judged in self._judging(phase, modes.get(case_id)):
                judged.cases += 1
        for case_id, node in recorder.cases.items():
            transition = getattr(node, "transition", None)
            if transition is not None and case_id in recorder.interactions:
                for judged in self._judging(phase, modes.get(case_id)):
                    judged.links_followed[transition.id] = judged.links_followed.get(transition.id, 0) + 1
        for case_id, interaction in recorder.interactions.items():
            node = recorder.cases.get(case_id)
            operation = getattr(getattr(node, "value", None), "operation", None)
            label = operation.label if operation is not None else recorder.label  # stateful: per step
            self._exchange(phase, label, case_id, interaction, modes.get(case_id))
        documented = documented_interface(self.ctx.profile.openapi_path)[0]
        for case_id, nodes in recorder.checks.items():
            holder: _Holder | None = None  # the finding this case's failures are
            interaction = recorder.interactions.get(case_id)
            answer = interaction.response if interaction is not None else None
            case_node = recorder.cases.get(case_id)
            operation = getattr(getattr(case_node, "value", None), "operation", None)
            label = operation.label if operation is not None else recorder.label
            statuses = documented.get(label, set())
            for judged in self._judging(phase, modes.get(case_id)):  # in the pass's order: the first holds it
                for node in nodes:
                    if node.name not in judged.member.checks:
                        continue
                    judged.evaluated[node.name] = judged.evaluated.get(node.name, 0) + 1
                    if answer is not None and judges_answer(node.name, mode=modes.get(case_id),
                                                            status=answer.status_code, documented=statuses):
                        judged.answers_judged[node.name] = judged.answers_judged.get(node.name, 0) + 1
                        if node.name == "operation_implemented":
                            judged.shown_implemented.add(label)
                    if node.failure_info is not None:
                        holder = self._finding(judged, node.name, case_id, node.failure_info, recorder, holder)

    def _judging(self, phase: str, mode: str | None) -> Iterator[Judged]:
        for judged in self.judged.values():
            if judged.member.judges(phase, mode):
                yield judged

    def _exchange(self, phase: str, label: str, case_id: str, interaction: Any, mode: str | None) -> None:
        redact = self.ctx.redactor
        request, response = interaction.request, interaction.response
        body = request.body or b""
        self.requests += 1
        self._fingerprint(request.method, request.uri, body)
        record: dict[str, Any] = {
            "seq": self.requests, "phase": phase, "mode": mode, "operation": label, "case_id": case_id,
            "request": {"method": request.method, "url": redact.text(request.uri),
                        "headers": redact.headers(request.headers), "body": body_text(body, redact.text)},
            "response": None,
        }
        # The coverage phase also probes undocumented methods on a path (expecting 405); those answers
        # say nothing about the documented operation's statuses.
        probe = not label.upper().startswith(f"{request.method.upper()} ")
        for judged in self._judging(phase, mode):
            judged.requests += 1
            if response is not None and not probe:
                judged.operations_exercised.add(label)
                judged.statuses.setdefault(label, set()).add(response.status_code)
        if response is not None:
            record["response"] = {
                "status": response.status_code, "elapsed_ms": round(response.elapsed * 1000, 2),
                "headers": redact.headers(response.headers),
                "body": body_text(response.content or b"", redact.text),
            }
        self.evidence.write(jsonl(record))
        if response is not None:
            self._learn(response)

    def _fingerprint(self, method: str, uri: str, body: bytes) -> None:
        """Add a request to `request_sequence_sha256`. The engine re-uses values the target returned (ids,
        timestamps) in later requests; those differ between runs of any real system, so they are hashed
        as a placeholder, and the fingerprint is the same for the same seed against the same behaviour."""
        relative = uri.removeprefix(self.ctx.target.base_url)
        text = f"{method} {relative}\n{body.decode('utf-8', errors='replace')}\n"
        if self.learned:
            text = _TOKEN.sub(lambda m: "<from-response>" if m.group(0) in self.learned else m.group(0), text)
        self.sequence.update(text.encode())

    def _learn(self, response: Any) -> None:
        """Remember the target-issued values a later request may carry (see `_fingerprint`)."""
        if len(self.learned) > MAX_LEARNED_VALUES:
            return
        for name in ("location", "etag"):
            value = response.headers.get(name) if hasattr(response.headers, "get") else None
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, str):
                    self.learned.update(_TOKEN.findall(item))
        content = response.content or b""
        if len(content) > 4 * BODY_EVIDENCE_LIMIT:
            return
        try:
            data = json.loads(content)
        except ValueError:
            return
        stack = [data]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, str) and len(node) >= 8:
                self.learned.add(node)

    def _finding(self, judged: Judged, check: str, case_id: str, info: Any, recorder: Any,
                 holder: _Holder | None) -> _Holder:
        """Record a failure for `judged`; return who holds this case's finding. A failure of a case whose finding
        another member already holds is that finding's ("also breaks"), not a second finding."""
        failure = info.failure
        interaction = recorder.interactions.get(case_id)
        sent = sent_of(interaction, self.ctx.target.base_url)
        node = recorder.cases.get(case_id)
        documented = getattr(getattr(node, "value", None), "operation", None)
        template = documented.path if documented is not None else (failure.operation or recorder.label)
        key = (check, f"{sent[0]} {template}" if sent else str(failure.operation or recorder.label), failure.title)
        if key in judged.findings:
            old = judged.findings[key]
            judged.findings[key] = replace(old, occurrences=old.occurrences + 1)
            return holder or (judged.member.id, key)
        if holder is not None and holder[0] != judged.member.id:
            findings = self.judged[holder[0]].findings
            held = findings[holder[1]]
            if judged.member.id not in held.also_breaks:
                findings[holder[1]] = replace(held, also_breaks=(*held.also_breaks, judged.member.id))
            judged.also[holder[0]] = judged.also.get(holder[0], 0) + 1
            return holder
        status = interaction.response.status_code if interaction and interaction.response else None
        judged.findings[key] = Finding(
            requirement_id=judged.member.id, check=check, code=getattr(failure, "code", None),
            title=failure.title, message=self.ctx.redactor.text(failure.message or failure.title),
            operation=f"{sent[0]} {sent[1]}" if sent else (failure.operation or recorder.label),
            curl=self.ctx.redactor.text(_reproduction(info, recorder)),
            status_code=status, seed=self.seed,
        )
        return judged.member.id, key

    def error(self, text: str) -> None:
        text = self.ctx.redactor.text(text)
        if text not in self.errors:
            self.errors.append(text)


def _mode_of(node: Any) -> str | None:
    meta = getattr(getattr(node, "value", None), "meta", None)
    mode = getattr(getattr(meta, "generation", None), "mode", None)
    return getattr(mode, "value", None)


def sent_of(interaction: Any, base_url: str) -> tuple[str, str] | None:
    """The method and path a request was sent with (path parameters filled, no query), relative to the target."""
    if interaction is None or interaction.request is None:
        return None
    request = interaction.request
    path = urlsplit(request.uri).path
    base = urlsplit(base_url).path.rstrip("/")
    if base and path.startswith(base):
        path = path[len(base):] or "/"
    return request.method.upper(), path


def curl_of(request: Any) -> str | None:
    """The request exactly as it was sent, as a curl command (None: a body curl cannot carry as text)."""
    parts = ["curl", "-X", request.method.upper()]
    for name, values in request.headers.items():
        if name.lower() in _TRANSPORT_HEADERS:
            continue
        for value in values if isinstance(values, list) else [values]:
            parts += ["-H", f"{name}: {value}"]
    if request.body:
        try:
            parts += ["--data-binary", request.body.decode("utf-8")]
        except UnicodeDecodeError:
            return None
    parts.append(request.uri)
    return shlex.join(parts)


def _reproduction(info: Any, recorder: Any) -> str:
    """The curl line(s) of the requests the failure needs, each the request as recorded when it was sent; the
    engine's own code sample only where a request was not recorded."""
    steps = list(info.steps) if info.steps else []
    lines = []
    for step in steps:
        interaction = recorder.interactions.get(step.case_id)
        sent = curl_of(interaction.request) if interaction is not None and interaction.request is not None else None
        lines.append(sent or step.curl)
    if not lines:
        lines.append(info.code_sample)
    return "\n".join(lines)
