"""Tenders: a procurement evaluation plan read from YAML (schema: conformance/schemas/tender.schema.json).

    tender: 1
    id: county-records-2026
    title: Records system for a county force
    profiles: [{profile: pole-records@1.0.0, weight: 1}]    # or {profile: pole-records, versions: ">=1.1.0 <2.0.0"}
    category_weights: {safeguarding: 3}
    thresholds: {all_must: true, min_score: 80}
    run: {tier: quick, seed: 20261124}
    waivers: [{requirement: POLE-REC-006, reason: "..."}]
    candidates:
      acme: {target: targets.yaml#acme, claims: {profiles: [pole-records@1.0.0]}}
      local: {command: "conformance reference serve --port 0", supplier: Local Ltd}

Everything is checked when the file is loaded, before any candidate is started: the profiles exist at the
pinned version (or the latest active one within the range; never a retired one), every waiver names a requirement
of them, every weighted category exists, every target parses.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from conformance.errors import ProfileError, TargetError, TenderError, UsageError
from conformance.inputs.profiles import load_profile, resolve_in_range
from conformance.inputs.targets import parse_target
from conformance.inputs.yamlfile import LocatedYaml, dotted, explain_schema_error, load_located_yaml
from conformance.model import Candidate, Profile, ProfileStatus
from conformance.schemas import load_schema

__all__ = ["PORT", "WORKDIR", "Candidate", "Tender", "TenderProfile", "fill_command", "fill_systems", "load_tender",
           "tender_schema"]


def tender_schema() -> dict[str, Any]:
    return load_schema("tender")


@dataclass(frozen=True)
class TenderProfile:
    profile: Profile
    weight: float = 1.0
    waivers: dict[str, str] = field(default_factory=dict)  # requirement id -> written reason


@dataclass(frozen=True)
class Tender:
    id: str
    title: str
    path: str
    digest: str
    profiles: tuple[TenderProfile, ...]
    candidates: tuple[Candidate, ...]
    buyer: str | None = None
    category_weights: dict[str, float] = field(default_factory=dict)
    all_must: bool = True
    min_score: float | None = None
    tier: str = "quick"
    seed: int | None = None
    budget_s: int | None = None
    load: dict[str, Any] = field(default_factory=dict)
    # other systems the profiles talk to: name -> {"command": ...} or {"base_url": ...}
    systems: dict[str, dict[str, str]] = field(default_factory=dict)

    def systems_for(self, profile: Profile, urls: dict[str, str]) -> dict[str, str]:
        """The tender's systems (by URL) that `profile` declares."""
        return {name: url for name, url in urls.items() if name in {s.name for s in profile.systems}}

    def summary(self) -> dict[str, Any]:
        """What a comparison records about the tender."""
        return {
            "id": self.id, "title": self.title, "buyer": self.buyer, "path": self.path, "digest": self.digest,
            "thresholds": {"all_must": self.all_must, "min_score": self.min_score},
            "category_weights": dict(self.category_weights),
            "waivers": [{"profile": tp.profile.ref, "requirement": rid, "reason": reason}
                        for tp in self.profiles for rid, reason in tp.waivers.items()],
            "run": {"tier": self.tier, "seed": self.seed, "budget_s": self.budget_s},
            "load": dict(self.load),
        }


