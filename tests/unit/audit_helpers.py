"""A synthetic run folder for the bundle tests (no process, no socket): a copy of the shipped pole-records profile,
a handful of results and exchanges, and the scorecard the harness computes from them. Also what an attacker
would do with our own code: re-archive changed files, re-state them, re-sign them."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from conformance.audit.archive import read_archive
from conformance.audit.bundle import (
    ENVELOPE_FILE,
    KEYS_FOLDER,
    MANIFEST_FILE,
    PAYLOAD_TYPE,
    _write,
    canonical_json,
)
from conformance.audit.signing import SigningKey, b64encode
from conformance.engine.rundir import RunDir, RunMeta
from conformance.inputs.profiles import load_profile
from conformance.model import Finding, Outcome, Result
from conformance.session.execute import rescore

ROOT = Path(__file__).resolve().parents[2]


def make_run(tmp: Path) -> Path:
    """A finished run of pole-records 1.0.0 (a copy of the profile under tmp) with a pass, a fail and skips."""
    profile_dir = tmp / "profiles" / "pole-records" / "1.0.0"
    shutil.copytree(ROOT / "profiles" / "pole-records" / "1.0.0", profile_dir,
                    ignore=shutil.ignore_patterns("__pycache__"))
    profile = load_profile(profile_dir, import_checks=False)
    meta = {"harness": {"name": "conformance-harness", "version": "0.1.0"},
            "profile": {"id": profile.id, "version": profile.version, "digest": profile.digest,
                        "path": str(profile_dir)},
            "target": {"name": "acme", "base_url": "http://user:secret@127.0.0.1:9/", "source": "targets.yaml#acme",
                       "supplier": "Acme Ltd", "product": "Records", "product_version": "2.1", "auth": None,
                       "reset": None, "tls": None, "claims": None},
            "seed": 42, "tier": "quick", "budget_s": None, "only": [], "skip": [],
            "started_at": "2026-12-01T10:00:00.000Z", "finished_at": "2026-12-01T10:01:00.000Z",
            "status": "finished", "resumed_at": [], "scoring": {}, "load": {}, "systems_given": {}}
    run = RunDir.create(tmp / "runs", RunMeta.from_dict(meta, file="run.json"), supplier="Acme Ltd",
                        profile_id=profile.id)
    for index, req in enumerate(profile.requirements):
        if req.planned:
            continue
        if index == 0:
            result = Result(req.id, Outcome.PASS, measurements={"request_sequence_sha256": "ab" * 32})
        elif index == 1:
            result = Result(req.id, Outcome.FAIL, reason="rejected a valid record",
                            findings=(Finding(requirement_id=req.id, check="status", title="valid record rejected",
                                              message="422 for a minimum record"),))
        else:
            result = Result(req.id, Outcome.SKIPPED, reason="not selected by --only")
        run.append_result(result)
        with run.open_exchanges(req.id) as fh:
            fh.write(json.dumps({"seq": 1, "request": {"method": "GET", "url": f"/x/{index}"},
                                 "response": {"status": 200}}) + "\n")
    (run.path / "load").mkdir()
    (run.path / "load" / "timeline.csv").write_text("t,rate\n0,1\n", encoding="utf-8")
    rescore(run, profile)
    (run.path / "report.html").write_text("<html>report</html>\n", encoding="utf-8")
    return run.path


def extract(bundle: Path, dest: Path) -> dict[str, bytes]:
    read_archive(bundle, dest)
    return {p.relative_to(dest).as_posix(): p.read_bytes() for p in sorted(dest.rglob("*")) if p.is_file()}


def restate(files: dict[str, bytes], out: Path, keys: list[SigningKey], *,
            keep_signatures_of: dict[str, Any] | None = None) -> None:
    """Write `files` as a bundle with a fresh manifest and statement (same predicate), as someone would who
    changed them and re-hashed everything: signed by `keys`, and carrying the old envelope's signatures if
    `keep_signatures_of` is given (an edit by someone without the key)."""
    old_envelope = json.loads(files[ENVELOPE_FILE])
    old_statement = json.loads(base64.b64decode(old_envelope["payload"]))
    content = {n: d for n, d in files.items()
               if n not in (ENVELOPE_FILE, MANIFEST_FILE) and not n.startswith(f"{KEYS_FOLDER}/")}
    manifest = json.loads(files[MANIFEST_FILE])
    manifest["files"] = {n: hashlib.sha256(d).hexdigest() for n, d in sorted(content.items())}
    content[MANIFEST_FILE] = canonical_json(manifest)
    statement = {**old_statement, "subject": [{"name": n, "digest": {"sha256": hashlib.sha256(d).hexdigest()}}
                                              for n, d in sorted(content.items())]}
    payload = canonical_json(statement)
    signatures = list(keep_signatures_of["signatures"]) if keep_signatures_of else []
    envelope = {"payload": b64encode(payload), "payloadType": PAYLOAD_TYPE, "signatures": signatures}
    old_keys = {n.removeprefix(f"{KEYS_FOLDER}/").removesuffix(".pub.pem"): d for n, d in files.items()
                if n.startswith(f"{KEYS_FOLDER}/")} if keep_signatures_of else {}
    _write(out, content, envelope, keys, payload, old_keys)
