"""The inspector's walk-through with the real command (docs/how-to/audit-a-claimed-result.md): a quick run of two
contract requirements against the reference, bundled and signed by the supplier, co-signed by the buyer, verified
(exit 0), refused when tampered or untrusted (exit 1) or misused (exit 2), and replayed: against the clean
reference every outcome is reproduced, against one with a fault the requirement that catches it is listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import conformance, only_run_dir, reference

ONLY = ("--only", "POLE-REC-001", "--only", "POLE-REC-003")


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("audit")
    with reference() as url:
        proc = conformance("run", "pole-records", "--target", url, "--seed", "5", "--runs-dir", str(tmp / "runs"),
                           *ONLY)
    assert proc.returncode == 3, proc.stderr  # incomplete: the other MUST requirements were not selected
    for who in ("supplier", "buyer"):
        made = conformance("keys", "new", "--out", str(tmp / who))
        assert made.returncode == 0, made.stderr
    bundle = tmp / "evidence.tar.gz"
    made = conformance("bundle", str(only_run_dir(tmp / "runs")), "-o", str(bundle), "--key",
                       str(tmp / "supplier" / "conformance-signing.key"))
    assert made.returncode == 0, made.stderr
    signed = conformance("bundle", "sign", str(bundle), "--key", str(tmp / "buyer" / "conformance-signing.key"))
    assert signed.returncode == 0, signed.stderr
    for proc in (made, signed):
        assert "PRIVATE" not in proc.stdout + proc.stderr
    return {"tmp": tmp, "bundle": bundle, "supplier": tmp / "supplier" / "conformance-signing.pub",
            "buyer": tmp / "buyer" / "conformance-signing.pub"}


def trusted(audited: dict[str, Path]) -> list[str]:
    return ["--trusted-key", str(audited["supplier"]), "--trusted-key", str(audited["buyer"])]


def test_a_bundled_quick_run_verifies_offline(audited: dict[str, Path]) -> None:
    out = audited["tmp"] / "verified"
    proc = conformance("verify", str(audited["bundle"]), *trusted(audited), "--out", str(out))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "re-score" in proc.stdout and "NOT verified" not in proc.stdout and "verified" in proc.stdout
    data = json.loads((out / "verification.json").read_text(encoding="utf-8"))
    assert data["verified"] and len(data["signers"]) == 2
    # what the result is worth today, by the bundled version's lifecycle (issue #18)
    assert "validity today of run: valid (active version)" in " ".join(proc.stdout.split())
    assert data["runs"][0]["validity"]["status"] == "active"
    assert "Verified evidence" in (out / "run" / "report.verified.html").read_text(encoding="utf-8")


def test_untrusted_tampered_and_misused(audited: dict[str, Path]) -> None:
    only_supplier = conformance("verify", str(audited["bundle"]), "--trusted-key", str(audited["supplier"]))
    assert only_supplier.returncode == 1 and "UNTRUSTED" in only_supplier.stdout
    tampered = audited["tmp"] / "tampered.tar.gz"
    data = bytearray(audited["bundle"].read_bytes())
    data[len(data) // 2] ^= 0x01
    tampered.write_bytes(bytes(data))
    proc = conformance("verify", str(tampered), *trusted(audited))
    assert proc.returncode == 1 and "FAILS" in proc.stdout and "Traceback" not in proc.stderr
    assert conformance("verify", str(audited["bundle"]), "--replay").returncode == 2
    missing = conformance("verify", str(audited["tmp"] / "nope.tar.gz"))
    assert missing.returncode == 2
    not_a_run = conformance("bundle", str(audited["tmp"] / "supplier"), "-o", str(audited["tmp"] / "x.tar.gz"))
    assert not_a_run.returncode == 2 and "neither a run folder" in not_a_run.stderr


@pytest.mark.slow
def test_replay_reproduces_every_outcome_against_the_clean_reference(audited: dict[str, Path]) -> None:
    with reference() as url:
        proc = conformance("verify", str(audited["bundle"]), *trusted(audited), "--replay", "--target", url,
                           "--runs-dir", str(audited["tmp"] / "replays"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "every outcome reproduced" in proc.stdout


@pytest.mark.slow
def test_replay_against_a_faulty_reference_lists_the_requirement_that_differs(audited: dict[str, Path]) -> None:
    with reference("first-error-only") as url:
        proc = conformance("verify", str(audited["bundle"]), *trusted(audited), "--replay", "--target", url,
                           "--runs-dir", str(audited["tmp"] / "replays-fault"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    differing = [line for line in proc.stdout.splitlines() if line.startswith("differs")]
    assert differing and all("POLE-REC-003" in line for line in differing), proc.stdout
