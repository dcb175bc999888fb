"""Find, load and validate profiles: `profiles/<id>/<semver>/{profile.yaml, openapi.yaml, CHANGELOG.md}`, with
the profile's scenarios, datasets and Python checks (`checks/*.py`, loaded by `conformance.inputs.checks`).

Every problem is reported as `file:line: key: what is wrong; what to do` (a `ProfileError`).
`lint_profile` collects all problems; `load_profile` raises the first.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

from conformance.errors import ProfileError, UsageError
from conformance.inputs.checks import CHECKS_FOLDER, ProfileChecks, load_checks
from conformance.inputs.lifecycle import GOVERNANCE_FILE, quick_status, read_lifecycle
from conformance.inputs.references import bundle_problem, bundled_path, cache_dir, cache_path, external_refs
from conformance.inputs.versions import in_range, parse_range, semver_key
from conformance.inputs.yamlfile import LocatedYaml, dotted, explain_schema_error, load_located_yaml
from conformance.model import (
    CheckKind,
    CheckSpec,
    Level,
    Parameter,
    Profile,
    ProfileStatus,
    Requirement,
    RequirementStatus,
    SystemSpec,
)
from conformance.schemas import load_schema

__all__ = [
    "ProfileEntry",
    "find_profiles",
    "interface_path",
    "interface_source",
    "lint_profile",
    "load_profile",
    "param_text",
    "profile_checks",
    "profile_digest",
    "profile_roots",
    "profile_schema",
    "resolve_in_range",
    "resolve_profile",
]

PROFILE_FILE = "profile.yaml"
CHANGELOG_FILE = "CHANGELOG.md"


def profile_schema() -> dict[str, Any]:
    return load_schema("profile")


def profile_roots() -> list[Path]:
    """Where profiles are looked for: $CONFORMANCE_PROFILES_PATH, ./profiles, then the shipped ones."""
    roots: list[Path] = []
    env = os.environ.get("CONFORMANCE_PROFILES_PATH")
    if env:
        roots.extend(Path(p) for p in env.split(os.pathsep) if p)
    roots.append(Path.cwd() / "profiles")
    roots.append(Path(__file__).resolve().parents[2] / "profiles")
    seen: set[Path] = set()
    unique = []
    for root in roots:
        resolved = root.resolve()
        if resolved not in seen and resolved.is_dir():
            seen.add(resolved)
            unique.append(resolved)
    return unique


@dataclass(frozen=True)
class ProfileEntry:
    id: str
    version: str
    path: Path


def find_profiles(roots: Iterable[Path] | None = None) -> list[ProfileEntry]:
    """Every `<root>/<id>/<version>/profile.yaml`, first root winning on duplicates, sorted."""
    found: dict[tuple[str, str], ProfileEntry] = {}
    for root in roots if roots is not None else profile_roots():
        for file in sorted(root.glob(f"*/*/{PROFILE_FILE}")):
            version_dir = file.parent
            key = (version_dir.parent.name, version_dir.name)
            found.setdefault(key, ProfileEntry(key[0], key[1], version_dir))
    return sorted(found.values(), key=lambda e: (e.id, semver_key(e.version)))


def resolve_profile(ref: str) -> Path:
    """`ID`, `ID@VERSION` or a path (folder or profile.yaml) -> the profile folder. A bare `ID` is its latest
    active version (the latest deprecated one if none is active): a draft or a retired version only by
    `ID@VERSION`."""
    candidate = Path(ref)
    if candidate.is_file() and candidate.name == PROFILE_FILE:
        return candidate.parent
    if candidate.is_dir():
        if (candidate / PROFILE_FILE).is_file():
            return candidate
        raise ProfileError(f"no {PROFILE_FILE} in this folder", file=str(candidate),
                           fix=f"point at profiles/<id>/<version>/ or its {PROFILE_FILE}")
    profile_id, _, version = ref.partition("@")
    entries = find_profiles()
    matching = [e for e in entries if e.id == profile_id]
    if not matching:
        known = sorted({e.id for e in entries})
        close = difflib.get_close_matches(profile_id, known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known profiles: {', '.join(known) or 'none'}"
        raise UsageError(f"unknown profile '{profile_id}'; {hint} (`conformance profiles list` shows them)")
    if version:
        for entry in matching:
            if entry.version == version:
                return entry.path
        versions = ", ".join(e.version for e in matching)
        raise UsageError(f"profile '{profile_id}' has no version {version}; available: {versions}")
    return _default_version(profile_id, matching).path


def _default_version(profile_id: str, matching: list[ProfileEntry]) -> ProfileEntry:
    statuses = {e.version: quick_status(e.path) for e in matching}
    for wanted in (ProfileStatus.ACTIVE, ProfileStatus.DEPRECATED):
        chosen = [e for e in matching if statuses[e.version] is wanted]
        if chosen:
            return chosen[-1]
    listed = ", ".join(f"{e.version} ({statuses[e.version] or 'unreadable'})" for e in matching)
    raise UsageError(f"profile '{profile_id}' has no active version ({listed}); name one: "
                     f"{profile_id}@{matching[-1].version}")


def resolve_in_range(profile_id: str, versions: str) -> Path:
    """The latest active (else deprecated) version of `profile_id` within `versions` (`>=1.1.0 <2.0.0`)."""
    bounds = parse_range(versions)
    matching = [e for e in find_profiles() if e.id == profile_id]
    if not matching:
        resolve_profile(profile_id)  # raises the unknown-profile error with its hint
    within = [e for e in matching if in_range(e.version, bounds)]
    if not within:
        available = ", ".join(e.version for e in matching)
        raise UsageError(f"profile '{profile_id}' has no version in '{versions}'; available: {available}")
    return _default_version(profile_id, within).path


def load_profile(ref: str | Path, *, landed_kinds: frozenset[CheckKind] = frozenset(CheckKind),
                 import_checks: bool = True) -> Profile:
    """Load and validate a profile; raise the first `ProfileError` found. `import_checks=False` reads the
    requirements without importing the profile's Python checks (an inspector re-scoring a bundle runs none of
    its code); such a profile can be scored, not run, and its checks' declarations are not validated."""
    folder = resolve_profile(str(ref))
    problems, profile = _check(folder, landed_kinds, import_checks=import_checks)
    if problems:
        raise problems[0]
    assert profile is not None
    return profile


