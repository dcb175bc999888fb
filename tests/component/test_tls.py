"""Mutual TLS: the harness trusts the supplier's CA and presents its own client certificate; a supplier
that requires one refuses the harness without it, and that is an error, never a pass."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import SEED, conformance, only_run_dir, reference
from tests.e2e.test_cli_e2e import result_of

pytestmark = pytest.mark.skipif(shutil.which("openssl") is None,
                                reason="needs the openssl command (.ci/run installs it)")


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


def issue(name: str, usage: str, cwd: Path) -> None:
    """A P-256 key and a certificate for it, signed by the test CA."""
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key",
            "-out", f"{name}.csr", "-subj", f"/CN={name}", cwd=cwd)
    (cwd / f"{name}.ext").write_text(f"subjectAltName=IP:127.0.0.1\nextendedKeyUsage={usage}\n")
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext", cwd=cwd)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cwd = tmp_path_factory.mktemp("pki")
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=conformance test CA", cwd=cwd)
    issue("server", "serverAuth", cwd)
    issue("harness", "clientAuth", cwd)
    return cwd


def test_mutual_tls_target(pki: Path, tmp_path: Path) -> None:
    extra = ["--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
             "--tls-client-ca", str(pki / "ca.pem")]
    with reference(extra=extra) as url:
        assert url.startswith("https://")
        targets = tmp_path / "targets.yaml"
        targets.write_text(
            f"targets:\n  mtls:\n    base_url: {url}\n"
            f"    tls: {{ca: {pki / 'ca.pem'}, client_cert: {pki / 'harness.pem'}, "
            f"client_key: {pki / 'harness.key'}}}\n"
            f"  no-client-cert:\n    base_url: {url}\n    tls: {{ca: {pki / 'ca.pem'}}}\n")
        runs = tmp_path / "runs"
        proc = conformance("run", "pole-records", "--target", f"{targets}#mtls", "--seed", SEED,
                           "--runs-dir", str(runs), "--only", "POLE-IF-006")
        result = result_of(only_run_dir(runs), "POLE-IF-006")
        assert result["outcome"] == "pass", (result, proc.stdout, proc.stderr)
        refused = tmp_path / "refused"
        proc = conformance("run", "pole-records", "--target", f"{targets}#no-client-cert", "--seed", SEED,
                           "--runs-dir", str(refused), "--only", "POLE-IF-006")
        assert proc.returncode == 3
        assert result_of(only_run_dir(refused), "POLE-IF-006")["outcome"] == "error"


def test_missing_certificate_file_is_a_located_error(tmp_path: Path) -> None:
    targets = tmp_path / "targets.yaml"
    targets.write_text("targets:\n  x:\n    base_url: https://127.0.0.1:9\n    tls: {ca: nowhere.pem}\n")
    proc = conformance("run", "pole-records", "--target", f"{targets}#x")
    assert proc.returncode == 2
    assert "targets.yaml:4: targets.x.tls.ca: ca: no file" in proc.stderr.replace("\n", "")


# In a subprocess: the generator's transport is gevent's (loadtests/transport.py), as it runs under locust.
LOAD_TRANSPORT = """
import json, sys
from loadtests.transport import Transport
url, ca, cert, key = sys.argv[1:5]
seen = []
for tls in ({"ca": ca, "client_cert": cert, "client_key": key}, {"ca": ca}, None):
    try:
        status = Transport(url, concurrency=1, timeout_s=5, headers={}, tls=tls).send("GET", "/code-lists")[0]
    except Exception as exc:
        status = type(exc).__name__
    seen.append(status)
print(json.dumps(seen))
"""


def test_the_load_generator_reaches_a_mutual_tls_target_with_the_targets_certificates(pki: Path) -> None:
    """A load reaches an HTTPS target the way the other checks do: the target's CA and the harness's client
    certificate from the targets file (conformance/runners/load.py hands their paths to the generator). Without
    the client certificate the handshake is refused; without the CA the certificate is not trusted."""
    import json
    import sys

    from conformance.engine.processes import run_command

    extra = ["--tls-cert", str(pki / "server.pem"), "--tls-key", str(pki / "server.key"),
             "--tls-client-ca", str(pki / "ca.pem")]
    with reference(extra=extra) as url:
        proc = run_command([sys.executable, "-c", LOAD_TRANSPORT, url, str(pki / "ca.pem"), str(pki / "harness.pem"),
                            str(pki / "harness.key")], timeout=60, cwd=Path(__file__).resolve().parents[2])
    assert proc.returncode == 0, proc.stderr
    with_cert, without_cert, without_ca = json.loads(proc.stdout)
    assert with_cert == 200
    assert without_cert != 200 and without_ca != 200, (without_cert, without_ca)

