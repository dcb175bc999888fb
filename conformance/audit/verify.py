"""Verify an evidence bundle offline: nothing here opens a socket or runs any code from the bundle.

Checks, in order (each one a `Check` that holds or not, with what was seen):
1. the archive is readable, canonical and within bounds (else nothing else is looked at);
2. the envelope is a DSSE envelope holding an in-toto Statement v1 of our predicate type;
3. every file is a subject of the statement with that SHA-256, and every subject is there;
4. manifest.json lists the same files with the same digests;
5. every signature is valid over the statement, by a key that is trusted (`--trusted-key`), or allowed untrusted;
6. each run's profile folder, hashed here, has the digest the run recorded (and the statement states);
7. the statement's claims (profile, seed, tier, verdict, score) are what the files say;
8. the bundled results, re-scored here with the bundled profile (its requirements; its Python checks are not
   imported), give exactly the recorded scorecard.
Checks 6-8 are only made when the files match the statement (3): re-scoring altered files proves nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.audit.archive import Limits, check_name
from conformance.audit.bundle import (
    ENVELOPE_FILE,
    KEYS_FOLDER,
    MANIFEST_FILE,
    BundleContents,
    open_bundle,
    public_target,
)
from conformance.audit.signing import PublicKey, b64decode_canonical, pae, public_key_from_pem
from conformance.engine.files import loads_strict
from conformance.engine.rundir import RunDir
from conformance.errors import ConformanceError
from conformance.inputs.profiles import load_profile, profile_digest
from conformance.session.execute import scorecard_of

__all__ = ["VERIFICATION_FILE", "Check", "Signer", "Verification", "verify_bundle", "write_verification"]


@dataclass(frozen=True)
class Check:
    name: str
    holds: bool
    detail: str


@dataclass(frozen=True)
class Signer:
    key_id: str
    valid: bool
    trusted: bool


@dataclass
class Verification:
    bundle: str
    checks: list[Check] = field(default_factory=list)
    signers: list[Signer] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    contents: BundleContents | None = None

    @property
    def verified(self) -> bool:
        return bool(self.checks) and all(c.holds for c in self.checks)

    def add(self, name: str, holds: bool, detail: str) -> bool:
        self.checks.append(Check(name, holds, detail))
        return holds

    def to_dict(self) -> dict[str, Any]:
        return {"bundle": self.bundle, "verified": self.verified,
                "checks": [{"name": c.name, "holds": c.holds, "detail": c.detail} for c in self.checks],
                "signers": [{"key_id": s.key_id, "valid": s.valid, "trusted": s.trusted} for s in self.signers],
                "runs": self.runs}


def verify_bundle(path: Path, dest: Path, *, trusted: list[PublicKey], allow_untrusted: bool = False,
                  limits: Limits | None = None) -> Verification:
    """Extract `path` into the empty folder `dest` and verify it. Never raises for a bad bundle: the failed
    check says what is wrong."""
    result = Verification(str(path))
    try:
        contents = open_bundle(path, dest, limits)
    except ConformanceError as exc:
        result.add("archive and envelope", False, str(exc))
        return result
    result.contents = contents
    result.add("archive and envelope", True, f"{len(contents.digests)} files, canonical tar.gz; a DSSE envelope "
               "holding an in-toto Statement v1")
    files_hold = _files(result, contents)
    _signatures(result, contents, trusted, allow_untrusted)
    if files_hold:
        _runs(result, contents)
    else:
        result.add("profile digests, claims and re-score", False, "not attempted: the files do not match the statement")
    return result


def _files(result: Verification, contents: BundleContents) -> bool:
    subjects = contents.subjects
    files = {n: d for n, d in contents.digests.items() if n != ENVELOPE_FILE and not n.startswith(f"{KEYS_FOLDER}/")}
    missing, extra = sorted(set(subjects) - set(files)), sorted(set(files) - set(subjects))
    changed = sorted(n for n in set(files) & set(subjects) if files[n] != subjects[n])
    problems = [f"{label}: {', '.join(names[:5])}{' ...' if len(names) > 5 else ''}"
                for label, names in (("changed", changed), ("missing", missing), ("not in the statement", extra))
                if names]
    ok = result.add("file digests", not problems,
                    "; ".join(problems) or f"all {len(files)} files have the SHA-256 the statement names")
    try:
        manifest = loads_strict((contents.root / MANIFEST_FILE).read_text(encoding="utf-8"))
        listed = dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError):
        return result.add("manifest", False, f"{MANIFEST_FILE} is missing or unreadable") and False
    expected = {n: d for n, d in files.items() if n != MANIFEST_FILE}
    return result.add("manifest", listed == expected,
                      f"{MANIFEST_FILE} lists every file with its digest" if listed == expected
                      else f"{MANIFEST_FILE} disagrees with the files") and ok


def _signatures(result: Verification, contents: BundleContents, trusted: list[PublicKey],
                allow_untrusted: bool) -> None:
    by_id = {k.key_id: k for k in trusted}
    signatures = contents.envelope["signatures"]
    if not signatures:
        result.add("signatures", False, "the bundle is not signed; sign it with `conformance bundle sign`")
        return
    message = pae(contents.envelope["payloadType"], contents.payload)
    seen: set[str] = set()
    for entry in signatures:
        key_id = str(entry.get("keyid")) if isinstance(entry, dict) else "?"
        sig = b64decode_canonical(str(entry.get("sig"))) if isinstance(entry, dict) else None
        key = by_id.get(key_id) or _bundled_key(contents, key_id)
        name = f"signature {key_id[:16]}"
        if not isinstance(entry, dict) or set(entry) != {"keyid", "sig"} or key_id in seen:
            result.add(name, False, "malformed or repeated signature entry")
            continue
        seen.add(key_id)
        if key is None:
            result.signers.append(Signer(key_id, False, False))
            result.add(name, False, "unknown key: no public key with this id is trusted or in the bundle")
            continue
        valid = sig is not None and key.verifies(sig, message)
        is_trusted = key_id in by_id
        result.signers.append(Signer(key_id, valid, is_trusted))
        if not valid:
            result.add(name, False, "INVALID: the signature does not match the statement")
        elif is_trusted:
            result.add(name, True, "valid, by a trusted key")
        else:
            result.add(name, allow_untrusted, "valid, by an UNTRUSTED key (its public key came in the bundle)"
                       + ("; allowed by --allow-untrusted" if allow_untrusted else "; trust it with --trusted-key"))
    signed_by = {str(e.get("keyid")) for e in signatures if isinstance(e, dict)}
    for name in sorted(n for n in contents.digests if n.startswith(f"{KEYS_FOLDER}/")):
        key_id = name.removeprefix(f"{KEYS_FOLDER}/").removesuffix(".pub.pem")
        if key_id not in signed_by or _bundled_key(contents, key_id) is None:
            result.add(f"bundled key {key_id[:16]}", False, f"{name} is not the canonical public key of a signer")
    if not trusted and not allow_untrusted:
        result.add("trusted keys", False, "no --trusted-key given: who signed cannot be established "
                                          "(give the signers' public keys, or --allow-untrusted)")


def _bundled_key(contents: BundleContents, key_id: str) -> PublicKey | None:
    name = f"{KEYS_FOLDER}/{key_id}.pub.pem"
    if name not in contents.digests:
        return None
    key = public_key_from_pem((contents.root / name).read_bytes())
    # the file's name is only a hint: the key counts only if it is the key the id names
    return key if key is not None and key.key_id == key_id and key.pem() == (contents.root / name).read_bytes() \
        else None


def _runs(result: Verification, contents: BundleContents) -> None:
    runs = contents.runs()
    if not runs:
        result.add("runs", False, "the statement names no run")
    for claim in runs:
        path = str(claim.get("path") or "")
        run_folder = contents.root / path
        profile_info = claim.get("profile") if isinstance(claim.get("profile"), dict) else {}
        assert isinstance(profile_info, dict)
        profile_folder = contents.root / str(profile_info.get("path") or "")
        entry: dict[str, Any] = {"path": path, "profile": profile_info, "seed": claim.get("seed"),
                                 "tier": claim.get("tier"), "verdict": claim.get("verdict"),
                                 "score": claim.get("score")}
        result.runs.append(entry)
        if check_name(path):
            result.add(f"{path[:40]!r}: run", False, "the statement names a run outside the bundle")
            continue
        try:
            run = RunDir.open(run_folder)
            recorded = loads_strict((run_folder / "scorecard.json").read_text(encoding="utf-8"))
        except (ConformanceError, OSError, ValueError) as exc:
            result.add(f"{path}: run", False, f"unreadable: {exc}")
            continue
        meta = run.meta  # RunDir.open refused a run.json without the keys and types a run writes
        if not isinstance(recorded, dict):
            result.add(f"{path}: run", False, "scorecard.json is not the object a run writes")
            continue
        if check_name(str(profile_info.get("path") or "")) or not (profile_folder / "profile.yaml").is_file():
            result.add(f"{path}: profile digest", False, f"no profile folder at {profile_info.get('path')}")
            continue
        digest = profile_digest(profile_folder)
        recorded_digest = meta.profile.get("digest")
        same = digest == recorded_digest == profile_info.get("digest")
        result.add(f"{path}: profile digest", same,
                   f"{profile_info.get('path')} hashes to {digest}" + ("" if same else
                   f", but the run recorded {recorded_digest} and the statement {profile_info.get('digest')}"))
        claims = {"profile id": (profile_info.get("id"), meta.profile.get("id")),
                  "profile version": (profile_info.get("version"), meta.profile.get("version")),
                  "seed": (claim.get("seed"), meta.seed), "tier": (claim.get("tier"), meta.tier),
                  "target": (claim.get("target"), public_target(dict(meta.target))),
                  "verdict": (claim.get("verdict"), recorded.get("verdict")),
                  "score": (claim.get("score"), recorded.get("score"))}
        wrong = [f"{k} (statement {a!r}, files {b!r})" for k, (a, b) in claims.items() if a != b]
        result.add(f"{path}: claims", not wrong, "; ".join(wrong) or
                   f"{profile_info.get('id')}@{profile_info.get('version')}, seed {meta.seed}, tier "
                   f"{meta.tier}: {recorded.get('verdict')}, score {recorded.get('score')}")
        if not same:
            result.add(f"{path}: re-score", False, "not attempted: the profile is not the one that ran")
            continue
        _rescore(result, path, run, profile_folder, recorded)


def _without_validity(card: dict[str, Any]) -> dict[str, Any]:
    profile = card.get("profile")
    if not isinstance(profile, dict):
        return card
    return {**card, "profile": {k: v for k, v in profile.items() if k != "validity"}}


def _rescore(result: Verification, path: str, run: RunDir, profile_folder: Path, recorded: dict[str, Any]) -> None:
    try:
        profile = load_profile(profile_folder, import_checks=False)
        # What the result is worth today, by the bundled version's lifecycle (information, not a check: a result
        # against a retired version is still the result it was)
        result.runs[-1]["validity"] = profile.governance.validity(dt.date.today()).to_dict()
        again = json.loads(json.dumps(scorecard_of(run, profile)))
    except (ConformanceError, KeyError, TypeError, ValueError) as exc:
        result.add(f"{path}: re-score", False, f"could not re-score: {exc}")
        return
    # A profile version's validity is stated as of the day a scorecard is written (it changes as the version is
    # deprecated or retired), so it is not part of what a re-score must reproduce.
    again, recorded = _without_validity(again), _without_validity(recorded)
    differ = sorted(k for k in set(again) | set(recorded) if again.get(k) != recorded.get(k))
    if differ and "requirements" in differ:
        rows = {r["id"]: r for r in recorded.get("requirements") or [] if isinstance(r, dict)}
        ids = [r["id"] for r in again["requirements"] if rows.get(r["id"]) != r]
        differ[differ.index("requirements")] = f"requirements ({', '.join(ids[:5])})"
    result.add(f"{path}: re-score", not differ,
               f"re-scored here: {again['verdict']}, score {again['score']}, the same as the recorded scorecard"
               if not differ else f"the recorded scorecard differs from the re-score in: {', '.join(differ)}")


VERIFICATION_FILE = "verification.json"
VERIFIED_REPORT = "report.verified.html"


def write_verification(result: Verification, out: Path) -> Path:
    """verification.json in `out` (the extracted bundle), and beside each run's report.html a
    report.verified.html: the same report with a "Verified evidence" section (who signed, what held, the profile
    digest), when the bundle verified. The bundled files themselves are left as they were signed."""
    from conformance.engine.files import utc_now, write_json_atomic, write_text_atomic
    from conformance.reporters.html import render_html

    data = {**result.to_dict(), "verified_at": utc_now()}
    path = write_json_atomic(out / VERIFICATION_FILE, data)
    if result.verified:
        for run in result.runs:
            folder = out / str(run["path"])
            try:
                scorecard = loads_strict((folder / "scorecard.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            exchanges = sorted(f"exchanges/{p.name}" for p in (folder / "exchanges").glob("*.jsonl"))
            write_text_atomic(folder / VERIFIED_REPORT,
                              render_html(scorecard, verification={**data, "exchanges": exchanges}))
    return path
