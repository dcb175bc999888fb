"""Tender files: the demo tender loads, and every mistake a buyer can make is named by file, line and key."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conformance.engine.processes import candidate_command
from conformance.errors import TenderError
from conformance.inputs.tender import load_tender

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "demo-tender.yaml"

MINIMAL = """\
tender: 1
id: t-1
title: A tender
profiles:
  - profile: pole-records@1.0.0
candidates:
  acme:
    target: http://127.0.0.1:9
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tender.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_demo_tender_loads_with_its_waiver_weights_and_candidates() -> None:
    tender = load_tender(DEMO)
    assert [c.name for c in tender.candidates] == ["northwind", "eastgate", "southbank"]
    assert tender.profiles[0].profile.ref == "pole-records@1.0.0"
    assert "POLE-REC-006" in tender.profiles[0].waivers
    assert tender.category_weights["safeguarding"] == 2.0
    assert (tender.all_must, tender.min_score, tender.seed) == (True, 80.0, 20261124)
    assert tender.candidates[0].claims == {"profiles": ["pole-records@1.0.0"]}


def test_the_control_room_example_tender_loads_and_lets_the_harness_restart_its_candidates() -> None:
    tender = load_tender(ROOT / "examples" / "control-room-tender.yaml")
    assert [c.name for c in tender.candidates] == ["kestrel", "harrier"]
    assert tender.profiles[0].profile.ref == "control-room@1.0.0" and set(tender.systems) == {"gateway"}
    for cand in tender.candidates:  # {port}: the harness can restart it (CR-RES-001); {workdir}: its data outlives it
        assert cand.command and "--port {port}" in cand.command and "--db {workdir}/" in cand.command
    from fixtures.kit.registry import faults_of

    named = {arg for c in tender.candidates for arg in (c.command or "").split() if not arg.startswith("-")}
    assert {"worse-fix-overwrites", "call-lost-on-restart", "dispatch-lost-in-outage"} <= named & set(
        faults_of("control-room"))


@pytest.mark.parametrize(("versions", "chosen"), [
    (">=1.0.0", "pole-records@1.2.0"),  # the latest active: never the 2.0.0 draft
    (">=1.0.0 <1.1.0", "pole-records@1.0.0"),
    ("1.0.0", "pole-records@1.0.0"),
    (">=1.1.0, <2.0.0", "pole-records@1.2.0"),
    (">=1.1.0, <1.2.0", "pole-records@1.1.0"),
])
def test_a_tender_may_ask_for_a_minimum_version_or_a_range(tmp_path: Path, versions: str, chosen: str) -> None:
    text = MINIMAL.replace("pole-records@1.0.0", f"pole-records\n    versions: '{versions}'")
    assert load_tender(write(tmp_path, text)).profiles[0].profile.ref == chosen


def test_minimal_tender_has_sensible_defaults(tmp_path: Path) -> None:
    tender = load_tender(write(tmp_path, MINIMAL))
    assert (tender.all_must, tender.min_score, tender.tier, tender.seed) == (True, None, "quick", None)
    assert tender.candidates[0].supplier == "acme"


