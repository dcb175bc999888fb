"""Standard tooling agrees (issue #16): the in-toto ecosystem's own libraries, not our code, accept a bundle's
DSSE envelope (securesystemslib's Envelope with its Ed25519 key) and its in-toto Statement v1
(in-toto-attestation's bindings). Both are dev dependencies, pinned by major version in pyproject.toml."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from google.protobuf import json_format
from in_toto_attestation.v1 import statement_pb2
from in_toto_attestation.v1.statement import Statement
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey

from conformance.audit.bundle import ENVELOPE_FILE, PREDICATE_TYPE, make_bundle
from conformance.audit.signing import load_public_key, load_signing_key, new_key_pair
from tests.unit.audit_helpers import extract, make_run


def _sslib_key(pub: Path) -> SSlibKey:
    key = load_public_key(pub)
    return SSlibKey(keyid=key.key_id, keytype="ed25519", scheme="ed25519", keyval={"public": key.raw.hex()})


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, bytes], Path, Path]:
    tmp = tmp_path_factory.mktemp("interop")
    private, public, _ = new_key_pair(tmp / "keys")
    _, other_public, _ = new_key_pair(tmp / "other")
    make_bundle(make_run(tmp), tmp / "b.tar.gz", [load_signing_key(private)])
    return extract(tmp / "b.tar.gz", tmp / "x"), public, other_public


def test_securesystemslib_verifies_the_dsse_envelope(bundled: tuple[dict[str, bytes], Path, Path]) -> None:
    files, public, other = bundled
    envelope = Envelope.from_dict(json.loads(files[ENVELOPE_FILE]))
    accepted = envelope.verify([_sslib_key(public)], 1)
    assert list(accepted) == [load_public_key(public).key_id]
    with pytest.raises(VerificationError):  # the library can fail too: another key does not verify it
        envelope.verify([SSlibKey(keyid=load_public_key(public).key_id, keytype="ed25519", scheme="ed25519",
                                  keyval={"public": load_public_key(other).raw.hex()})], 1)


def test_in_toto_attestation_accepts_the_statement(bundled: tuple[dict[str, bytes], Path, Path]) -> None:
    files, _, _ = bundled
    payload = base64.b64decode(json.loads(files[ENVELOPE_FILE])["payload"])
    proto = json_format.Parse(payload, statement_pb2.Statement())  # type: ignore[attr-defined]
    statement = Statement.copy_from_pb(proto)
    statement.validate()
    assert statement.pb.predicate_type == PREDICATE_TYPE
    assert len(statement.pb.subject) == len([n for n in files if n != ENVELOPE_FILE and not n.startswith("keys/")])
    broken = statement_pb2.Statement()  # type: ignore[attr-defined]
    broken.CopyFrom(proto)
    del broken.subject[:]
    with pytest.raises(ValueError, match="subject"):
        Statement.copy_from_pb(broken).validate()
