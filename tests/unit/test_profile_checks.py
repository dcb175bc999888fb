"""A profile's Python checks live in its folder (profiles/<id>/<version>/checks/): loaded per profile version,
linted with located errors, covered by the profile's digest, and a run made against other checks is not resumed.
Unit tier: no server, no subprocess."""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

from conformance.engine.rundir import RunDir, RunMeta
from conformance.errors import RunDirError, SupplierFailure
from conformance.inputs.checks import load_checks
from conformance.inputs.profiles import lint_profile, load_profile, profile_checks
from conformance.kit import ContractContext
from conformance.model import CheckKind
from conformance.session.execute import resume_run
from tests.conftest import ROOT
from tests.unit.test_profiles import MINIMAL_PROFILE, make_profile

CONTRACT_REQUIREMENT = """\
  - id: MINI-REC-002
    title: A property
    level: MUST
    category: records
    weight: 1
    rationale: Because.
    check:
      kind: contract
      python: mini.holds
      description: a property
"""

CHECK_FILE = """\
from conformance.kit import ContractContext, contract_check


@contract_check("mini.holds", requirements=("MINI-REC-002",))
def holds(c: ContractContext) -> None:
    c.fail("{says}")
"""


def mini_with_check(root: Path, check: str | None = CHECK_FILE.format(says="1.0.0"), *,
                    profile: str = MINIMAL_PROFILE + CONTRACT_REQUIREMENT) -> Path:
    folder = make_profile(root, profile)
    if check is not None:
        (folder / "checks").mkdir()
        (folder / "checks" / "mini.py").write_text(check)
    return folder


def test_every_check_kind_has_a_runner() -> None:
    """The profile loader takes every check kind as landed; the runners' registry must keep that true."""
    from conformance.runners import landed_kinds

    assert landed_kinds() == frozenset(CheckKind)


def test_a_python_check_is_found_in_the_profiles_own_folder(tmp_path: Path) -> None:
    folder = mini_with_check(tmp_path)
    profile = load_profile(folder)
    check = profile_checks(profile).find("mini.holds")
    assert check is not None and check.requirements == ("MINI-REC-002",)
    assert not list(folder.rglob("__pycache__")), "importing a check must write nothing into the profile folder"


def test_an_unregistered_check_names_file_line_key_and_where_to_declare_it(tmp_path: Path) -> None:
    folder = mini_with_check(tmp_path, None)
    problems = lint_profile(folder)
    assert len(problems) == 1, [str(p) for p in problems]
    problem = problems[0]
    assert problem.file and problem.file.endswith("profile.yaml") and problem.line is not None
    assert problem.key == "requirements[2].check.python"
    assert "no contract check 'mini.holds' registered for MINI-REC-002" in str(problem)
    assert "profiles/mini/1.0.0/checks/" in str(problem) and "@contract_check('mini.holds'" in str(problem)


def test_a_check_for_another_requirement_is_not_this_ones(tmp_path: Path) -> None:
    folder = mini_with_check(tmp_path, CHECK_FILE.format(says="x").replace("MINI-REC-002", "MINI-REC-009"))
    assert [p.key for p in lint_profile(folder)] == ["requirements[2].check.python"]


def test_a_check_file_that_fails_to_import_is_a_located_error(tmp_path: Path) -> None:
    broken = CHECK_FILE.format(says="x") + "\n\nLIMIT = {}['missing']\n"
    folder = mini_with_check(tmp_path, broken)
    problems = lint_profile(folder)
    assert len(problems) == 1, [str(p) for p in problems]  # not also "no check 'mini.holds'": it may be there
    first = problems[0]
    assert first.file == str(folder.resolve() / "checks" / "mini.py")
    assert first.line == broken.count("\n")  # the line that raised
    assert "cannot be imported: KeyError" in str(first) and "Traceback" not in str(first)
    syntax = mini_with_check(tmp_path / "other", "def broken(:\n")
    problem = lint_profile(syntax)[0]
    assert problem.file and problem.file.endswith("mini.py") and problem.line == 1
    assert "cannot be imported: SyntaxError" in str(problem)


def test_a_check_sending_to_an_undeclared_system_is_a_profile_error(tmp_path: Path) -> None:
    folder = mini_with_check(tmp_path, CHECK_FILE.format(says="x").replace(
        'requirements=("MINI-REC-002",)', 'requirements=("MINI-REC-002",), systems=("peer",)'))
    problems = lint_profile(folder)
    assert len(problems) == 1 and "talks to system 'peer'" in str(problems[0]), [str(p) for p in problems]


def test_two_versions_of_a_profile_may_declare_the_same_check(tmp_path: Path) -> None:
    """The registry is per loaded profile version: the same name, each version's own function; and a file of
    checks/ may import another (`from . import name`) without writing bytecode into the folder."""
    first = mini_with_check(tmp_path)
    second = first.parent / "1.1.0"
    shutil.copytree(first, second)
    (second / "profile.yaml").write_text(MINIMAL_PROFILE.replace("version: 1.0.0", "version: 1.1.0")
                                         + CONTRACT_REQUIREMENT)
    (second / "checks" / "words.py").write_text('SAYS = "1.1.0"\n')
    (second / "checks" / "mini.py").write_text("from . import words\n" + CHECK_FILE.format(says="{words.SAYS}")
                                               .replace('c.fail("', 'c.fail(f"'))
    said = []
    for folder in (first, second):
        check = profile_checks(load_profile(folder)).find("mini.holds")
        assert check is not None
        with pytest.raises(SupplierFailure) as failed:
            check.function(ContractContext(lambda *_, **__: None, "", 1, 1))
        said.append(str(failed.value))
    assert said == ["1.0.0", "1.1.0"]
    assert not list(tmp_path.rglob("__pycache__"))


