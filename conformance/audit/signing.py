"""Ed25519 keys and DSSE signatures: the only module that touches `cryptography`.

A key is named by its **key id**: the SHA-256 (hex) of its raw 32-byte public key, so anyone holding the public
PEM file computes the same id. A signature is made over DSSE's pre-authentication encoding (PAE) of the payload
type and payload, as the DSSE v1 specification says, so standard DSSE verifiers accept it.

The private key is read from its PEM file, used, and dropped: it is never written anywhere but the file
`new_key_pair` creates (mode 0600), and no message quotes it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as UnsupportedKey
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from conformance.errors import BundleError

__all__ = [
    "PRIVATE_KEY_FILE",
    "PUBLIC_KEY_FILE",
    "PublicKey",
    "SigningKey",
    "b64decode_canonical",
    "b64encode",
    "load_public_key",
    "load_signing_key",
    "new_key_pair",
    "pae",
    "public_key_from_pem",
]

PRIVATE_KEY_FILE = "conformance-signing.key"
PUBLIC_KEY_FILE = "conformance-signing.pub"
PRIVATE_PEM_MARKER = b"PRIVATE KEY-----"


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE v1 pre-authentication encoding: what is signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def b64decode_canonical(text: str) -> bytes | None:
    """Standard base64 decoded, or None unless `text` is exactly the canonical encoding of what it decodes to
    (a lenient decoder ignores stray characters and unused bits: a changed byte must never verify)."""
    try:
        data = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    return data if b64encode(data) == text else None


@dataclass(frozen=True)
class PublicKey:
    """A verifying key and its id."""

    key: Ed25519PublicKey

    @property
    def raw(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return hashlib.sha256(self.raw).hexdigest()

    def pem(self) -> bytes:
        return self.key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)

    def verifies(self, signature: bytes, message: bytes) -> bool:
        try:
            self.key.verify(signature, message)
        except InvalidSignature:
            return False
        return True


class SigningKey:
    """A private key loaded for signing. Not a dataclass: no repr, no comparison, nothing that prints it."""

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = PublicKey(key.public_key())

    def __repr__(self) -> str:
        return f"SigningKey(key_id={self.public.key_id})"

    @property
    def key_id(self) -> str:
        return self.public.key_id

    def sign(self, message: bytes) -> bytes:
        return self._key.sign(message)


def new_key_pair(folder: Path) -> tuple[Path, Path, str]:
    """Write `conformance-signing.key` (PKCS#8 PEM, mode 0600) and `conformance-signing.pub` (SubjectPublicKeyInfo
    PEM) into `folder`; refuse to overwrite. Returns both paths and the key id."""
    private_path, public_path = folder / PRIVATE_KEY_FILE, folder / PUBLIC_KEY_FILE
    for path in (private_path, public_path):
        if path.exists():
            raise BundleError("exists already; a key pair is never overwritten", file=str(path),
                              fix="choose another --out folder, or remove the old pair deliberately")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(private_pem)
        os.chmod(private_path, 0o600)  # whatever the umask
        public = PublicKey(key.public_key())
        public_path.write_bytes(public.pem())
    except OSError as exc:
        raise BundleError(f"cannot write the key pair: {exc.strerror}", file=str(folder),
                          fix="choose a writable --out folder") from None
    return private_path, public_path, public.key_id


def load_signing_key(path: Path) -> SigningKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read the private key: {exc.strerror}", file=str(path),
                          fix="give the .key file `conformance keys new` wrote") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedKey):
        raise BundleError("not an unencrypted PEM private key", file=str(path),
                          fix="give the .key file `conformance keys new` wrote (PKCS#8, Ed25519)") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise BundleError(f"a {type(key).__name__.removeprefix('_')} key; bundles are signed with Ed25519",
                          file=str(path), fix="make one with `conformance keys new --out DIR`")
    return SigningKey(key)


def public_key_from_pem(data: bytes) -> PublicKey | None:
    """The Ed25519 public key of a PEM file's bytes, or None (not PEM, not Ed25519, a private key)."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedKey):
        return None
    return PublicKey(key) if isinstance(key, Ed25519PublicKey) else None


def load_public_key(path: Path) -> PublicKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BundleError(f"cannot read the public key: {exc.strerror}", file=str(path),
                          fix="give the .pub file of the signer's key pair") from None
    if PRIVATE_PEM_MARKER in data:
        raise BundleError("this is a private key; a trusted key is the signer's public key", file=str(path),
                          fix="give the .pub file (and keep the .key file to its owner)")
    key = public_key_from_pem(data)
    if key is None:
        raise BundleError("not an Ed25519 public key in PEM", file=str(path),
                          fix="give the .pub file `conformance keys new` wrote")
    return key

