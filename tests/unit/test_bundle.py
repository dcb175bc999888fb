"""Evidence bundles (conformance/audit/): made from a synthetic run folder, verified, and tampered with in every way
issue #16 names. No process, no socket."""

from __future__ import annotations

import base64
import gzip
import io
import json
import os
import stat
import tarfile
import tempfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.audit.archive import Limits, _Deflater, read_archive, write_archive
from conformance.audit.bundle import ENVELOPE_FILE, MANIFEST_FILE, add_signature, make_bundle
from conformance.audit.replay import compare_results
from conformance.audit.signing import load_public_key, load_signing_key, new_key_pair
from conformance.audit.verify import Verification, verify_bundle, write_verification
from conformance.errors import BundleError
from conformance.model import Outcome, Result
from tests.unit.audit_helpers import extract, make_run, restate


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("bundle")
    run = make_run(tmp)
    supplier = new_key_pair(tmp / "supplier")
    buyer = new_key_pair(tmp / "buyer")
    stranger = new_key_pair(tmp / "stranger")
    bundle = tmp / "run.tar.gz"
    make_bundle(run, bundle, [load_signing_key(supplier[0])])
    return {"tmp": tmp, "run": run, "bundle": bundle, "supplier_key": supplier[0], "supplier_pub": supplier[1],
            "buyer_key": buyer[0], "buyer_pub": buyer[1], "stranger_key": stranger[0], "stranger_pub": stranger[1]}


def check(bundle: Path, *trusted: Path, allow_untrusted: bool = False) -> Verification:
    with tempfile.TemporaryDirectory() as dest:
        result = verify_bundle(bundle, Path(dest), trusted=[load_public_key(p) for p in trusted],
                               allow_untrusted=allow_untrusted)
        result.contents = None  # its folder is gone
        return result


def failed(result: Verification) -> list[str]:
    return [f"{c.name}: {c.detail}" for c in result.checks if not c.holds]


def test_a_bundled_run_verifies_and_says_what_it_checked(world: dict[str, Path]) -> None:
    result = check(world["bundle"], world["supplier_pub"])
    assert result.verified, failed(result)
    names = [c.name for c in result.checks]
    assert names[:3] == ["archive and envelope", "file digests", "manifest"]
    assert any(n.startswith("signature ") for n in names)
    assert {"run: profile digest", "run: claims", "run: re-score"} <= set(names)
    assert [s.trusted and s.valid for s in result.signers] == [True]


def test_the_statement_names_every_file_and_the_claim_without_secrets(world: dict[str, Path],
                                                                      tmp_path: Path) -> None:
    files = extract(world["bundle"], tmp_path)
    envelope = json.loads(files[ENVELOPE_FILE])
    statement = json.loads(base64.b64decode(envelope["payload"]))
    subjects = {s["name"] for s in statement["subject"]}
    assert subjects == {n for n in files if n != ENVELOPE_FILE and not n.startswith("keys/")}
    assert {"run/run.json", "run/results.jsonl", "run/scorecard.json", "run/report.html", "run/load/timeline.csv",
            "profiles/pole-records/1.0.0/profile.yaml", "profiles/pole-records/1.0.0/checks/properties.py",
            MANIFEST_FILE} <= subjects
    assert any(n.startswith("run/exchanges/") for n in subjects)
    predicate = statement["predicate"]
    scorecard = json.loads(files["run/scorecard.json"])
    assert (predicate["verdict"], predicate["score"], predicate["seed"], predicate["tier"]) == (
        scorecard["verdict"], scorecard["score"], 42, "quick")
    assert predicate["profile"]["digest"] == scorecard["profile"]["digest"]
    assert predicate["target"]["base_url"] == "http://127.0.0.1:9/"  # user information dropped
    assert "secret" not in json.dumps(predicate)
    manifest = json.loads(files[MANIFEST_FILE])
    assert manifest["bundled_with"]["engines"]["schemathesis"]
    assert set(manifest["files"]) == subjects - {MANIFEST_FILE}


def test_bundling_is_deterministic(world: dict[str, Path], tmp_path: Path) -> None:
    again = tmp_path / "again.tar.gz"
    make_bundle(world["run"], again, [load_signing_key(world["supplier_key"])])
    assert again.read_bytes() == world["bundle"].read_bytes()


