"""Profile loading and linting: valid profiles load; every kind of mistake is one clear located line."""

from __future__ import annotations

from pathlib import Path

from conformance.errors import ProfileError
from conformance.inputs.profiles import lint_profile, load_profile, resolve_profile
from conformance.model import CheckKind, Level

MINIMAL_OPENAPI = """\
openapi: 3.1.0
info: {title: mini, version: 1.0.0}
paths:
  /health:
    get:
      operationId: health
      responses:
        "200": {description: ok}
"""

MINIMAL_PROFILE = """\
id: mini
version: 1.0.0
title: Minimal
status: draft
summary: A minimal profile for tests.
requirements:
  - id: MINI-IF-001
    title: No server errors
    level: MUST
    category: interface
    weight: 1
    rationale: Because.
    check:
      kind: schema
      checks: [not_a_server_error]
  - id: MINI-REC-001
    title: Round trip
    level: SHOULD
    category: records
    weight: 2
    rationale: Because.
    status: planned
    check:
      kind: load
      description: later
"""


def make_profile(root: Path, profile: str = MINIMAL_PROFILE, openapi: str | None = MINIMAL_OPENAPI,
                 changelog: bool = True) -> Path:
    folder = root / "profiles" / "mini" / "1.0.0"
    folder.mkdir(parents=True)
    (folder / "profile.yaml").write_text(profile)
    if openapi is not None:
        (folder / "openapi.yaml").write_text(openapi)
    if changelog:
        (folder / "CHANGELOG.md").write_text("# 1.0.0\n")
    return folder


def only_problem(folder: Path) -> ProfileError:
    problems = lint_profile(folder)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_shipped_pole_records_profile_loads() -> None:
    profile = load_profile("pole-records")
    assert profile.ref == "pole-records@1.2.0"  # the latest active version; the 2.0.0 draft only by @2.0.0
    assert len(profile.requirements) >= 15
    assert len({r.category for r in profile.requirements}) >= 4
    assert all(r.rationale for r in profile.requirements)
    active = [r for r in profile.requirements if not r.planned]
    assert {r.check.kind for r in active} == {CheckKind.SCHEMA, CheckKind.CONTRACT, CheckKind.LOAD}
    assert profile.digest.startswith("sha256:")
    assert resolve_profile("pole-records@1.2.0") == resolve_profile("pole-records")
    assert load_profile("pole-records@2.0.0").governance.status.value == "draft"


def test_minimal_profile_loads(tmp_path: Path) -> None:
    profile = load_profile(make_profile(tmp_path))
    assert [r.id for r in profile.requirements] == ["MINI-IF-001", "MINI-REC-001"]
    assert profile.requirements[1].planned and profile.requirements[1].level is Level.SHOULD


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    folder = make_profile(tmp_path, MINIMAL_PROFILE.replace("title: Minimal", "title: [Minimal"))
    problem = only_problem(folder)
    assert problem.file and problem.file.endswith("profile.yaml")
    assert problem.line is not None
    assert "invalid YAML" in str(problem)


def test_unknown_key_suggests_the_fix(tmp_path: Path) -> None:
    folder = make_profile(tmp_path, MINIMAL_PROFILE.replace("    weight: 1\n", "    wieght: 1\n"))
    problems = lint_profile(folder)
    texts = [str(p) for p in problems]
    unknown = next(p for p in problems if p.key == "requirements[0].wieght")
    assert unknown.line == 11
    assert "did you mean 'weight'" in str(unknown)
    assert any("missing required key 'weight'" in t for t in texts)


def test_bad_level_is_explained(tmp_path: Path) -> None:
    folder = make_profile(tmp_path, MINIMAL_PROFILE.replace("level: MUST", "level: MUTS"))
    problem = only_problem(folder)
    assert problem.key == "requirements[0].level" and problem.line == 9
    assert "did you mean 'MUST'" in str(problem)


def test_missing_openapi_is_one_clear_error(tmp_path: Path) -> None:
    problem = only_problem(make_profile(tmp_path, openapi=None))
    assert problem.file and problem.file.endswith("openapi.yaml")
    assert "missing" in str(problem)


def test_invalid_openapi_is_located(tmp_path: Path) -> None:
    broken = MINIMAL_OPENAPI.replace('"200": {description: ok}', '"200": {descripton: ok}')
    problem = only_problem(make_profile(tmp_path, openapi=broken))
    assert problem.file and problem.file.endswith("openapi.yaml")
    assert "invalid OpenAPI" in str(problem)
    assert problem.line is not None and problem.line > 1


def test_missing_changelog(tmp_path: Path) -> None:
    problem = only_problem(make_profile(tmp_path, changelog=False))
    assert problem.file and problem.file.endswith("CHANGELOG.md")


def test_unlanded_check_kind_must_be_planned(tmp_path: Path) -> None:
    folder = make_profile(tmp_path, MINIMAL_PROFILE.replace("    status: planned\n", ""))
    problems = lint_profile(folder, landed_kinds=frozenset({CheckKind.SCHEMA, CheckKind.CONTRACT}))  # load unlanded
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert problem.key == "requirements[1].check.kind"
    assert "status: planned" in str(problem)


def test_duplicate_ids_and_folder_mismatch(tmp_path: Path) -> None:
    text = MINIMAL_PROFILE.replace("MINI-REC-001", "MINI-IF-001").replace("version: 1.0.0", "version: 1.0.1")
    problems = lint_profile(make_profile(tmp_path, text))
    keys = {p.key for p in problems}
    assert "version" in keys and "requirements[1].id" in keys


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    problem = only_problem(make_profile(tmp_path, MINIMAL_PROFILE.replace("status: draft\n",
                                                                          "status: draft\nstatus: active\n")))
    assert "duplicate key" in str(problem) and problem.line == 5


