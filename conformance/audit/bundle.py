"""Make an evidence bundle from a run or an evaluation folder, and add signatures to one.

    bundle.tar.gz (docs/reference/bundle-format.md)
        envelope.dsse.json           DSSE envelope: an in-toto Statement v1 and its signatures (not a subject)
        keys/<key id>.pub.pem        each signer's public key, so a signature can be checked (not a subject)
        manifest.json                format, kind, versions, and the SHA-256 of every file below
        run/...  or  evaluation/...  the run folder (or the whole evaluation: every candidate's runs) as it is
        profiles/<id>/<version>/...  the exact profile folder each run measured against (its digest is checked)

The Statement's subjects are manifest.json and every file below it, each with its SHA-256; its predicate
(`PREDICATE_TYPE`) says what was claimed: per run the profile id, version and digest, the target without secrets,
the seed, tier, verdict and score. No file holding a private key is ever bundled.
"""

from __future__ import annotations

import hashlib
import json
import platform
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from conformance import __version__
from conformance.audit.archive import Limits, check_name, read_archive, write_archive
from conformance.audit.signing import PRIVATE_PEM_MARKER, SigningKey, b64decode_canonical, b64encode, pae
from conformance.engine.files import loads_strict
from conformance.errors import BundleError
from conformance.inputs.profiles import find_profiles, profile_digest

__all__ = [
    "ENVELOPE_FILE",
    "FORMAT",
    "KEYS_FOLDER",
    "MANIFEST_FILE",
    "PAYLOAD_TYPE",
    "PREDICATE_TYPE",
    "STATEMENT_TYPE",
    "BundleContents",
    "add_signature",
    "canonical_json",
    "make_bundle",
    "open_bundle",
    "public_target",
]

FORMAT = "conformance-bundle/1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://conformance-harness.example/conformance-result/v1"
ENVELOPE_FILE = "envelope.dsse.json"
MANIFEST_FILE = "manifest.json"
KEYS_FOLDER = "keys"
ENGINES = ("schemathesis", "hypothesis", "locust", "hdrhistogram", "httpx", "cryptography")


def canonical_json(data: Any) -> bytes:
    """The one serialisation of the bundle's JSON files: a reader refuses any other spelling of the same data."""
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _versions() -> dict[str, Any]:
    engines: dict[str, str | None] = {}
    for name in ENGINES:
        try:
            engines[name] = version(name)
        except PackageNotFoundError:
            engines[name] = None
    return {"harness": __version__, "python": platform.python_version(), "engines": engines}


def public_target(target: dict[str, Any]) -> dict[str, Any]:
    """Who was measured, without anything secret: names and the base URL without user information."""
    url = str(target.get("base_url") or "")
    parts = urlsplit(url)
    if parts.username or parts.password:
        url = urlunsplit((parts.scheme, parts.hostname or "", parts.path, parts.query, parts.fragment))
        if parts.port:
            url = url.replace(parts.hostname or "", f"{parts.hostname}:{parts.port}", 1)
    return {"name": target.get("name"), "supplier": target.get("supplier"), "product": target.get("product"),
            "product_version": target.get("product_version"), "base_url": url}


def _files_of(folder: Path, prefix: str, *, skip_caches: bool = False) -> dict[str, bytes]:
    files: dict[str, bytes] = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder).as_posix()
        if skip_caches and "__pycache__" in rel:
            continue
        if path.is_symlink():
            raise BundleError("a symbolic link; a bundle holds regular files only", file=str(path),
                              fix="replace it by the file it points to, or remove it")
        if not path.is_file():
            continue
        name = f"{prefix}/{rel}"
        if (why := check_name(name)) is not None:
            raise BundleError(f"this file's name cannot go in a bundle ({why})", file=str(path), fix="rename it")
        data = path.read_bytes()
        if PRIVATE_PEM_MARKER in data:
            raise BundleError("holds a private key; a private key never goes into a bundle", file=str(path),
                              fix="move the key out of the folder, and treat it as exposed if others saw the folder")
        files[name] = data
    return files


def _run_folders(source: Path) -> tuple[str, list[Path]]:
    if (source / "run.json").is_file():
        return "run", [source]
    if (source / "evaluation.json").is_file():
        return "evaluation", sorted(p.parent for p in source.rglob("run.json"))
    raise BundleError("neither a run folder (run.json) nor an evaluation folder (evaluation.json)",
                      file=str(source), fix="give a folder `conformance run` or `conformance evaluate` created")


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = loads_strict(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        fix = "score it first: `conformance report RUN_DIR`" if path.name == "scorecard.json" else "bundle another"
        raise BundleError("missing", file=str(path), fix=fix) from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"unreadable: {exc}", file=str(path), fix="this folder cannot be bundled") from None
    if not isinstance(data, dict):
        raise BundleError("not a JSON object", file=str(path), fix="this folder cannot be bundled")
    return data