def test_the_digest_covers_the_profiles_checks(tmp_path: Path) -> None:
    """One byte of a check file changes the digest, and the changed check is what is loaded."""
    folder = tmp_path / "profiles" / "pole-records" / "1.0.0"
    shutil.copytree(ROOT / "profiles" / "pole-records" / "1.0.0", folder)
    before = load_profile(folder)
    assert before.digest == load_profile(ROOT / "profiles" / "pole-records" / "1.0.0").digest
    check_file = folder / "checks" / "properties.py"
    text = check_file.read_text(encoding="utf-8")
    check_file.write_text(text.replace("SEARCH_LIMIT = 100", "SEARCH_LIMIT = 101"), encoding="utf-8")
    after = load_profile(folder)
    assert after.digest != before.digest
    assert profile_checks(after).module("properties").SEARCH_LIMIT == 101
    assert profile_checks(before).module("properties").SEARCH_LIMIT == 100  # what the first run measured with
    assert not list(folder.rglob("__pycache__"))


def test_resume_refuses_a_profile_whose_checks_changed(tmp_path: Path) -> None:
    """A run started against a profile cannot be resumed once one of its checks changed: the error names the
    profile and both digests. (run.json as start_run writes it; nothing is run.)"""
    folder = tmp_path / "profiles" / "pole-records" / "1.0.0"
    shutil.copytree(ROOT / "profiles" / "pole-records" / "1.0.0", folder)
    profile = load_profile(folder)
    meta = {"harness": {"name": "conformance-harness", "version": "test"},
            "profile": {"id": profile.id, "version": profile.version, "digest": profile.digest,
                        "path": profile.path},
            "target": {"name": "t", "source": "http://127.0.0.1:9", "base_url": "http://127.0.0.1:9"},
            "seed": 1, "tier": "quick", "started_at": "2026-12-05T00:00:00Z", "status": "running"}
    run_dir = RunDir.create(tmp_path / "runs", RunMeta.from_dict(meta, file="run.json"), supplier="t",
                            profile_id=profile.id)
    check_file = folder / "checks" / "properties.py"
    check_file.write_bytes(check_file.read_bytes().replace(b"MAX_LISTED = 8", b"MAX_LISTED = 9"))
    changed = load_profile(folder).digest
    with pytest.raises(RunDirError) as refused:
        resume_run(run_dir.path, listener=None)  # type: ignore[arg-type]  # refused before anything is reported
    message = str(refused.value)
    assert "pole-records@1.0.0" in message and profile.digest in message and changed in message


def test_checks_are_loaded_per_content_not_per_path(tmp_path: Path) -> None:
    folder = mini_with_check(tmp_path)
    first = load_checks(folder, "mini", "1.0.0")
    assert load_checks(folder, "mini", "1.0.0") is first
    (folder / "checks" / "mini.py").write_text(CHECK_FILE.format(says="changed"))
    assert load_checks(folder, "mini", "1.0.0") is not first


# The kit, and the profile loader that imports a profile's checks (the rest of conformance/inputs, targets and
# tenders, is not under test here).
LAYERS = {"conformance/kit/*.py": {"conformance.errors", "conformance.model", "conformance.inputs", "conformance.kit"},
          "conformance/inputs/[cpsy]*.py": {"conformance.errors", "conformance.model", "conformance.inputs",
                                            "conformance.schemas", "conformance.kit.registry"}}


@pytest.mark.parametrize("files", sorted(LAYERS))
def test_the_kit_and_the_loader_import_nothing_above_them(files: str) -> None:
    """Check modules are imported by the profile loader: the kit (and the loader) must not reach the runners,
    the session or the CLI. The loader may know how a check is declared (`conformance.kit.registry`)."""
    allowed = LAYERS[files]
    checked = sorted(ROOT.glob(files))
    assert {"checks.py", "profiles.py"} <= {f.name for f in checked} or "kit" in files
    for file in checked:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            for name in names:
                if name == "conformance" or name.startswith("conformance."):
                    assert any(name == a or name.startswith(a + ".") for a in allowed), f"{file.name}: {name}"


def test_generation_depends_on_the_seed_alone(tmp_path: Path) -> None:
    """Hypothesis mixes constants from every local module loaded in the process into what it generates (the
    harness's code, a profile's checks); the harness switches that off, so one seed sends one set of cases
    whatever code is loaded."""
    import importlib.util
    import sys

    from hypothesis import given, seed, settings
    from hypothesis import strategies as st
    from hypothesis.internal.conjecture import providers

    from conformance.kit.properties import only_the_seed_decides

    only_the_seed_decides()
    assert len(providers._get_local_constants()) == 0  # conformance.* is loaded, and contributes nothing

    def draw() -> list[object]:
        seen: list[object] = []

        @seed(7)
        @settings(max_examples=60, database=None)
        @given(st.one_of(st.text(max_size=12), st.integers()))
        def record(value: object) -> None:
            seen.append(value)

        record()
        return seen

    before = draw()
    planted = tmp_path / "planted.py"
    planted.write_text("".join(f'WORD_{n} = "planted-constant-{n}"\nNUMBER_{n} = {987_650 + n}\n' for n in range(40)))
    spec = importlib.util.spec_from_file_location("planted_constants", planted)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules["planted_constants"] = module
    try:
        assert draw() == before
    finally:
        del sys.modules["planted_constants"]