def lint_profile(ref: str | Path, *, landed_kinds: frozenset[CheckKind] = frozenset(CheckKind)) -> list[ProfileError]:
    """Every problem in a profile (empty when it is valid)."""
    try:
        folder = resolve_profile(str(ref))
    except ProfileError as exc:
        return [exc]
    problems, _ = _check(folder, landed_kinds)
    return problems


# The checks each loaded profile was loaded with, by (folder, digest): a run uses the very code its digest names,
# even if a check file is edited while it runs.
_loaded_checks: dict[tuple[str, str], ProfileChecks] = {}


def profile_checks(profile: Profile) -> ProfileChecks:
    """The Python checks of a loaded profile: the modules loaded with it (whose source its digest covers)."""
    found = _loaded_checks.get((profile.path, profile.digest))
    return found if found is not None else load_checks(Path(profile.path), profile.id, profile.version)


def _check(folder: Path, landed: frozenset[CheckKind], *,
           import_checks: bool = True) -> tuple[list[ProfileError], Profile | None]:
    """`landed`: the check kinds with a runner. Every kind has one (tests/unit/test_profiles.py holds the runners to
    that); a test may pass fewer, to see a requirement of an unlanded kind refused unless it is planned."""
    profile_file = folder / PROFILE_FILE
    try:
        doc = load_located_yaml(profile_file, error=ProfileError)
    except ProfileError as exc:
        return [exc], None
    if not isinstance(doc.data, dict):
        return [ProfileError("must be a mapping of keys (id, version, title, ...)", file=doc.file, line=1,
                             fix="see docs/reference/profile-format.md")], None
    problems = sorted(_schema_problems(doc), key=lambda p: p.line or 0)
    if problems:  # one pass: the interface's and every readable scenario's problems are reported as well
        named = doc.data.get("openapi")
        problems.extend(_openapi_problems(folder / (named if isinstance(named, str) else "openapi.yaml"), doc))
        problems.extend(_scenario_problems(doc, folder))
        return problems, None
    status, lifecycle, lifecycle_problems = read_lifecycle(folder, doc)
    problems.extend(lifecycle_problems)
    data = doc.data
    checks = (load_checks(folder, str(data["id"]), str(data["version"])) if import_checks
              else ProfileChecks(folder, complete=False))
    problems.extend(checks.problems)
    problems.extend(_semantic_problems(doc, folder, landed, checks))
    openapi_name = data.get("openapi", "openapi.yaml")
    openapi_path = folder / openapi_name
    problems.extend(_openapi_problems(openapi_path, doc))
    if not (folder / CHANGELOG_FILE).is_file():
        problems.append(ProfileError("missing", file=str(folder / CHANGELOG_FILE),
                                     fix="add a CHANGELOG.md saying what changed in this version"))
    if problems or status is None:
        return problems, None
    requirements = tuple(_requirement(r) for r in data["requirements"])
    parameters = tuple(Parameter(str(name), " ".join(str(spec["description"]).split()), bool(spec.get("required")),
                                 None if spec.get("default") is None else param_text(spec["default"]))
                       for name, spec in (data.get("parameters") or {}).items())
    profile = Profile(
        id=data["id"], version=data["version"], title=data["title"], status=status, lifecycle=lifecycle,
        summary=data["summary"].strip(), requirements=requirements, path=str(folder),
        openapi_path=str(interface_path(openapi_path)), digest=_digest(folder, checks.sources),
        systems=tuple(SystemSpec(name, " ".join(str(spec["description"]).split()), bool(spec.get("reference")))
                      for name, spec in (data.get("systems") or {}).items()),
        parameters=parameters,
    )
    if import_checks:
        _loaded_checks[(profile.path, profile.digest)] = checks
    return [], profile


