"""Mutated input files (issue #15, item 4): hundreds of seeded mutations of a real profile, scenario, tender and
targets file. Each loads or is refused with a located usage error, in well under a second: never another
exception, never a hang."""

from __future__ import annotations

import random
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.errors import UsageError
from conformance.inputs.profiles import load_profile
from conformance.inputs.scenarios import load_scenario
from conformance.inputs.targets import parse_target
from conformance.inputs.tender import load_tender

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "profiles" / "pole-records" / "1.0.0"
TARGETS = """targets:
  acme:
    base_url: http://127.0.0.1:9
    supplier: Acme Ltd
    headers: {X-Tenant: north}
    timeout_s: 10
    reset: {request: POST /reset}
"""
SNIPPETS = [".nan", "-.inf", "!!python/name:os.system", "!!binary aGk=", "*nowhere", "&a [*a]", "2020-13-45",
            "{", "[", "'", "\x1b[31m", "\x00", ":100:", "x" * 5000, "1" * 5000, "[" * 200, "? [a]\n  : b", "@",
            "{env: HOME}", "- - -", "~", "0x1F", "1e999", "!!set {a, b}", "<<: *x"]


def mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    kind = rng.randrange(6)
    at = rng.randrange(len(lines))
    if kind == 0:  # a value replaced
        head = lines[at].split(":", 1)[0]
        lines[at] = f"{head}: {rng.choice(SNIPPETS)}"
    elif kind == 1:  # a line duplicated or deleted
        if rng.random() < 0.5:
            lines.insert(at, lines[at])
        else:
            del lines[at]
    elif kind == 2:  # indentation broken
        lines[at] = " " * rng.randrange(1, 5) + lines[at]
    elif kind == 3:  # a snippet spliced into a line
        cut = rng.randrange(len(lines[at]) + 1)
        lines[at] = lines[at][:cut] + rng.choice(SNIPPETS) + lines[at][cut:]
    elif kind == 4:  # a billion laughs appended
        bomb = ['lol0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
        bomb += [f"lol{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * 9) + "]" for i in range(1, 9)]
        lines += bomb
    else:  # characters flipped
        chars = list("\n".join(lines))
        for _ in range(rng.randrange(1, 4)):
            chars[rng.randrange(len(chars))] = chr(rng.randrange(1, 0x250))
        return "".join(chars)
    return "\n".join(lines) + "\n"


def survive(load: Callable[[], object]) -> None:
    started = time.monotonic()
    try:
        load()
    except UsageError as exc:
        assert str(exc).strip(), "an empty message"
    assert time.monotonic() - started < 2.0


@pytest.mark.parametrize("seed", range(5))
def test_mutated_targets_tenders_and_scenarios(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    tender = (ROOT / "examples" / "demo-tender.yaml").read_text(encoding="utf-8")
    scenario_dir = PROFILE / "scenarios"
    scenarios = sorted(scenario_dir.glob("*.yaml"))
    for n in range(20):
        targets = tmp_path / f"targets{n}.yaml"
        targets.write_text(mutate(TARGETS, rng), encoding="utf-8")
        survive(lambda targets=targets: parse_target(f"{targets}#acme").request_headers())  # type: ignore[misc]
        tender_file = tmp_path / f"tender{n}.yaml"
        tender_file.write_text(mutate(tender, rng), encoding="utf-8")
        survive(lambda tender_file=tender_file: load_tender(tender_file))  # type: ignore[misc]
        source = rng.choice(scenarios)
        scenario = tmp_path / f"scenario{n}.yaml"
        scenario.write_text(mutate(source.read_text(encoding="utf-8"), rng), encoding="utf-8")
        survive(lambda scenario=scenario: load_scenario(scenario, datasets=PROFILE / "datasets"))  # type: ignore[misc]


def test_mutated_profiles(tmp_path: Path) -> None:
    rng = random.Random(15)
    folder = tmp_path / "pole-records" / "1.0.0"
    shutil.copytree(PROFILE, folder)
    original = (PROFILE / "profile.yaml").read_text(encoding="utf-8")
    for _ in range(40):
        (folder / "profile.yaml").write_text(mutate(original, rng), encoding="utf-8")
        survive(lambda: load_profile(folder))
