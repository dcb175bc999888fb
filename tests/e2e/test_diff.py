"""`conformance diff` with the real command on two real short runs: the clean reference, then one that loses
concurrent updates (`lost-update`). The diff names POLE-REC-005 and exits 1; the same run against itself exits 0;
two profiles or a missing input exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import conformance, only_run_dir, reference

ONLY = ("--only", "POLE-REC-001", "--only", "POLE-REC-003", "--only", "POLE-REC-005")


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    tmp = tmp_path_factory.mktemp("diff")
    found = []
    for name, faults in (("clean", ()), ("lost", ("lost-update",))):
        with reference(*faults) as url:
            proc = conformance("run", "pole-records", "--target", url, "--seed", "1", "--runs-dir",
                               str(tmp / name), *ONLY)
        assert proc.returncode in (1, 3), proc.stderr
        found.append(only_run_dir(tmp / name))
    return found[0], found[1]


def test_diff_of_a_clean_and_a_lost_update_run_exits_1_naming_the_requirement(two_runs: tuple[Path, Path],
                                                                               tmp_path: Path) -> None:
    clean, lost = two_runs
    proc = conformance("diff", str(clean), str(lost))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "regression POLE-REC-005 pass -> fail" in proc.stdout
    md = conformance("diff", str(clean / "scorecard.json"), str(lost), "--format", "md", "-o", str(tmp_path / "d.md"))
    assert md.returncode == 1
    assert "- POLE-REC-005 pass -> fail" in md.stdout
    assert (tmp_path / "d.md").read_text(encoding="utf-8") == md.stdout
    back = conformance("diff", str(lost), str(clean))
    assert back.returncode == 0 and "no regression" in back.stdout


def test_diff_refuses_what_it_cannot_compare(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    clean, _ = two_runs
    missing = conformance("diff", str(clean), str(tmp_path / "nope"))
    assert missing.returncode == 2 and "no such file" in missing.stderr and "Traceback" not in missing.stderr
    other = tmp_path / "other.json"
    other.write_text((clean / "scorecard.json").read_text(encoding="utf-8").replace('"pole-records"', '"x"'),
                     encoding="utf-8")
    proc = conformance("diff", str(clean), str(other))
    assert proc.returncode == 2 and "different profiles" in proc.stderr


def test_diff_reads_a_signed_bundle_of_one_run(two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    clean, lost = two_runs
    assert conformance("keys", "new", "--out", str(tmp_path / "keys")).returncode == 0
    bundle = tmp_path / "lost.tar.gz"
    key = tmp_path / "keys" / "conformance-signing.key"
    made = conformance("bundle", str(lost), "-o", str(bundle), "--key", str(key))
    assert made.returncode == 0, made.stderr
    proc = conformance("diff", str(clean), str(bundle))
    assert proc.returncode == 1 and "regression POLE-REC-005 pass -> fail" in proc.stdout