# --- tampering -------------------------------------------------------------------------------------------------
@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_flipping_any_byte_of_the_bundle_is_detected(world: dict[str, Path], data: st.DataObject) -> None:
    original = world["bundle"].read_bytes()
    position = data.draw(st.integers(0, len(original) - 1), label="position")
    flip = data.draw(st.integers(1, 255), label="xor")
    with tempfile.TemporaryDirectory() as tmp:
        changed = Path(tmp) / "b.tar.gz"
        changed.write_bytes(original[:position] + bytes([original[position] ^ flip]) + original[position + 1:])
        assert not check(changed, world["supplier_pub"]).verified


@pytest.fixture(scope="module")
def bundled_files(world: dict[str, Path]) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        return extract(world["bundle"], Path(tmp))


def test_re_archiving_unchanged_files_still_verifies(world: dict[str, Path], bundled_files: dict[str, bytes],
                                                     tmp_path: Path) -> None:
    """The control for the property below: re-archiving alone changes nothing that matters."""
    write_archive(tmp_path / "same.tar.gz", bundled_files.items())
    assert check(tmp_path / "same.tar.gz", world["supplier_pub"]).verified


@settings(max_examples=100, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_flipping_any_byte_of_any_file_inside_is_detected(world: dict[str, Path], bundled_files: dict[str, bytes],
                                                          data: st.DataObject) -> None:
    name = data.draw(st.sampled_from(sorted(n for n, d in bundled_files.items() if d)), label="file")
    content = bundled_files[name]
    position = data.draw(st.integers(0, len(content) - 1), label="position")
    flip = data.draw(st.integers(1, 255), label="xor")
    changed = {**bundled_files, name: content[:position] + bytes([content[position] ^ flip]) + content[position + 1:]}
    with tempfile.TemporaryDirectory() as tmp:
        write_archive(Path(tmp) / "b.tar.gz", changed.items())
        assert not check(Path(tmp) / "b.tar.gz", world["supplier_pub"]).verified


def _edited_results(files: dict[str, bytes]) -> dict[str, bytes]:
    """A failed requirement turned into a pass, scorecard and all: what a supplier would like to show."""
    results = files["run/results.jsonl"].decode().replace('"outcome": "fail"', '"outcome": "pass"')
    card = json.loads(files["run/scorecard.json"])
    for row in card["requirements"]:
        row["outcome"] = "pass" if row["outcome"] == "fail" else row["outcome"]
    return {**files, "run/results.jsonl": results.encode(), "run/scorecard.json": json.dumps(card).encode()}


def test_results_edited_and_rehashed_without_the_key_fail_on_the_signature(
        world: dict[str, Path], bundled_files: dict[str, bytes], tmp_path: Path) -> None:
    forged = tmp_path / "forged.tar.gz"
    restate(_edited_results(bundled_files), forged, [], keep_signatures_of=json.loads(bundled_files[ENVELOPE_FILE]))
    result = check(forged, world["supplier_pub"])
    assert not result.verified
    assert any("INVALID" in f for f in failed(result)), failed(result)
    assert next(c for c in result.checks if c.name == "file digests").holds  # the digests alone were made to agree


def test_a_bundle_re_signed_by_an_unknown_key_fails_unless_that_key_is_trusted(
        world: dict[str, Path], bundled_files: dict[str, bytes], tmp_path: Path) -> None:
    forged = tmp_path / "resigned.tar.gz"
    restate(bundled_files, forged, [load_signing_key(world["stranger_key"])])
    result = check(forged, world["supplier_pub"])
    assert not result.verified and any("UNTRUSTED" in f for f in failed(result)), failed(result)
    assert check(forged, world["stranger_pub"]).verified
    assert check(forged, allow_untrusted=True).verified
    assert not check(forged).verified  # no trusted key and no --allow-untrusted: who signed is unknown


def test_a_profile_swapped_for_another_version_fails_on_the_digest(
        world: dict[str, Path], bundled_files: dict[str, bytes], tmp_path: Path) -> None:
    """Even re-signed with the supplier's own key: the bundled profile is not the one the run recorded."""
    name = "profiles/pole-records/1.0.0/profile.yaml"
    swapped = {**bundled_files, name: bundled_files[name].replace(b"weight: 3", b"weight: 1", 1)}
    forged = tmp_path / "swapped.tar.gz"
    restate(swapped, forged, [load_signing_key(world["supplier_key"])])
    result = check(forged, world["supplier_pub"])
    assert [c.name for c in result.checks if not c.holds] == ["run: profile digest", "run: re-score"], failed(result)


def test_a_rescore_that_disagrees_with_the_recorded_scorecard_fails(
        world: dict[str, Path], bundled_files: dict[str, bytes], tmp_path: Path) -> None:
    """Signed by the supplier, but the scorecard is not what its results score to."""
    card = json.loads(bundled_files["run/scorecard.json"])
    card["verdict_reason"] = "all fine"
    forged = tmp_path / "rescored.tar.gz"
    restate({**bundled_files, "run/scorecard.json": json.dumps(card).encode()}, forged,
            [load_signing_key(world["supplier_key"])])
    result = check(forged, world["supplier_pub"])
    assert [c.name for c in result.checks if not c.holds] == ["run: re-score"], failed(result)
    assert "verdict_reason" in failed(result)[0]


# --- several signatures -------------------------------------------------------------------------------------------
def test_a_co_signature_names_its_key_and_both_must_be_trusted(world: dict[str, Path], tmp_path: Path) -> None:
    bundle = tmp_path / "cosigned.tar.gz"
    bundle.write_bytes(world["bundle"].read_bytes())
    signers = add_signature(bundle, load_signing_key(world["buyer_key"]))
    supplier_id = load_public_key(world["supplier_pub"]).key_id
    buyer_id = load_public_key(world["buyer_pub"]).key_id
    assert list(signers) == [supplier_id, buyer_id]
    both = check(bundle, world["supplier_pub"], world["buyer_pub"])
    assert both.verified and {s.key_id for s in both.signers} == {supplier_id, buyer_id}
    assert not check(bundle, world["supplier_pub"]).verified


def test_a_tampered_bundle_is_never_co_signed(world: dict[str, Path], bundled_files: dict[str, bytes],
                                              tmp_path: Path) -> None:
    changed = {**bundled_files, "run/results.jsonl": bundled_files["run/results.jsonl"] + b"\n"}
    write_archive(tmp_path / "t.tar.gz", changed.items())
    with pytest.raises(BundleError, match="do not match its statement"):
        add_signature(tmp_path / "t.tar.gz", load_signing_key(world["buyer_key"]))


# --- keys -------------------------------------------------------------------------------------------------------
def test_a_new_private_key_is_readable_by_its_owner_only_and_never_overwritten(tmp_path: Path) -> None:
    private, public, key_id = new_key_pair(tmp_path / "k")
    assert stat.S_IMODE(os.stat(private).st_mode) == 0o600
    assert load_public_key(public).key_id == key_id == load_signing_key(private).key_id
    assert repr(load_signing_key(private)) == f"SigningKey(key_id={key_id})"  # nothing of the private key
    with pytest.raises(BundleError, match="never overwritten"):
        new_key_pair(tmp_path / "k")


def test_no_private_key_lands_in_a_bundle(world: dict[str, Path], tmp_path: Path) -> None:
    key = serialization.load_pem_private_key(world["supplier_key"].read_bytes(), password=None)
    raw_private = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                    serialization.NoEncryption())
    inside = gzip.decompress(world["bundle"].read_bytes())
    assert world["supplier_key"].read_bytes() not in inside and raw_private not in inside
    assert b"PRIVATE KEY" not in inside
    # a key left in the run folder is refused, not bundled
    run = tmp_path / "run"
    run.mkdir()
    for file in world["run"].iterdir():
        if file.is_file():
            (run / file.name).write_bytes(file.read_bytes())
    (run / "oops.pem").write_bytes(world["supplier_key"].read_bytes())
    with pytest.raises(BundleError, match="private key never goes into a bundle"):
        make_bundle(run, tmp_path / "x.tar.gz", [load_signing_key(world["supplier_key"])])
    assert not (tmp_path / "x.tar.gz").exists()


