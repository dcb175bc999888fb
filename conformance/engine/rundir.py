"""The run directory: everything one run measured, written as it is measured.

    runs/<UTC timestamp>-<supplier>-<profile>/
        run.json          harness version, profile id/version/digest, target (no secrets), seed, tier, times
        results.jsonl     one result per finished requirement, appended and fsynced as each finishes
        exchanges/ID.jsonl  every HTTP exchange made for requirement ID, secrets redacted
        scorecard.json    written at the end (and again after a resume)

A crash or Ctrl-C loses nothing already appended; `resume` re-runs only what has no result.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from conformance.engine.files import loads_strict, write_json_atomic
from conformance.engine.runmeta import RunMeta
from conformance.errors import RunDirError
from conformance.model import Result

__all__ = ["RunDir", "RunMeta"]

RUN_FILE = "run.json"
RESULTS_FILE = "results.jsonl"
SCORECARD_FILE = "scorecard.json"
EXCHANGES_DIR = "exchanges"



def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40] or "target"



class RunDir:
    """One run's directory. Create with `RunDir.create`, reopen with `RunDir.open` (for --resume)."""

    def __init__(self, path: Path, meta: RunMeta) -> None:
        self.path = path
        self.meta = meta

    @classmethod
    def create(cls, parent: Path, meta: RunMeta, *, supplier: str, profile_id: str) -> RunDir:
        parent = parent.absolute()  # handed to child processes that run in other folders (the load generator)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        base = f"{stamp}-{_slug(supplier)}-{profile_id}"
        try:
            parent.mkdir(parents=True, exist_ok=True)
            for n in range(1000):
                path = parent / (base if n == 0 else f"{base}-{n}")
                try:
                    path.mkdir()
                    break
                except FileExistsError:
                    continue
            (path / EXCHANGES_DIR).mkdir()
        except OSError as exc:
            raise RunDirError(f"cannot create the run directory: {exc.strerror}", file=str(parent),
                              fix="choose a writable folder with --runs-dir") from None
        run = cls(path, replace(meta, run_id=path.name))
        run.save_meta()
        (path / RESULTS_FILE).touch()
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        path = path.absolute()
        meta_file = path / RUN_FILE
        try:
            data = loads_strict(meta_file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RunDirError("not a run directory (no run.json)", file=str(path),
                              fix="give the folder a previous `conformance run` created under runs/") from None
        except (OSError, ValueError) as exc:
            raise RunDirError(f"run.json is unreadable: {exc}", file=str(meta_file),
                              fix="the run cannot be resumed; start a new one") from None
        return cls(path, RunMeta.from_dict(data, file=str(meta_file)))

    def save_meta(self) -> None:
        write_json_atomic(self.path / RUN_FILE, self.meta.to_dict())

    def update_meta(self, **changes: Any) -> None:
        self.meta = replace(self.meta, **changes)
        self.save_meta()

    # results ---------------------------------------------------------------------------------------
    def append_result(self, result: Result) -> None:
        line = json.dumps(result.to_dict(), ensure_ascii=False)
        with (self.path / RESULTS_FILE).open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def results(self) -> tuple[list[Result], list[str]]:
        """The finished results (last one wins per requirement) and warnings about unreadable lines."""
        results: dict[str, Result] = {}
        warnings = []
        path = self.path / RESULTS_FILE
        if not path.exists():
            return [], []
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                result = Result.from_dict(loads_strict(line))
            except (ValueError, KeyError, TypeError):
                warnings.append(f"{path}:{number}: unreadable result line ignored (interrupted while writing?)")
                continue
            results[result.requirement_id] = result
        return list(results.values()), warnings

    # evidence --------------------------------------------------------------------------------------
    def exchanges_file(self, requirement_id: str) -> Path:
        return self.path / EXCHANGES_DIR / f"{requirement_id}.jsonl"

    def open_exchanges(self, requirement_id: str) -> IO[str]:
        """A fresh evidence file for one requirement (a re-run after resume replaces the partial one)."""
        return self.exchanges_file(requirement_id).open("w", encoding="utf-8")

    def write_scorecard(self, scorecard: Mapping[str, Any]) -> Path:
        path = self.path / SCORECARD_FILE
        write_json_atomic(path, scorecard)
        return path