def interface_source(ref: str | Path) -> Path:
    """The interface document a profile names (`openapi:` in profile.yaml, default openapi.yaml), found without
    validating the profile (it may not be valid until its interface is bundled)."""
    folder = resolve_profile(str(ref))
    doc = load_located_yaml(folder / PROFILE_FILE, error=ProfileError)
    name = doc.data.get("openapi", "openapi.yaml") if isinstance(doc.data, dict) else "openapi.yaml"
    source = folder / str(name)
    if not source.is_file():
        raise ProfileError(f"the interface file {source} is missing", file=doc.file, line=doc.line_of(["openapi"]),
                           fix="add the profile's OpenAPI document next to profile.yaml (or set `openapi:`)")
    return source


def interface_path(source: Path) -> Path:
    """The interface a run reads: the profile's document, or its bundled copy when it refers outside itself
    (lint has checked that the copy is current)."""
    from conformance.inputs.openapi import read_openapi

    return bundled_path(source) if any(True for _ in external_refs(read_openapi(source, raw=True))) else source


def _requirement(raw: dict[str, Any]) -> Requirement:
    check = dict(raw["check"])
    kind = CheckKind(check.pop("kind"))
    return Requirement(
        id=raw["id"], title=raw["title"], level=Level(raw["level"]), category=raw["category"],
        weight=float(raw["weight"]), rationale=" ".join(str(raw["rationale"]).split()),
        check=CheckSpec(kind=kind, options=check),
        status=RequirementStatus(raw.get("status", "active")), clause=raw.get("clause"),
        applies_when=dict(raw["applies_when"]) if raw.get("applies_when") else None,
    )


def param_text(value: Any) -> str:
    """A parameter's value as text, the way it is substituted: YAML's true/false stay lower case."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def profile_digest(folder: Path) -> str:
    """The digest of a profile folder as it is on disk, computed without importing anything from it (the
    evidence bundle checks a profile folder this way before any of its code may run)."""
    return _digest(folder, {})


def _digest(folder: Path, loaded: Mapping[Path, bytes]) -> str:
    """sha256 over every file of the profile version (names and contents), so a result names exactly
    what it was measured against: its requirements, interface, scenarios, datasets and Python checks.
    Bytecode caches are left out (nothing writes them there: `conformance.inputs.checks` imports without), and so
    is governance.yaml: a version's lifecycle changes over time, what it measures does not.
    A check file is hashed as `loaded` holds it: the source that was run, read once."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = file.relative_to(folder).as_posix()
        if "__pycache__" in rel or rel == GOVERNANCE_FILE:
            continue
        content = loaded.get(file.resolve())
        digest.update(rel.encode() + b"\0" + (file.read_bytes() if content is None else content) + b"\0")
    return "sha256:" + digest.hexdigest()


def _schema_problems(doc: LocatedYaml) -> Iterator[ProfileError]:
    validator = jsonschema.Draft202012Validator(profile_schema())
    for error in validator.iter_errors(doc.data):
        yield from explain_schema_error(error, doc)