def test_a_private_key_given_as_a_trusted_key_is_refused(world: dict[str, Path]) -> None:
    with pytest.raises(BundleError, match="private key"):
        load_public_key(world["supplier_key"])


# --- hostile archives -------------------------------------------------------------------------------------------
def _tar(entries: list[tarfile.TarInfo], contents: dict[str, bytes], *, canonical_gzip: bool = True) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info in entries:
            tar.addfile(info, io.BytesIO(contents.get(info.name, b"")))
    if not canonical_gzip:
        return gzip.compress(buffer.getvalue(), mtime=1)
    out = io.BytesIO()
    deflater = _Deflater(out)  # the bundle's own gzip framing, so only the tar inside is hostile
    deflater.write(buffer.getvalue())
    deflater.finish()
    return out.getvalue()


def _member(name: str, size: int = 0, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.type, info.linkname = size, kind, link
    return info


@pytest.mark.parametrize(("member", "message"), [
    (_member("../escaped", 3), "'..'"),
    (_member("/etc/escaped", 3), "absolute"),
    (_member("run/link", kind=tarfile.SYMTYPE, link="/etc/passwd"), "not a regular file"),
    (_member("run/hard", kind=tarfile.LNKTYPE, link="run/x"), "not a regular file"),
    (_member("run", kind=tarfile.DIRTYPE), "not a regular file"),
])
def test_hostile_entries_are_refused_and_nothing_lands_outside(member: tarfile.TarInfo, message: str,
                                                               tmp_path: Path) -> None:
    bundle = tmp_path / "hostile.tar.gz"
    bundle.write_bytes(_tar([member], {member.name: b"bad"}))
    dest = tmp_path / "dest" / "inner"
    dest.mkdir(parents=True)
    with pytest.raises(BundleError, match=message):
        read_archive(bundle, dest)
    assert not (tmp_path / "dest" / "escaped").exists() and not (tmp_path / "escaped").exists()


def test_a_gzip_bomb_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.tar.gz"
    out = io.BytesIO()
    deflater = _Deflater(out)
    for _ in range(32):
        deflater.write(b"\0" * (1 << 20))  # 32 MiB of zeros in ~32 KiB
    deflater.finish()
    bomb.write_bytes(out.getvalue())
    with pytest.raises(BundleError, match="compression bomb"):
        read_archive(bomb, tmp_path / "out", Limits(total_bytes=4 << 20))
    result = verify_bundle(bomb, tmp_path / "out2", trusted=[], limits=Limits(total_bytes=4 << 20))
    assert not result.verified and "compression bomb" in result.checks[0].detail


def test_entry_count_and_size_bounds(tmp_path: Path) -> None:
    many = [_member(f"f{i}", 1) for i in range(5)]
    bundle = tmp_path / "many.tar.gz"
    bundle.write_bytes(_tar(many, {f"f{i}": b"x" for i in range(5)}))
    with pytest.raises(BundleError, match="more than 3 entries"):
        read_archive(bundle, tmp_path / "a", Limits(entries=3))
    with pytest.raises(BundleError, match="larger than 0 bytes"):
        read_archive(bundle, tmp_path / "b", Limits(file_bytes=0))


def test_a_non_canonical_gzip_header_or_trailing_data_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "x.tar.gz"
    bundle.write_bytes(_tar([_member("a", 1)], {"a": b"x"}, canonical_gzip=False))
    with pytest.raises(BundleError, match="gzip header"):
        read_archive(bundle, tmp_path / "a")
    bundle.write_bytes(_tar([_member("a", 1)], {"a": b"x"}) + b"more")
    with pytest.raises(BundleError, match="data follows"):
        read_archive(bundle, tmp_path / "b")


def test_something_that_is_not_a_bundle_fails_verification_with_one_line(tmp_path: Path) -> None:
    bundle = tmp_path / "x.tar.gz"
    bundle.write_bytes(b"hello")
    result = verify_bundle(bundle, tmp_path / "out", trusted=[])
    assert not result.verified and "\n" not in result.checks[0].detail


# --- the verified report ------------------------------------------------------------------------------------------
def test_verify_out_writes_verification_json_and_a_verified_report(world: dict[str, Path], tmp_path: Path) -> None:
    result = verify_bundle(world["bundle"], tmp_path, trusted=[load_public_key(world["supplier_pub"])])
    written = write_verification(result, tmp_path)
    data = json.loads(written.read_text(encoding="utf-8"))
    assert data["verified"] and data["signers"][0]["trusted"]
    html = (tmp_path / "run" / "report.verified.html").read_text(encoding="utf-8")
    assert "Verified evidence" in html and data["signers"][0]["key_id"] in html
    assert 'href="exchanges/' in html  # a finding's exchanges one click away
    assert json.loads((tmp_path / "run" / "scorecard.json").read_bytes())["profile"]["digest"] in html
    assert (tmp_path / "run" / "report.html").read_text(encoding="utf-8") == "<html>report</html>\n"


# --- replay comparison --------------------------------------------------------------------------------------------
def test_replay_comparison_lists_outcomes_and_fingerprints_that_differ() -> None:
    recorded = [Result("A", Outcome.PASS, measurements={"request_sequence_sha256": "1" * 64}),
                Result("B", Outcome.PASS), Result("C", Outcome.SKIPPED)]
    replayed = [Result("A", Outcome.PASS, measurements={"request_sequence_sha256": "2" * 64}),
                Result("B", Outcome.FAIL), Result("C", Outcome.SKIPPED)]
    compared, differences = compare_results(recorded, replayed)
    assert compared == 3
    assert [(d.requirement_id, d.what) for d in differences] == [("A", "request fingerprint"), ("B", "outcome")]
    assert compare_results(recorded, recorded) == (3, [])


def test_an_evaluation_bundles_as_one_with_every_candidates_runs(world: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    evaluation = tmp_path / "20261201T100000Z-demo"
    for candidate in ("acme", "bravo"):
        shutil.copytree(world["run"], evaluation / "runs" / candidate / world["run"].name)
    (evaluation / "evaluation.json").write_text(json.dumps(
        {"tender": {"id": "demo", "digest": "sha256:00"}, "seed": 42, "status": "finished"}), encoding="utf-8")
    (evaluation / "comparison.json").write_text("{}", encoding="utf-8")
    bundle = tmp_path / "evaluation.tar.gz"
    summary = make_bundle(evaluation, bundle, [load_signing_key(world["supplier_key"])])
    assert summary.kind == "evaluation"
    result = check(bundle, world["supplier_pub"])
    assert result.verified, failed(result)
    assert sorted(r["path"] for r in result.runs) == [f"evaluation/runs/{c}/{world['run'].name}"
                                                       for c in ("acme", "bravo")]
    assert sum(c.name.endswith(": re-score") and c.holds for c in result.checks) == 2


@pytest.mark.parametrize("statement_changes", [
    {"subject": 5}, {"subject": [1, "x", {"name": "manifest.json"}]},
    {"predicate": {"kind": "evaluation", "runs": "x"}}, {"predicate": {"kind": "run", "path": "../../etc"}},
    {"predicate": {"kind": "run", "path": "run", "profile": {"path": "/etc"}}},
])
def test_a_signed_statement_of_the_wrong_shape_fails_a_check_and_never_raises(
        world: dict[str, Path], bundled_files: dict[str, bytes], tmp_path: Path,
        statement_changes: dict[str, object]) -> None:
    from conformance.audit.bundle import PAYLOAD_TYPE, _write, canonical_json
    from conformance.audit.signing import b64encode

    statement = json.loads(base64.b64decode(json.loads(bundled_files[ENVELOPE_FILE])["payload"]))
    if "predicate" in statement_changes:
        statement["predicate"] = statement_changes["predicate"]
    else:
        statement.update(statement_changes)
    payload = canonical_json(statement)
    files = {n: d for n, d in bundled_files.items() if n != ENVELOPE_FILE and not n.startswith("keys/")}
    _write(tmp_path / "odd.tar.gz", files, {"payload": b64encode(payload), "payloadType": PAYLOAD_TYPE,
                                           "signatures": []}, [load_signing_key(world["supplier_key"])], payload)
    result = check(tmp_path / "odd.tar.gz", world["supplier_pub"])
    assert not result.verified and failed(result)