def load_tender(path: str | Path) -> Tender:
    """Read and check a tender file; raise TenderError naming file, line and key on the first problem."""
    file = Path(path)
    doc = load_located_yaml(file, error=TenderError)
    if not isinstance(doc.data, dict):
        raise TenderError("a tender is a mapping (tender: 1, id, title, profiles, candidates)", file=str(file),
                          line=1, fix="see docs/reference/tender-format.md")
    validator = jsonschema.Draft202012Validator(tender_schema())
    errors = sorted(validator.iter_errors(doc.data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        for problem in explain_schema_error(error, doc, schema_name="schemas/tender.schema.json"):
            if error.validator == "oneOf" and list(error.absolute_path)[:1] == ["candidates"]:
                problem = ProfileError("give exactly one of `target` (a URL or targets.yaml#name) or `command`",
                                       file=problem.file, line=problem.line, key=problem.key,
                                       fix="e.g. target: http://127.0.0.1:8000, or command: \"./start.sh\"")
            raise TenderError(problem.problem, file=problem.file, line=problem.line, key=problem.key,
                              fix=problem.fix)
    data = doc.data
    profiles = _profiles(doc)
    _check_category_weights(doc, profiles)
    candidates = tuple(_candidate(doc, name, raw, file.parent) for name, raw in data["candidates"].items())
    _check_claims(doc, profiles, candidates)
    thresholds = data.get("thresholds") or {}
    run = data.get("run") or {}
    return Tender(
        id=data["id"], title=data["title"], path=str(file), buyer=data.get("buyer"),
        digest="sha256:" + hashlib.sha256(file.read_bytes()).hexdigest(),
        profiles=profiles, candidates=candidates,
        category_weights={str(k): float(v) for k, v in (data.get("category_weights") or {}).items()},
        all_must=bool(thresholds.get("all_must", True)),
        min_score=float(thresholds["min_score"]) if thresholds.get("min_score") is not None else None,
        tier=run.get("tier", "quick"), seed=run.get("seed"), budget_s=run.get("budget"),
        load=dict(data.get("load") or {}),
        systems=_systems(doc, profiles, candidates),
    )


_SYSTEM_REF = re.compile(r"\{systems\.([a-z][a-z0-9_-]*)\}")


def fill_systems(command: str, urls: dict[str, str]) -> str:
    """A candidate's command with each {systems.NAME} replaced by that system's URL."""
    return _SYSTEM_REF.sub(lambda m: urls[m.group(1)], command)


PORT, WORKDIR = "{port}", "{workdir}"  # in a candidate's command: its port (the same for every start), its folder


def fill_command(command: str, urls: dict[str, str], *, port: int | None = None, workdir: Path | None = None) -> str:
    """A candidate's command with {systems.NAME}, `{port}` and `{workdir}` filled in (the folder quoted for the
    shell-like split the launcher makes); a placeholder given no value is left as written."""
    command = fill_systems(command, urls)
    if workdir is not None:
        command = command.replace(WORKDIR, shlex.quote(str(workdir)))
    if port is not None:
        command = command.replace(PORT, str(port))
    return command


def _systems(doc: LocatedYaml, profiles: tuple[TenderProfile, ...],
             candidates: tuple[Candidate, ...]) -> dict[str, dict[str, str]]:
    raw = doc.data.get("systems") or {}
    declared = {s.name for tp in profiles for s in tp.profile.systems}
    for name in raw:
        if name not in declared:
            raise TenderError(f"no required profile talks to a system named '{name}'", file=doc.file,
                              line=doc.line_of(["systems", name]), key=f"systems.{name}",
                              fix=f"the profiles declare: {', '.join(sorted(declared)) or 'none'}")
    for cand in candidates:
        for name in _SYSTEM_REF.findall(cand.command or ""):
            if name not in raw:
                where: list[str | int] = ["candidates", cand.name, "command"]
                raise TenderError(f"the command names {{systems.{name}}}, which the tender does not define",
                                  file=doc.file, line=doc.line_of(where), key=dotted(where),
                                  fix=f"add `systems: {{{name}: {{command: ...}}}}` to the tender")
    return {str(name): {str(k): str(v) for k, v in spec.items()} for name, spec in raw.items()}


def _profiles(doc: LocatedYaml) -> tuple[TenderProfile, ...]:
    loaded: list[tuple[Profile, float]] = []
    for index, entry in enumerate(doc.data["profiles"]):
        where: list[str | int] = ["profiles", index, "profile"]
        try:
            profile = load_profile(_pinned(doc, index, entry))
        except TenderError:
            raise
        except UsageError as exc:
            raise TenderError(f"profile {entry['profile']} cannot be used: {exc}", file=doc.file,
                              line=doc.line_of(where), key=dotted(where),
                              fix="`conformance profiles list` shows the profiles and versions available") from None
        if profile.governance.status_on(dt.date.today()) is ProfileStatus.RETIRED:
            successor = profile.governance.superseded_by
            raise TenderError(f"{profile.ref}: {profile.governance.validity(dt.date.today()).text}", file=doc.file,
                              line=doc.line_of(where), key=dotted(where),
                              fix=f"evaluate {profile.id}@{successor}" if successor else "evaluate a valid version")
        if any(p.id == profile.id for p, _ in loaded):
            raise TenderError(f"profile {profile.id} is listed twice", file=doc.file, line=doc.line_of(where),
                              key=dotted(where), fix="a tender pins one version of each profile")
        loaded.append((profile, float(entry.get("weight", 1.0))))
    waivers: dict[str, dict[str, str]] = {p.id: {} for p, _ in loaded}
    for index, raw in enumerate(doc.data.get("waivers") or []):
        where = ["waivers", index]
        owner = _waiver_profile(doc, where, raw, [p for p, _ in loaded])
        if raw["requirement"] in waivers[owner.id]:
            raise TenderError(f"{raw['requirement']} is waived twice", file=doc.file, line=doc.line_of(where),
                              key=dotted(where), fix="keep one waiver per requirement")
        reason = " ".join(str(raw["reason"]).split())
        if len(reason) < 10:
            raise TenderError("a waiver needs a written reason of at least 10 characters", file=doc.file,
                              line=doc.line_of([*where, "reason"]), key=dotted([*where, "reason"]),
                              fix="say why the buyer accepts this requirement not being met")
        if owner.requirement(raw["requirement"]).planned:
            raise TenderError(f"{raw['requirement']} is planned (never run or scored): nothing to waive",
                              file=doc.file, line=doc.line_of([*where, "requirement"]),
                              key=dotted([*where, "requirement"]), fix="remove this waiver")
        waivers[owner.id][raw["requirement"]] = reason
    return tuple(TenderProfile(p, w, waivers[p.id]) for p, w in loaded)


def _pinned(doc: LocatedYaml, index: int, entry: dict[str, Any]) -> str | Path:
    """The version a tender entry names: `id@version`, or the latest active version of `id` within `versions`."""
    ref, versions = str(entry["profile"]), entry.get("versions")
    where: list[str | int] = ["profiles", index]
    if "@" in ref and versions:
        raise TenderError("give the version in `profile: id@version` or a range in `versions`, not both",
                          file=doc.file, line=doc.line_of([*where, "versions"]), key=dotted([*where, "versions"]),
                          fix=f"remove `versions`, or write `profile: {ref.partition('@')[0]}`")
    if "@" not in ref and not versions:
        raise TenderError(f"'{ref}' pins no version", file=doc.file, line=doc.line_of([*where, "profile"]),
                          key=dotted([*where, "profile"]),
                          fix=f"write `profile: {ref}@<version>`, or add `versions: '>=<minimum>'` (or a range "
                              "'>=1.1.0 <2.0.0')")
    if not versions:
        return ref
    try:
        return resolve_in_range(ref, str(versions))
    except UsageError as exc:
        raise TenderError(str(exc), file=doc.file, line=doc.line_of([*where, "versions"]),
                          key=dotted([*where, "versions"]),
                          fix="`conformance profiles list` shows the versions and their status") from None


def _waiver_profile(doc: LocatedYaml, where: list[str | int], raw: dict[str, Any],
                    profiles: list[Profile]) -> Profile:
    rid = raw["requirement"]
    if raw.get("profile"):
        named = [p for p in profiles if raw["profile"] in (p.id, p.ref)]
        if not named:
            raise TenderError(f"profile '{raw['profile']}' is not one of this tender's profiles", file=doc.file,
                              line=doc.line_of([*where, "profile"]), key=dotted([*where, "profile"]),
                              fix=f"use one of: {', '.join(p.ref for p in profiles)}")
        candidates = named
    else:
        candidates = profiles
    owners = [p for p in candidates if any(r.id == rid for r in p.requirements)]
    if not owners:
        known = [r.id for p in candidates for r in p.requirements]
        close = difflib.get_close_matches(rid, known, n=1)
        raise TenderError(f"no requirement '{rid}' in {', '.join(p.ref for p in candidates)}", file=doc.file,
                          line=doc.line_of([*where, "requirement"]), key=dotted([*where, "requirement"]),
                          fix=f"did you mean '{close[0]}'?" if close else "`conformance profiles show` lists them")
    if len(owners) > 1:
        raise TenderError(f"'{rid}' is in several profiles", file=doc.file, line=doc.line_of(where),
                          key=dotted(where), fix="add `profile:` to say which")
    return owners[0]


def _check_category_weights(doc: LocatedYaml, profiles: tuple[TenderProfile, ...]) -> None:
    known = sorted({r.category for tp in profiles for r in tp.profile.requirements})
    for category in doc.data.get("category_weights") or {}:
        if category not in known:
            close = difflib.get_close_matches(category, known, n=1)
            raise TenderError(f"no requirement has category '{category}'", file=doc.file,
                              line=doc.line_of(["category_weights", category]),
                              key=dotted(["category_weights", category]),
                              fix=f"did you mean '{close[0]}'?" if close else f"categories: {', '.join(known)}")


def _check_claims(doc: LocatedYaml, profiles: tuple[TenderProfile, ...], candidates: tuple[Candidate, ...]) -> None:
    known = {r.id for tp in profiles for r in tp.profile.requirements}
    refs = {ref for tp in profiles for ref in (tp.profile.id, tp.profile.ref)}
    for cand in candidates:
        where: list[str | int] = ["candidates", cand.name, "claims"]
        for rid in (cand.claims or {}).get("requirements", []):
            if rid not in known:
                close = difflib.get_close_matches(rid, sorted(known), n=1)
                raise TenderError(f"{cand.name} claims '{rid}', which no profile of this tender has", file=doc.file,
                                  line=doc.line_of(where), key=dotted(where),
                                  fix=f"did you mean '{close[0]}'?" if close else "claim requirement ids of the "
                                      "tender's profiles")
        for ref in (cand.claims or {}).get("profiles", []):
            if ref not in refs and "@" not in ref:
                raise TenderError(f"{cand.name} claims profile '{ref}', which this tender does not require",
                                  file=doc.file, line=doc.line_of(where), key=dotted(where),
                                  fix="claim id@version of a profile listed under `profiles`")


def _candidate(doc: LocatedYaml, name: str, raw: dict[str, Any], base: Path) -> Candidate:
    where: list[str | int] = ["candidates", name]
    target = raw.get("target")
    supplier, product, claims = raw.get("supplier"), raw.get("product"), raw.get("claims")
    if target is not None:
        target = str(target)
        if "://" not in target:  # a targets file, relative to the tender
            file, _, tname = target.partition("#")
            target = f"{(base / file).resolve()}#{tname}" if tname else str((base / file).resolve())
        try:
            parsed = parse_target(target)
        except TargetError as exc:
            inner = f" (in {exc.file}{f':{exc.line}' if exc.line else ''})" if exc.file else ""
            raise TenderError(f"target: {exc.problem}{inner}", file=doc.file,
                              line=doc.line_of([*where, "target"]), key=dotted([*where, "target"]),
                              fix=exc.fix or "give a base URL or targets.yaml#name") from None
        supplier = supplier or (parsed.supplier if "://" not in str(raw["target"]) else None)
        product = product or parsed.product
        claims = claims or parsed.claims
    else:
        try:
            argv = shlex.split(str(raw["command"]))  # started by engine.processes.candidate_command
        except ValueError as exc:
            raise TenderError(f"command does not parse: {exc}", file=doc.file,
                              line=doc.line_of([*where, "command"]), key=dotted([*where, "command"]),
                              fix="quote arguments as a shell would") from None
        if not argv:
            raise TenderError("command is empty", file=doc.file, line=doc.line_of([*where, "command"]),
                              key=dotted([*where, "command"]), fix="give the command that starts the candidate")
    return Candidate(name=name, supplier=str(supplier or name), product=product,
                     product_version=raw.get("product_version"), target=target, command=raw.get("command"),
                     claims={k: [str(v) for v in vs] for k, vs in claims.items()} if claims else None)
