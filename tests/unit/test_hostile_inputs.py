"""Input files that cannot hurt (issue #15, item 4): a hostile profile, scenario, tender or targets file is a
located usage error in well under a second, never a traceback, a hang or gigabytes; NaN is never a number."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from conformance.engine.files import loads_strict, write_json_atomic
from conformance.errors import TargetError, TenderError, UsageError
from conformance.inputs.targets import parse_target
from conformance.inputs.tender import load_tender
from conformance.inputs.yamlfile import load_located_yaml, safe_load
from conformance.procurement.collect import comparison_from_files
from conformance.reporters.terminal import literal, printable
from tests.unit.test_tender import MINIMAL as MINIMAL_TENDER


def laughs(levels: int = 9) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, levels):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join(["*" + prev] * 9) + "]")
    return "\n".join(lines) + "\n"


TENDER = MINIMAL_TENDER  # the smallest valid tender, as tests/unit/test_tender.py writes it


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


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_read_back_from_run_folders_refuses_nan(tmp_path: Path, constant: str) -> None:
    """The harness never writes NaN (above), so a scorecard or run.json holding one was written by someone else:
    it is refused where it is read, before it can reach a score or a comparison."""
    with pytest.raises(ValueError, match=f"{constant} is not a JSON number"):
        loads_strict('{"score": ' + constant + '}')
    card = tmp_path / "scorecard.json"
    card.write_text('{"score": ' + constant + ', "verdict": "conformant"}')
    with pytest.raises(UsageError, match=rf"scorecard.json: not a readable scorecard \({constant} is not a JSON"):
        comparison_from_files([card], out_dir=tmp_path / "out", title="t")
    assert loads_strict('{"score": 1.5}') == {"score": 1.5}


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


def targets_file(tmp_path: Path, body: str) -> Path:
    return write(tmp_path, "targets.yaml", "targets:\n  acme:\n    base_url: http://127.0.0.1:9\n" + body)


def test_header_values_from_the_environment_are_sent_and_redacted(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from conformance.engine.redact import Redactor
    path = targets_file(tmp_path, "    headers:\n      X-Tenant: north\n      X-Client-Secret: {env: ACME_CS}\n"
                                  "    timeout_s: 5\n")
    target = parse_target(f"{path}#acme")
    assert target.timeout_s == 5.0 and target.to_dict()["header_env"] == {"X-Client-Secret": "ACME_CS"}
    with pytest.raises(TargetError, match="ACME_CS is not set"):
        target.request_headers()
    monkeypatch.setenv("ACME_CS", "s3cr3t-value")
    headers = target.request_headers()
    assert headers == {"X-Tenant": "north", "X-Client-Secret": "s3cr3t-value"}
    redactor = Redactor(target.secrets())
    assert redactor.headers({"X-Other": "has s3cr3t-value"}) == {"X-Other": "has ${ACME_CS}"}


def test_credential_looking_headers_are_masked_whatever_their_source() -> None:
    from conformance.engine.redact import MASK, Redactor
    masked = Redactor({}).headers({"X-Client-Secret": "a", "X-Session-Token": "b", "X-Api-Key": "c",
                                   "X-Password": "d", "Cookie": "e", "X-Tenant": "f", "Idempotency-Key": "g"})
    assert masked == {"X-Client-Secret": MASK, "X-Session-Token": MASK, "X-Api-Key": MASK, "X-Password": MASK,
                      "Cookie": MASK, "X-Tenant": "f", "Idempotency-Key": "g"}


@pytest.mark.parametrize(("body", "words"), [
    ("    headers:\n      X-A: {nested: 1}\n", "text or {env: VAR}"),
    ("    headers:\n      X-A: [1, 2]\n", "text or {env: VAR}"),
    ("    headers:\n      " + "X" * 300 + ": v\n", "not a header name"),
    ("    headers:\n      X-A: " + "v" * 5000 + "\n", "at most 4096"),
    ("    headers:\n      'bad name': v\n", "not a header name"),
    ("    timeout_s: .nan\n", "not a number"),
    ("    timeout_s: 0\n", "not a timeout"),
    ("    timeout_s: 'soon'\n", "not a timeout"),
    ("    timeot_s: 3\n", "did you mean 'timeout_s'"),
])
def test_targets_file_refuses_headers_and_timeouts_it_cannot_send(tmp_path: Path, body: str, words: str) -> None:
    path = targets_file(tmp_path, body)
    with pytest.raises(TargetError) as caught:
        parse_target(f"{path}#acme")
    assert words in str(caught.value) and str(caught.value).startswith(f"{path}:")
    assert len(str(caught.value)) < 400
