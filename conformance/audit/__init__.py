"""Evidence an inspector can verify without trusting us (docs/reference/bundle-format.md).

    signing.py  Ed25519 keys (PEM), key ids, DSSE pre-authentication encoding: the one user of `cryptography`
    archive.py  the canonical tar.gz, written deterministically and read as hostile input (bounded, no traversal)
    bundle.py   make a bundle from a run or evaluation folder (manifest, in-toto Statement v1, DSSE envelope),
                co-sign one, open one
    verify.py   offline verification: digests, signatures, profile digests, claims, re-score
    replay.py   run the bundled profile, seed and tier against a system and compare outcomes and fingerprints

Sits at the procurement level: it uses session (scoring a run, starting a replay), scoring, inputs and engine.
"""