def _profile_folder(meta: dict[str, Any], run_json: Path) -> Path:
    """The profile folder whose digest is the one the run recorded: where it ran from, else an installed copy."""
    try:
        pid, pversion, digest = meta["profile"]["id"], meta["profile"]["version"], meta["profile"]["digest"]
    except (KeyError, TypeError):
        raise BundleError("run.json names no profile id, version and digest", file=str(run_json),
                          fix="this folder cannot be bundled") from None
    candidates = [Path(str(meta["profile"].get("path") or ""))]
    candidates += [e.path for e in find_profiles() if e.id == pid and e.version == pversion]
    for folder in candidates:
        if (folder / "profile.yaml").is_file() and profile_digest(folder) == digest:
            return folder
    raise BundleError(f"no profile folder of {pid}@{pversion} with the digest this run recorded ({digest}): it "
                      "changed or is not here", file=str(run_json), key="profile.digest",
                      fix="bundle on the machine that ran it, with the profile exactly as it ran")


@dataclass(frozen=True)
class BundleSummary:
    path: Path
    kind: str
    files: int
    signers: tuple[str, ...]


def make_bundle(source: Path, out: Path, keys: list[SigningKey]) -> BundleSummary:
    """Bundle a run or evaluation folder into `out`, signed by each key."""
    source = source.absolute()
    kind, run_folders = _run_folders(source)
    files = _files_of(source, kind)
    runs: list[dict[str, Any]] = []
    profiles: dict[str, str] = {}  # bundle path -> digest
    for folder in run_folders:
        meta = _read_json(folder / "run.json")
        scorecard = _read_json(folder / "scorecard.json")
        profile_dir = _profile_folder(meta, folder / "run.json")
        where = f"profiles/{meta['profile']['id']}/{meta['profile']['version']}"
        if profiles.setdefault(where, meta["profile"]["digest"]) != meta["profile"]["digest"]:
            raise BundleError(f"two runs measured against different contents of {where}", file=str(folder),
                              fix="bundle each run on its own")
        files.update(_files_of(profile_dir, where, skip_caches=True))
        path = kind if folder == source else f"{kind}/{folder.relative_to(source).as_posix()}"
        runs.append({"path": path, "profile": {"id": meta["profile"]["id"], "version": meta["profile"]["version"],
                                               "digest": meta["profile"]["digest"], "path": where},
                     "target": public_target(dict(meta.get("target") or {})), "seed": meta.get("seed"),
                     "tier": meta.get("tier"), "status": meta.get("status"),
                     "harness_version": (meta.get("harness") or {}).get("version"),
                     "verdict": scorecard.get("verdict"), "score": scorecard.get("score")})
    if not runs:
        raise BundleError("holds no run (no run.json below it)", file=str(source), fix="bundle a finished evaluation")
    manifest = {"format": FORMAT, "kind": kind, "bundled_with": _versions(),
                "runs": [{"path": r["path"], "profile": r["profile"]["path"]} for r in runs],
                "files": {name: hashlib.sha256(data).hexdigest() for name, data in sorted(files.items())}}
    files[MANIFEST_FILE] = canonical_json(manifest)
    predicate: dict[str, Any] = {"kind": kind, "bundled_with": manifest["bundled_with"]}
    if kind == "run":
        predicate.update({k: v for k, v in runs[0].items() if k != "path"}, path=runs[0]["path"])
    else:
        evaluation = _read_json(source / "evaluation.json")
        tender = evaluation.get("tender") or {}
        predicate["evaluation"] = {"tender": {"id": tender.get("id"), "digest": tender.get("digest")},
                                   "seed": evaluation.get("seed"), "status": evaluation.get("status")}
        predicate["runs"] = runs
    statement = {"_type": STATEMENT_TYPE, "predicateType": PREDICATE_TYPE, "predicate": predicate,
                 "subject": [{"name": name, "digest": {"sha256": hashlib.sha256(data).hexdigest()}}
                             for name, data in sorted(files.items())]}
    payload = canonical_json(statement)
    envelope: dict[str, Any] = {"payload": b64encode(payload), "payloadType": PAYLOAD_TYPE, "signatures": []}
    _write(out, files, envelope, keys, payload)
    return BundleSummary(out, kind, len(files), tuple(k.key_id for k in keys))


def _write(out: Path, files: dict[str, bytes], envelope: dict[str, Any], keys: list[SigningKey],
           payload: bytes, public_keys: dict[str, bytes] | None = None) -> None:
    public_keys = dict(public_keys or {})
    signatures = list(envelope["signatures"])
    for key in keys:
        if any(s.get("keyid") == key.key_id for s in signatures):
            continue  # signing twice with one key adds nothing
        signatures.append({"keyid": key.key_id, "sig": b64encode(key.sign(pae(PAYLOAD_TYPE, payload)))})
        public_keys[key.key_id] = key.public.pem()
    envelope = {**envelope, "signatures": signatures}
    entries: dict[str, bytes | Path] = dict(files)
    entries[ENVELOPE_FILE] = canonical_json(envelope)
    for key_id, pem in public_keys.items():
        entries[f"{KEYS_FOLDER}/{key_id}.pub.pem"] = pem
    write_archive(out, entries.items())


