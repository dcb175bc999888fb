"""`conformance profiles bundle`, `profiles lint` and `run` as a user runs them on a profile whose interface refers to a
standard body's site (issue #21, item 1), on a machine without network access: each missing document is one located
line with the fix (exit 2, no traceback); saved into the reference cache, it bundles offline and lints clean."""

from __future__ import annotations

from pathlib import Path

from conformance.inputs.references import cache_path
from tests.conftest import conformance
from tests.unit.test_profiles import make_profile

SITE = "https://standards.example/std/1.0"  # never reached: nothing here may fetch
INTERFACE = f"""\
openapi: 3.1.0
info: {{title: mini, version: 1.0.0}}
paths:
  /health:
    get:
      operationId: health
      responses:
        "200":
          description: ok
          content: {{application/json: {{schema: {{$ref: "{SITE}/health.yaml#/Health"}}}}}}
"""


def test_bundle_offline_from_the_cache_then_lint_is_clean(tmp_path: Path) -> None:
    folder = make_profile(tmp_path, openapi=INTERFACE)
    env = {"CONFORMANCE_CACHE_DIR": str(tmp_path / "cache")}
    cached = cache_path(tmp_path / "cache", f"{SITE}/health.yaml")

    lint = conformance("profiles", "lint", str(folder), env=env)
    assert lint.returncode == 2 and "Traceback" not in lint.stderr
    assert f"refers to the remote document {SITE}/health.yaml" in lint.stderr
    assert f"save the document as {cached}" in " ".join(lint.stderr.split())

    run = conformance("run", str(folder), "--target", "http://127.0.0.1:9", "--runs-dir", str(tmp_path / "runs"),
                      env=env)
    assert run.returncode == 2 and "Traceback" not in run.stderr  # stops before anything runs, naming the fix
    assert "conformance profiles bundle" in run.stderr and not (tmp_path / "runs").exists()

    missing = conformance("profiles", "bundle", str(folder), "--offline", env=env)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr
    assert f"{SITE}/health.yaml is not in the reference cache" in " ".join(missing.stderr.split())

    cached.parent.mkdir(parents=True)
    cached.write_text("Health: {type: object, required: [status], properties: {status: {type: string}}}\n")
    bundled = conformance("profiles", "bundle", str(folder), "--offline", env=env)
    assert bundled.returncode == 0, bundled.stderr
    assert "cache" in bundled.stdout and (folder / "openapi.bundled.yaml").is_file()
    clean = conformance("profiles", "lint", str(folder), env=env)
    assert clean.returncode == 0, clean.stderr
    assert clean.stdout.strip().endswith(": ok")