def _semantic_problems(doc: LocatedYaml, folder: Path, landed: frozenset[CheckKind],
                       checks: ProfileChecks) -> Iterator[ProfileError]:
    data = doc.data
    if data["id"] != folder.parent.name:
        yield ProfileError(f"'{data['id']}' does not match the folder name '{folder.parent.name}'",
                           file=doc.file, line=doc.line_of(["id"]), key="id",
                           fix="keep profiles at profiles/<id>/<version>/")
    if data["version"] != folder.name:
        yield ProfileError(f"'{data['version']}' does not match the folder name '{folder.name}'",
                           file=doc.file, line=doc.line_of(["version"]), key="version",
                           fix="keep profiles at profiles/<id>/<version>/")
    seen: dict[str, int] = {}
    categories = data.get("categories")
    for index, req in enumerate(data["requirements"]):
        path: list[str | int] = ["requirements", index]
        if req["id"] in seen:
            yield ProfileError(f"duplicate requirement id '{req['id']}' (first at item {seen[req['id']]})",
                               file=doc.file, line=doc.line_of([*path, "id"]), key=dotted([*path, "id"]),
                               fix="give every requirement its own stable id")
        seen.setdefault(req["id"], index)
        if categories is not None and req["category"] not in categories:
            yield ProfileError(f"category '{req['category']}' is not listed under 'categories'",
                               file=doc.file, line=doc.line_of([*path, "category"]),
                               key=dotted([*path, "category"]),
                               fix=f"use one of: {', '.join(categories)}, or add it to 'categories'")
        condition = req.get("applies_when")
        if condition and condition["param"] not in (data.get("parameters") or {}):
            declared = ", ".join(data.get("parameters") or {}) or "none"
            yield ProfileError(f"applies_when names parameter '{condition['param']}', which the profile does not "
                               "declare", file=doc.file, line=doc.line_of([*path, "applies_when", "param"]),
                               key=dotted([*path, "applies_when", "param"]),
                               fix=f"declare it under `parameters:` with a description (declared: {declared})")
        kind = CheckKind(req["check"]["kind"])
        active = req.get("status", "active") != "planned"
        if kind not in landed and active:
            yield ProfileError(
                f"check kind '{kind.value}' has no runner in this harness version",
                file=doc.file, line=doc.line_of([*path, "check", "kind"]), key=dotted([*path, "check", "kind"]),
                fix="mark the requirement `status: planned` until its check kind lands",
            )
        if kind is CheckKind.CONTRACT and active:
            scenario = req["check"].get("scenario")
            python = req["check"].get("python")
            if python:
                check = checks.find(python)
                if check is None and not checks.complete:
                    pass  # a check file did not import (its own located error): what it declares is unknown
                elif check is None or req["id"] not in check.requirements:
                    yield ProfileError(f"no contract check '{python}' registered for {req['id']}", file=doc.file,
                                       line=doc.line_of([*path, "check", "python"]),
                                       key=dotted([*path, "check", "python"]),
                                       fix=f"declare it with @contract_check('{python}', requirements=("
                                           f"'{req['id']}',)) in a file of profiles/{data['id']}/"
                                           f"{data['version']}/{CHECKS_FOLDER}/ "
                                           "(see docs/how-to/write-a-contract-requirement.md)")
                else:
                    for system in check.systems:
                        if system not in (data.get("systems") or {}):
                            yield ProfileError(f"contract check '{python}' talks to system '{system}', which the "
                                               "profile does not declare", file=doc.file,
                                               line=doc.line_of([*path, "check", "python"]),
                                               key=dotted([*path, "check", "python"]),
                                               fix=f"add `systems: {{{system}: {{description: ...}}}}` at the "
                                                   "top of profile.yaml")
            elif not scenario:
                yield ProfileError("an active contract requirement needs a scenario", file=doc.file,
                                   line=doc.line_of([*path, "check"]), key=dotted([*path, "check"]),
                                   fix="add `scenario: scenarios/<file>.yaml`, or mark it `status: planned`")
            elif not (folder / scenario).is_file():
                yield ProfileError(f"no scenario file {folder / scenario}", file=doc.file,
                                   line=doc.line_of([*path, "check", "scenario"]),
                                   key=dotted([*path, "check", "scenario"]),
                                   fix="create it (see docs/how-to/write-a-contract-requirement.md) or fix the path")
            else:
                from conformance.inputs.scenarios import lint_scenario

                yield from lint_scenario(folder / scenario, systems=frozenset(data.get("systems") or {}),
                                         datasets=folder / "datasets",
                                         params=frozenset(data.get("parameters") or {}))


def _scenario_problems(doc: LocatedYaml, folder: Path) -> Iterator[ProfileError]:
    """Every scenario file a requirement names that exists, linted even though profile.yaml has problems of its
    own (a second pass should find nothing new)."""
    from conformance.inputs.scenarios import lint_scenario

    data = doc.data
    systems, params = data.get("systems"), data.get("parameters")
    seen: set[Path] = set()
    for raw in data.get("requirements") if isinstance(data.get("requirements"), list) else []:
        check = raw.get("check") if isinstance(raw, dict) else None
        scenario = check.get("scenario") if isinstance(check, dict) else None
        if not isinstance(scenario, str) or not (folder / scenario).is_file() or (folder / scenario) in seen:
            continue
        seen.add(folder / scenario)
        yield from lint_scenario(folder / scenario, datasets=folder / "datasets",
                                 systems=frozenset(systems) if isinstance(systems, dict) else None,
                                 params=frozenset(params) if isinstance(params, dict) else None)