@pytest.mark.parametrize(("change", "line", "key", "says"), [
    (("  acme:\n", "  acme:\n    colour: blue\n"), 8, "candidates.acme.colour", "unknown key"),
    (("pole-records@1.0.0", "pole-records"), 5, "profiles[0].profile", "pins no version"),
    (("pole-records@1.0.0", "pole-records@1.0.0\n    versions: '>=1.0.0'"), 6, "profiles[0].versions", "not both"),
    (("pole-records@1.0.0", "pole-records\n    versions: '>=3.0.0'"), 6, "profiles[0].versions",
     "no version in '>=3.0.0'"),
    (("pole-records@1.0.0", "pole-records\n    versions: 'about 1'"), 6, "profiles[0].versions",
     "not a version bound"),
    (("pole-records@1.0.0", "pole-records@9.9.9"), 5, "profiles[0].profile", "cannot be used"),
    (("candidates:", "waivers:\n  - {requirement: POLE-REC-066, reason: the force never retries}\ncandidates:"),
     7, "waivers[0].requirement", "did you mean 'POLE-REC-006'"),
    (("candidates:", "waivers:\n  - {requirement: POLE-REC-006, reason: short}\ncandidates:"),
     7, "waivers[0].reason", "too short"),
    (("candidates:", "category_weights: {safeguard: 2}\ncandidates:"), 6, "category_weights.safeguard",
     "did you mean 'safeguarding'"),
    (("    target: http://127.0.0.1:9\n", "    target: http://127.0.0.1:9\n    command: ./start.sh\n"), 7,
     "candidates.acme", "exactly one of `target`"),
    (("    target: http://127.0.0.1:9\n", "    target: nowhere.txt\n"), 8, "candidates.acme.target",
     "neither a URL nor a targets file"),
    (("tender: 1", "tender: 2"), 1, "tender", "not allowed"),
])
def test_mistakes_are_named_by_line_and_key(tmp_path: Path, change: tuple[str, str], line: int, key: str,
                                            says: str) -> None:
    old, new = change
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new, 1))
    with pytest.raises(TenderError) as caught:
        load_tender(path)
    message = str(caught.value)
    assert message.startswith(f"{path}:{line}: {key}: "), message
    assert says in message


def test_a_targets_file_is_found_beside_the_tender_and_brings_its_claims(tmp_path: Path) -> None:
    (tmp_path / "targets.yaml").write_text(
        "targets:\n  acme:\n    base_url: http://127.0.0.1:9\n    supplier: Acme Ltd\n"
        "    claims: {profiles: [pole-records@1.0.0], requirements: [POLE-SRCH-002]}\n", encoding="utf-8")
    tender = load_tender(write(tmp_path, MINIMAL.replace("http://127.0.0.1:9", "targets.yaml#acme")))
    cand = tender.candidates[0]
    assert cand.supplier == "Acme Ltd"
    assert cand.claims == {"profiles": ["pole-records@1.0.0"], "requirements": ["POLE-SRCH-002"]}


def test_a_leading_conformance_runs_this_harness() -> None:
    argv = candidate_command("conformance reference serve --port 0 --fault 'drop-flags'")
    assert argv[1:] == ["-m", "conformance", "reference", "serve", "--port", "0", "--fault", "drop-flags"]
    assert candidate_command("./start.sh --port 0") == ["./start.sh", "--port", "0"]


def test_waivers_must_waive_something_for_a_reason(tmp_path: Path) -> None:
    insert = "waivers:\n  - {requirement: POLE-REC-006, reason: \"           \"}\n"
    with pytest.raises(TenderError, match="written reason"):
        load_tender(write(tmp_path, MINIMAL.replace("candidates:", insert + "candidates:")))


