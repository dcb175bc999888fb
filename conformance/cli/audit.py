"""The inspector's commands: `conformance keys new`, `conformance bundle` (and `bundle sign`), `conformance verify`.

Exit codes: 0 done / verified (and replayed without differences); 1 the bundle did not verify, or the replay
differs; 2 usage (a missing file, a bad key, a folder that cannot be bundled). Registered by conformance/cli/main.py
through `COMMANDS`. Heavy imports (cryptography, the engine) happen inside the commands.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape

__all__ = ["COMMANDS"]

console = Console(highlight=False, emoji=False)
VERIFIED, NOT_VERIFIED = 0, 1


@click.group()
def keys() -> None:
    """Signing keys for evidence bundles (Ed25519, PEM)."""


@keys.command("new")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Folder for conformance-signing.key (private, mode 0600) and conformance-signing.pub.")
def keys_new(out_dir: Path) -> None:
    """Write a new key pair; the private key never leaves its file."""
    from conformance.audit.signing import new_key_pair

    private, public, key_id = new_key_pair(out_dir)
    console.print(f"key id {key_id}\nprivate key: {escape(str(private))} (keep it; mode 0600)\n"
                  f"public key:  {escape(str(public))} (give it to whoever verifies your bundles)")


class _BundleGroup(click.Group):
    """`conformance bundle SOURCE -o FILE` and `conformance bundle sign BUNDLE`: a first argument that is not a
    subcommand is the folder to bundle."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["create", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_BundleGroup)
def bundle() -> None:
    """Bundle a run or an evaluation into one signed archive (`bundle RUN_DIR|EVALUATION_DIR -o FILE --key KEY`),
    or co-sign a bundle (`bundle sign BUNDLE --key KEY`)."""


@bundle.command("create")
@click.argument("source", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("-o", "--out", "out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="The bundle to write (.tar.gz).")
@click.option("--key", "key_files", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A private key to sign with (repeatable); see `conformance keys new`.")
def bundle_create(source: Path, out: Path, key_files: tuple[Path, ...]) -> None:
    """Bundle SOURCE (a run or evaluation folder) into OUT."""
    from conformance.audit.bundle import make_bundle
    from conformance.audit.signing import load_signing_key

    signing = [load_signing_key(path) for path in key_files]
    summary = make_bundle(source, out, signing)
    console.print(f"bundle {escape(str(summary.path))}: {summary.kind}, {summary.files} files, signed by "
                  f"{', '.join(summary.signers) or 'nobody yet (add a signature with `conformance bundle sign`)'}")


@bundle.command("sign")
@click.argument("bundle_file", metavar="BUNDLE", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--key", "key_file", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="Your private key: a co-signature beside the existing ones.")
def bundle_sign(bundle_file: Path, key_file: Path) -> None:
    """Add a signature to BUNDLE (a buyer's or inspector's), if its files still match its statement."""
    from conformance.audit.bundle import add_signature
    from conformance.audit.signing import load_signing_key

    signers = add_signature(bundle_file, load_signing_key(key_file))
    console.print(f"bundle {escape(str(bundle_file))}: signed by {', '.join(dict.fromkeys(signers))}")


@click.command()
@click.argument("bundle_file", metavar="BUNDLE", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@click.option("--trusted-key", "trusted_keys", multiple=True, type=click.Path(path_type=Path, dir_okay=False),
              help="A signer's public key you trust (repeatable).")
@click.option("--allow-untrusted", is_flag=True,
              help="Accept valid signatures by keys you did not give (their public keys come in the bundle).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path, file_okay=False),
              help="Extract the bundle here (an empty or new folder) and write verification.json and, per run, "
                   "report.verified.html.")
@click.option("--json", "as_json", is_flag=True, help="Print the verification as JSON.")
@click.option("--replay", is_flag=True, help="Then run the bundled profile, seed and tier against --target and "
                                             "compare outcomes and request fingerprints.")
@click.option("--target", "-t", "target", metavar="URL|FILE#NAME", help="The system to replay against.")
@click.option("--run", "run_path", metavar="PATH", help="Which run of an evaluation bundle to replay.")
@click.option("--runs-dir", type=click.Path(path_type=Path), default=Path("runs"), show_default=True,
              help="Where the replay's run directory is created.")
def verify(bundle_file: Path, trusted_keys: tuple[Path, ...], allow_untrusted: bool, out_dir: Path | None,
           as_json: bool, replay: bool, target: str | None, run_path: str | None, runs_dir: Path) -> None:
    """Verify BUNDLE offline: digests, signatures, profile digests, claims, and a re-score of the results.

    Exit 0 verified (and, with --replay, every outcome reproduced), 1 not verified or the replay differs, 2 usage.
    """
    from conformance.audit.signing import load_public_key
    from conformance.audit.verify import verify_bundle, write_verification
    from conformance.errors import UsageError

    if replay != (target is not None):
        raise UsageError("--replay and --target go together: conformance verify BUNDLE --replay --target URL")
    trusted = [load_public_key(path) for path in trusted_keys]
    with tempfile.TemporaryDirectory(prefix="conformance-verify-") as tmp:
        dest = Path(tmp)
        if out_dir is not None:
            if out_dir.exists() and any(out_dir.iterdir()):
                raise UsageError(f"--out {out_dir}: not empty; give a new or empty folder")
            out_dir.mkdir(parents=True, exist_ok=True)
            dest = out_dir
        result = verify_bundle(bundle_file, dest, trusted=trusted, allow_untrusted=allow_untrusted)
        written = write_verification(result, out_dir) if out_dir is not None else None
        if as_json:
            click.echo(json.dumps(result.to_dict(), indent=2))
        else:
            for check in result.checks:
                mark = "[green]holds[/]" if check.holds else "[red]FAILS[/]"
                console.print(f"{mark}  {escape(check.name)}: {escape(check.detail)}")
            for run in result.runs:
                if run.get("validity"):
                    where, text = escape(str(run.get("path"))), escape(run["validity"]["text"])
                    console.print(f"validity today of {where}: {text}")
            console.print("[bold green]verified[/]" if result.verified else "[bold red]NOT verified[/]")
            if written is not None:
                console.print(f"verification: {escape(str(written))}")
        if not result.verified:
            sys.exit(NOT_VERIFIED)
        if replay:
            assert target is not None and result.contents is not None
            sys.exit(_replay(result.contents, target, runs_dir, run_path))
    sys.exit(VERIFIED)


def _replay(contents: object, target: str, runs_dir: Path, run_path: str | None) -> int:
    from conformance.audit.bundle import BundleContents
    from conformance.audit.replay import replay_run
    from conformance.reporters.terminal import TerminalListener

    assert isinstance(contents, BundleContents)
    with TerminalListener(console) as listener:
        done = replay_run(contents, target, runs_dir=runs_dir, listener=listener, run_path=run_path)
    console.print(f"replay of {escape(done.run_path)}: {done.compared} requirement(s) compared; run directory "
                  f"{escape(str(done.outcome.run_dir.path))}")
    for diff in done.differences:
        console.print(f"[red]differs[/]  {diff.requirement_id}: {diff.what}: recorded {escape(diff.recorded)}, "
                      f"replayed {escape(diff.replayed)}")
    if done.differences:
        console.print(f"[bold red]{len(done.differences)} difference(s)[/]")
        return NOT_VERIFIED
    console.print("[bold green]every outcome reproduced[/]")
    return VERIFIED


COMMANDS = (keys, bundle, verify)
