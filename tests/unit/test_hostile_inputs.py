"""Input files that cannot hurt (issue #15, item 4): a hostile profile, scenario, tender or targets file is a
located usage error in well under a second, never a traceback, a hang or gigabytes; NaN is never a number."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from conformance.engine.files import write_json_atomic
from conformance.errors import TargetError, TenderError, UsageError
from conformance.inputs.targets import parse_target
from conformance.inputs.tender import load_tender
from conformance.inputs.yamlfile import load_located_yaml, safe_load
from conformance.reporters.terminal import literal, printable


def laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join(["*" + prev] * 9) + "]")
    return "\n".join(lines) + "\n"


TENDER = """\
tender: 1
id: t-1
title: A tender
profiles:
  - profile: pole-records@1.0.0
candidates:
  acme:
    target: http://127.0.0.1:9
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_billion_laughs_is_a_located_error_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "tender.yaml", TENDER + "extra:\n" + "".join("  " + line + "\n"
                                                                           for line in laughs().splitlines()))
    started = time.monotonic()
    with pytest.raises(TenderError) as caught:
        load_tender(path)
    assert time.monotonic() - started < 1.0
    message = str(caught.value)
    assert message.startswith(f"{path}:") and "aliases would expand" in message
    with pytest.raises(Exception, match="aliases would expand"):
        safe_load(laughs())


def test_a_few_aliases_still_work(tmp_path: Path) -> None:
    doc = load_located_yaml(write(tmp_path, "ok.yaml", "a: &x [1, 2]\nb: *x\n"), error=UsageError)
    assert doc.data == {"a": [1, 2], "b": [1, 2]}
    assert safe_load("a: &x [1, 2]\nb: *x\n") == {"a": [1, 2], "b": [1, 2]}


@pytest.mark.parametrize(("text", "words", "line"), [
    ("!!python/name:os.system\n", "could not determine a constructor", 1),
    ("a: 1\nb: !!python/object/apply:os.system [ls]\n", "is not allowed", 2),
    ("a: &x\n  b: *x\n", "recursive alias", 1),
    ("a:\n  d: 2020-13-45\n", "month must be in 1..12", 2),
    ("w:\n  interface: .nan\n", "not a number", 2),
    ("w: -.inf\n", "not a number", 1),
    ("[" * 5000 + "]" * 5000 + "\n", "", None),
])
def test_hostile_yaml_is_a_located_usage_error(tmp_path: Path, text: str, words: str, line: int | None) -> None:
    path = write(tmp_path, "targets.yaml", text)
    with pytest.raises(TargetError) as caught:
        load_located_yaml(path, error=TargetError)
    assert str(caught.value).startswith(str(path))
    assert words in str(caught.value)
    if line is not None:
        assert caught.value.line == line


def test_nan_category_weight_refuses_the_tender(tmp_path: Path) -> None:
    path = write(tmp_path, "tender.yaml", TENDER + "category_weights:\n  interface: .nan\nmin_score: 80\n")
    with pytest.raises(TenderError, match=r"tender.yaml:\d+: category_weights.interface: nan"):
        load_tender(path)


def test_the_atomic_writer_never_writes_nan(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_json_atomic(tmp_path / "comparison.json", {"score": math.nan})
    assert not (tmp_path / "comparison.json").exists()
    write_json_atomic(tmp_path / "ok.json", {"score": 1.5})
    assert json.loads((tmp_path / "ok.json").read_text())["score"] == 1.5


def test_text_from_files_is_printed_literally() -> None:
    assert printable("a\x1b[31mb\rc\x07") == "a\\x1b[31mb\\rc\\x07"
    assert printable("line\nnext") == "line\\nnext"
    assert printable("line\nnext", keep_newlines=True) == "line\nnext"
    assert literal("profile.yaml:100: [bold]x") == "profile.yaml:100: \\[bold]x"


def test_the_cli_prints_file_and_line_without_emoji(tmp_path: Path) -> None:
    import importlib
    import io

    from rich.console import Console
    main = importlib.import_module("conformance.cli.main")
    out = io.StringIO()
    console = Console(file=out, emoji=False, highlight=False, color_system=None)
    console.print(f"error: {literal('profile.yaml:100: bad [x]')}")
    assert out.getvalue() == "error: profile.yaml:100: bad [x]\n"
    assert main.err_console._emoji is False and main.console._emoji is False


def test_targets_file_with_a_python_tag_is_a_target_error(tmp_path: Path) -> None:
    path = write(tmp_path, "targets.yaml", "targets:\n  acme:\n    base_url: !!python/name:os.system\n")
    with pytest.raises(TargetError, match=r"targets.yaml:3: "):
        parse_target(f"{path}#acme")