def test_a_planned_requirement_cannot_be_waived(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Planned requirements are never scored, so waiving one would be a waiver of nothing."""
    folder = tmp_path / "profiles" / "pole-records" / "1.0.0"
    shutil.copytree(ROOT / "profiles" / "pole-records" / "1.0.0", folder)
    profile = folder / "profile.yaml"
    text = profile.read_text(encoding="utf-8")
    old = '    clause: "7.2"\n'
    assert text.count(old) == 1  # POLE-SRCH-002, marked planned in this copy
    profile.write_text(text.replace(old, old + "    status: planned\n"), encoding="utf-8")
    monkeypatch.setenv("CONFORMANCE_PROFILES_PATH", str(tmp_path / "profiles"))  # found before the shipped one
    tender = MINIMAL.replace(
        "candidates:", "waivers:\n  - {requirement: POLE-SRCH-002, reason: never checked anyway}\ncandidates:")
    with pytest.raises(TenderError, match="is planned"):
        load_tender(write(tmp_path, tender))


def test_claims_name_requirements_of_the_tender(tmp_path: Path) -> None:
    text = MINIMAL + "    claims: {requirements: [POLE-SRCH-020]}\n"
    with pytest.raises(TenderError, match="did you mean 'POLE-SRCH-002'"):
        load_tender(write(tmp_path, text))


def test_a_base_url_with_credentials_is_refused_without_echoing_them(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("http://127.0.0.1:9", "http://user:s3cret@127.0.0.1:9"))
    with pytest.raises(TenderError) as caught:
        load_tender(path)
    assert "must not carry credentials" in str(caught.value) and "s3cret" not in str(caught.value)


CASE_FILE_TENDER = """\
tender: 1
id: t-2
title: Case files
profiles:
  - profile: case-file@1.0.0
systems:
  receiver: {command: "python -m fixtures.court_receiver --port 0"}
candidates:
  acme:
    command: conformance reference serve --profile case-file --port 0 --system receiver={systems.receiver}
"""


def test_other_systems_are_declared_by_a_profile_and_named_by_commands(tmp_path: Path) -> None:
    from conformance.inputs.tender import fill_systems

    tender = load_tender(write(tmp_path, CASE_FILE_TENDER))
    assert tender.systems == {"receiver": {"command": "python -m fixtures.court_receiver --port 0"}}
    command = fill_systems(tender.candidates[0].command or "", {"receiver": "http://127.0.0.1:8101"})
    assert command.endswith("--system receiver=http://127.0.0.1:8101")
    with pytest.raises(TenderError, match=r"tender.yaml:7: systems.court: no required profile talks to a system "
                                          r"named 'court'.*the profiles declare: receiver"):
        load_tender(write(tmp_path, CASE_FILE_TENDER.replace("  receiver: {command", "  court: {command")
                          .replace("{systems.receiver}", "x")))
    with pytest.raises(TenderError, match=r"names \{systems.recevier\}, which the tender does not define"):
        load_tender(write(tmp_path, CASE_FILE_TENDER.replace("{systems.receiver}", "{systems.recevier}")))


def test_a_retired_version_cannot_be_evaluated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "profiles" / "pole-records" / "1.0.0"
    shutil.copytree(ROOT / "profiles" / "pole-records" / "1.0.0", folder, ignore=shutil.ignore_patterns("__pycache__"))
    (folder / "governance.yaml").write_text(
        "status: retired\npublished: 2025-01-01\ndeprecated: 2025-06-01\nretires: 2026-01-31\nsuperseded_by: 1.1.0\n"
        "decision: {decided_by: Board, decided_on: 2024-12-01, rationale: because}\n", encoding="utf-8")
    monkeypatch.setenv("CONFORMANCE_PROFILES_PATH", str(tmp_path / "profiles"))  # found before the shipped one
    with pytest.raises(TenderError, match="retired on 2026-01-31") as caught:
        load_tender(write(tmp_path, MINIMAL))
    assert caught.value.line == 5 and caught.value.fix == "evaluate pole-records@1.1.0"


def test_a_candidate_command_is_filled_with_its_systems_port_and_folder(tmp_path: Path) -> None:
    from conformance.inputs.tender import fill_command

    command = "serve --port {port} --db {workdir}/x.sqlite --system gateway={systems.gateway}"
    filled = fill_command(command, {"gateway": "http://127.0.0.1:9"}, port=4321, workdir=tmp_path / "a b")
    assert filled == f"serve --port 4321 --db '{tmp_path}/a b'/x.sqlite --system gateway=http://127.0.0.1:9"
    import shlex

    assert shlex.split(filled)[4] == f"{tmp_path}/a b/x.sqlite"  # the folder survives the launcher's split
    assert fill_command("serve --port {port}", {}) == "serve --port {port}"  # nothing given: left as written



def test_a_tender_sizes_the_officers_acting_at_once(tmp_path: Path) -> None:
    """`load.concurrency` reaches the load runner through the tender's load (conformance/runners/load.py)."""
    text = MINIMAL.replace("candidates:", "load:\n  concurrency: 400\ncandidates:")
    assert load_tender(write(tmp_path, text)).load == {"concurrency": 400}
    with pytest.raises(TenderError, match="concurrency"):
        load_tender(write(tmp_path, MINIMAL.replace("candidates:", "load:\n  concurrency: 0\ncandidates:")))