def _openapi_problems(path: Path, profile_doc: LocatedYaml) -> Iterator[ProfileError]:
    """The interface: OpenAPI 3.0, 3.1 or Swagger 2.0, valid by openapi-spec-validator. One with references
    outside itself is validated through its bundled copy (never fetching anything); without a current copy, each
    document it names is reported with the command that bundles it."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    if not path.is_file():
        fix = "add the profile's OpenAPI document next to profile.yaml (or set `openapi:`)"
        if "openapi" in profile_doc.data:
            yield ProfileError(f"the interface file {path} is missing", file=profile_doc.file,
                               line=profile_doc.line_of(["openapi"]), key="openapi", fix=fix)
        else:
            yield ProfileError("the interface file is missing", file=str(path), fix=fix)
        return
    try:
        doc = load_located_yaml(path, error=ProfileError)
    except ProfileError as exc:
        yield exc
        return
    if not isinstance(doc.data, dict) or ("openapi" not in doc.data and "swagger" not in doc.data):
        yield ProfileError("not an OpenAPI document (no 'openapi' or 'swagger' key)", file=doc.file, line=1,
                           fix="start the file with `openapi: 3.1.0` (3.0 and Swagger 2.0 are read too)")
        return
    external = list(external_refs(doc.data))
    if external:
        problem = bundle_problem(path)
        if problem is not None:
            yield from _unbundled_problems(path, doc, external, problem)
            return
        try:
            doc = load_located_yaml(bundled_path(path), error=ProfileError)
        except ProfileError as exc:
            yield exc
            return
        if any(True for _ in external_refs(doc.data)):
            yield ProfileError("the bundled copy still refers outside itself", file=doc.file, line=1,
                               fix=f"bundle it again: conformance profiles bundle {path.parent}")
            return
    try:
        validate(json.loads(json.dumps(doc.data, default=str)))
    except OpenAPIValidationError as exc:
        where = list(exc.absolute_path)
        yield ProfileError(f"invalid OpenAPI: {exc.message.splitlines()[0]}", file=doc.file,
                           line=doc.line_of(where), key=dotted(where),
                           fix="fix the interface so openapi-spec-validator accepts it")
    except Exception as exc:  # the validator raises other errors on broken $refs
        yield ProfileError(f"invalid OpenAPI: {exc}", file=doc.file, line=1,
                           fix="fix the interface so openapi-spec-validator accepts it")


def _unbundled_problems(path: Path, doc: LocatedYaml, external: list[tuple[str, tuple[str | int, ...]]],
                        problem: str) -> Iterator[ProfileError]:
    """One problem per document the interface refers to, at the first reference to it: where it would come
    from (the file, the cache) and the command that makes the bundled copy."""
    import urllib.parse
    import urllib.request

    cache = cache_dir()
    command = f"conformance profiles bundle {path.parent}"
    if bundled_path(path).is_file():  # a copy that is out of date: one problem, the fix is the same
        yield ProfileError(f"the interface refers to documents outside it, and {problem}", file=doc.file, line=1,
                           fix=f"run `{command}` again")
        return
    seen: set[str] = set()
    for ref, where in external:
        uri = urllib.parse.urljoin(path.resolve().as_uri(), ref).partition("#")[0]
        if uri in seen:
            continue
        seen.add(uri)
        if uri.startswith(("http://", "https://")):
            cached = cache_path(cache, uri)
            if cached.is_file():
                fix = f"run `{command}` (the document is in the reference cache, no network needed)"
            else:
                fix = (f"run `{command}` where {urllib.parse.urlsplit(uri).netloc} is reachable (it fetches the "
                       f"document once into the reference cache {cache}); offline, save the document as {cached} "
                       f"and run `{command} --offline`")
            what = f"refers to the remote document {uri}"
        else:
            file = Path(urllib.request.url2pathname(urllib.parse.urlsplit(uri).path))
            if not file.is_file():
                yield ProfileError(f"refers to the file {file}, which does not exist", file=doc.file,
                                   line=doc.line_of(list(where)), key=dotted(list(where)),
                                   fix="fix the path (relative to the file that refers to it)")
                continue
            fix = f"run `{command}`"
            what = f"refers to the file {file}"
        yield ProfileError(f"{what}, and {problem}; a run reads only a self-contained interface and never fetches",
                           file=doc.file, line=doc.line_of(list(where)), key=dotted(list(where)), fix=fix)
