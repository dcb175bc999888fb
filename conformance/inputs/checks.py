"""Load a profile's Python checks: every `profiles/<id>/<version>/checks/*.py`, each imported from its file.

The checks are part of the profile, so they are covered by its digest (which hashes the whole folder). Each
profile version gets its own modules, named `conformance_profile_checks__<id>__<version>.<file>`, and its own
registry: two versions of a profile may declare the same check names. The files form a package of their own,
so one may import another with `from . import name`.

Nothing is written into the profile folder: bytecode is not cached while the files are imported. A file that
cannot be imported is a located `ProfileError` (its file and line), never a traceback; so is a check name
declared twice.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
import threading
import traceback
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from conformance.errors import ProfileError
from conformance.kit.registry import ContractCheck, declared_checks

__all__ = ["CHECKS_FOLDER", "ProfileChecks", "load_checks"]

CHECKS_FOLDER = "checks"
MODULE_PREFIX = "conformance_profile_checks"
_FIX = ("fix the file so it imports; a check file may use the standard library, the harness's third-party "
        "libraries, conformance.kit and other files of its checks/ folder (`from . import name`)")


@dataclass(frozen=True)
class ProfileChecks:
    """The Python checks of one profile version, by name, with the modules they were declared in (by file
    stem) and the problems found loading them."""

    folder: Path
    checks: Mapping[str, ContractCheck] = field(default_factory=dict)
    modules: Mapping[str, types.ModuleType] = field(default_factory=dict)
    problems: tuple[ProfileError, ...] = ()
    sources: Mapping[Path, bytes] = field(default_factory=dict)  # exactly what ran, for the profile's digest
    complete: bool = True  # every file imported (if not, which checks exist is unknown)

    def find(self, name: str) -> ContractCheck | None:
        return self.checks.get(name)

    def module(self, stem: str) -> types.ModuleType:
        """The module of `checks/<stem>.py` (for tests of a profile's helpers)."""
        return self.modules[stem]


_lock = threading.Lock()
_loaded: dict[tuple[Path, str], ProfileChecks] = {}


def load_checks(folder: Path, profile_id: str, version: str) -> ProfileChecks:
    """The checks of the profile version in `folder` (empty if it has no checks/ folder). Loaded once per
    content: the same files give the same modules; a changed file is loaded afresh."""
    folder = folder.resolve()
    files = sorted((folder / CHECKS_FOLDER).glob("*.py"))
    sources = {file: file.read_bytes() for file in files}
    digest = hashlib.sha256(b"".join(f.name.encode() + b"\0" + s + b"\0" for f, s in sources.items())).hexdigest()
    with _lock:
        key = (folder, digest)
        if key not in _loaded:
            _loaded[key] = _load(folder, _package_name(profile_id, version), sources)
        return _loaded[key]


def _package_name(profile_id: str, version: str) -> str:
    def safe(text: str) -> str:
        return re.sub(r"\W", "_", text)

    return f"{MODULE_PREFIX}__{safe(profile_id)}__{safe(version)}"  # one level: `from . import name` finds it


def _load(folder: Path, package: str, sources: Mapping[Path, bytes]) -> ProfileChecks:
    for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
        del sys.modules[name]  # an earlier load of this id and version (another folder, or older content)
    parent = types.ModuleType(package, f"The Python checks of {folder}")
    parent.__path__ = [str(folder / CHECKS_FOLDER)]
    parent.__package__ = package
    sys.modules[package] = parent
    modules: dict[str, types.ModuleType] = {}
    checks: dict[str, ContractCheck] = {}
    problems: list[ProfileError] = []
    writes_bytecode = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # nothing written into the profile folder (a sibling imported by `from .`)
    try:
        for file, source in sources.items():
            name = f"{package}.{file.stem}"
            try:
                module = sys.modules.get(name) or _import(name, file, source)
            except Exception as exc:  # any error in the profile's own code is a located profile problem
                problems.append(_import_problem(file, folder, exc))
                continue
            modules[file.stem] = module
            for check in declared_checks(module):
                first = checks.get(check.name)
                if first is not None:
                    where = Path(first.function.__code__.co_filename).name
                    problems.append(ProfileError(
                        f"check '{check.name}' is declared twice (first in {where})", file=str(file),
                        line=check.function.__code__.co_firstlineno, key=check.name,
                        fix="give every check of a profile version its own name"))
                    continue
                checks[check.name] = check
    finally:
        sys.dont_write_bytecode = writes_bytecode
    return ProfileChecks(folder, checks, modules, tuple(problems), dict(sources),
                         complete=len(modules) == len(sources))


def _import(name: str, file: Path, source: bytes) -> types.ModuleType:
    """Run the file's source (the bytes hashed above) as module `name`."""
    spec = importlib.util.spec_from_file_location(name, file)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # before running it: dataclasses and `from . import` look the module up
    try:
        exec(compile(source, str(file), "exec", dont_inherit=True), module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _import_problem(file: Path, folder: Path, exc: Exception) -> ProfileError:
    """Where in the profile's own files the import failed: the deepest frame inside its checks/ folder."""
    where, line = file, None
    if isinstance(exc, SyntaxError) and exc.filename:
        where, line = Path(exc.filename), exc.lineno
    else:
        inside = [frame for frame in traceback.extract_tb(exc.__traceback__)
                  if Path(frame.filename).resolve().is_relative_to(folder)]
        if inside:
            where, line = Path(inside[-1].filename), inside[-1].lineno
    message = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, SyntaxError):
        message = exc.msg
    return ProfileError(f"cannot be imported: {type(exc).__name__}: {message}"[:300], file=str(where), line=line,
                        fix=_FIX)
