"""Governing the standards themselves: what changed between two versions of a profile (`diff`), whether the
version number says so (`semver`). Reads profiles through `conformance.inputs`; pure otherwise (no network)."""