@dataclass(frozen=True)
class BundleContents:
    """An extracted bundle: its folder, each file's SHA-256 as read, the envelope and the statement in it."""

    root: Path
    digests: dict[str, str]
    envelope: dict[str, Any]
    payload: bytes
    statement: dict[str, Any]

    @property
    def subjects(self) -> dict[str, str]:
        found = {}
        listed = self.statement.get("subject")
        for subject in listed if isinstance(listed, list) else []:
            if isinstance(subject, dict) and isinstance(subject.get("digest"), dict):
                found[str(subject.get("name"))] = str(subject["digest"].get("sha256"))
        return found

    @property
    def predicate(self) -> dict[str, Any]:
        predicate = self.statement.get("predicate")
        return predicate if isinstance(predicate, dict) else {}

    def runs(self) -> list[dict[str, Any]]:
        predicate = self.predicate
        runs = predicate.get("runs") if predicate.get("kind") == "evaluation" else [predicate]
        return [r for r in runs if isinstance(r, dict)] if isinstance(runs, list) else []


def open_bundle(path: Path, dest: Path, limits: Limits | None = None) -> BundleContents:
    """Extract a bundle safely into `dest` and parse its envelope; `BundleError` if it is not a well-formed one."""
    digests = read_archive(path, dest, limits)
    where = f"{path}:{ENVELOPE_FILE}"
    fix = "ask the sender for the bundle again; this one cannot be trusted"
    if ENVELOPE_FILE not in digests:
        raise BundleError(f"no {ENVELOPE_FILE}: not an evidence bundle", file=str(path), fix=fix)
    raw = (dest / ENVELOPE_FILE).read_bytes()
    try:
        envelope = loads_strict(raw)
    except ValueError:
        raise BundleError("not JSON", file=where, fix=fix) from None
    if not isinstance(envelope, dict) or canonical_json(envelope) != raw:
        raise BundleError("not in the canonical form a bundle's envelope has", file=where, fix=fix)
    if set(envelope) != {"payload", "payloadType", "signatures"} or envelope["payloadType"] != PAYLOAD_TYPE \
            or not isinstance(envelope["signatures"], list) or not isinstance(envelope["payload"], str):
        raise BundleError(f"not a DSSE envelope of {PAYLOAD_TYPE}", file=where, fix=fix)
    payload = b64decode_canonical(envelope["payload"])
    if payload is None:
        raise BundleError("its payload is not canonical base64", file=where, fix=fix)
    try:
        statement = loads_strict(payload)
    except ValueError:
        raise BundleError("its payload is not JSON", file=where, fix=fix) from None
    if not isinstance(statement, dict) or canonical_json(statement) != payload \
            or statement.get("_type") != STATEMENT_TYPE or statement.get("predicateType") != PREDICATE_TYPE:
        raise BundleError(f"its payload is not a canonical in-toto Statement v1 of {PREDICATE_TYPE}", file=where,
                          fix=fix)
    return BundleContents(dest, digests, envelope, payload, statement)


def add_signature(path: Path, key: SigningKey, limits: Limits | None = None) -> tuple[str, ...]:
    """Co-sign a bundle in place (the buyer's or inspector's signature beside the supplier's). The files must
    still match the statement: a tampered bundle is never co-signed. Returns every signer's key id."""
    with tempfile.TemporaryDirectory(prefix="conformance-bundle-") as tmp:
        contents = open_bundle(path, Path(tmp), limits)
        subjects = contents.subjects
        files = {name: (contents.root / name).read_bytes() for name in contents.digests
                 if name != ENVELOPE_FILE and not name.startswith(f"{KEYS_FOLDER}/")}
        wrong = sorted(set(files) ^ set(subjects)) + sorted(
            n for n in files if n in subjects and hashlib.sha256(files[n]).hexdigest() != subjects[n])
        if wrong:
            raise BundleError(f"its files do not match its statement ({', '.join(wrong[:3])}...): not co-signed",
                              file=str(path), fix="run `conformance verify` on it; ask the sender for it again")
        public_keys = {name.removeprefix(f"{KEYS_FOLDER}/").removesuffix(".pub.pem"): (contents.root / name)
                       .read_bytes() for name in contents.digests if name.startswith(f"{KEYS_FOLDER}/")}
        _write(path, files, contents.envelope, [key], contents.payload, public_keys)
        return tuple([s.get("keyid") for s in contents.envelope["signatures"]] + [key.key_id])
