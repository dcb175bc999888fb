"""The reference suppliers' kit (fixtures/kit/), in-process: every reference refuses an unknown fault when its
application is created, the harness never imports the fixtures, and `conformance reference` reaches the harness's
command line through its entry point with each reference's own options."""

from __future__ import annotations

import ast
from importlib.metadata import entry_points
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conformance.cli.main import PLUGIN_GROUP, cli
from conformance.errors import UsageError
from conformance.inputs.profiles import load_profile
from fixtures.kit.faults import Fault, Faults, UnknownFault
from fixtures.kit.registry import REFERENCES

ROOT = Path(__file__).resolve().parent.parent
RECEIVER = {"receiver": "http://127.0.0.1:9"}  # never contacted: the case-file worker starts with the app's lifespan


def _imported_modules(path: Path) -> list[str]:
    """Every module `path` imports: import statements, and import_module/__import__ of a constant name."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.append(node.module)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.append(node.args[0].value)
    return names


def test_the_harness_never_imports_the_fixtures() -> None:
    """The layers point one way: the fixtures use the harness, the harness reaches them only as commands (the
    `conformance.commands` entry point) and processes."""
    offenders = [f"{path.relative_to(ROOT)}: {name}"
                 for path in sorted((ROOT / "conformance").rglob("*.py"))
                 for name in _imported_modules(path) if name == "fixtures" or name.startswith("fixtures.")]
    assert not offenders, offenders


def test_the_import_check_can_fail(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("import fixtures.kit\nfrom fixtures.kit.app import found\n"
                      "importlib.import_module('fixtures.pole_records')\n")
    assert _imported_modules(module) == ["fixtures.kit", "fixtures.kit.app", "fixtures.pole_records"]


@pytest.mark.parametrize("profile", sorted(REFERENCES))
def test_every_reference_refuses_an_unknown_fault_when_created(profile: str, tmp_path: Path) -> None:
    impl = REFERENCES[profile]
    create_app = impl.module("app").create_app
    db = tmp_path / "records.sqlite"
    with pytest.raises(UnknownFault) as refused:
        create_app(load_profile(profile).openapi_path, str(db), faults=["no-such-fault"], systems=RECEIVER)
    message = str(refused.value)
    assert "'no-such-fault'" in message and profile in message
    assert all(name in message for name in impl.faults()), message
    assert isinstance(refused.value, UsageError)
    assert not db.exists(), "the refusal came after the database was opened"


@pytest.mark.parametrize("profile", sorted(REFERENCES))
def test_every_reference_is_created_with_all_its_faults(profile: str, tmp_path: Path) -> None:
    impl = REFERENCES[profile]
    faults = impl.faults()
    assert faults and faults.profile == profile
    app = impl.module("app").create_app(load_profile(profile).openapi_path, str(tmp_path / "records.sqlite"),
                                        faults=list(faults), systems=RECEIVER)
    app.state.store.close()


def test_a_catalogue_names_each_fault_once() -> None:
    with pytest.raises(ValueError, match="names a fault twice"):
        Faults("p", Fault("a", "one", ("P-1",)), Fault("a", "two", ("P-2",)))


def test_reference_is_a_command_registered_by_entry_point() -> None:
    registered = {ep.name: ep.value for ep in entry_points(group=PLUGIN_GROUP)}
    assert registered.get("reference") == "fixtures.kit.cli:reference", \
        f"{registered}: run `make install` to refresh the editable install's entry points"
    assert "reference" in cli.list_commands(click.Context(cli))


@pytest.mark.parametrize(("args", "message"), [
    (["--fault", "no-such-fault"], "--fault: pole-records has no fault 'no-such-fault'; known: accepts-invalid, "),
    (["--profile", "safeguarding", "--stall-ms", "500"],
     "--stall-ms: only the pole-records reference takes this option, not safeguarding"),
    (["--profile", "records-migration", "--oauth-client", "harness"],
     "--oauth-client: only the pole-records reference takes this option, not records-migration"),
    (["--stall-ms", "2000", "--stall-every-ms", "1000"],
     "--stall-ms must be shorter than --stall-every-ms (or the server never answers)"),
    (["--oauth-client", "harness"], "--oauth-client needs --oauth-secret-env naming a set environment variable"),
    (["--profile", "case-file", "--fault", "stall"], "--fault: case-file has no fault 'stall'"),
])
def test_serve_refuses_what_the_reference_cannot_use(args: list[str], message: str) -> None:
    """Each refusal is a UsageError (exit 2, one line) raised before anything is served."""
    result = CliRunner().invoke(cli, ["reference", "serve", "--port", "0", *args])
    assert isinstance(result.exception, UsageError), (result.exception, result.output)
    assert str(result.exception).startswith(message), str(result.exception)
