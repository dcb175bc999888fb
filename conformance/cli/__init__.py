"""The command line: `conformance ...` (the front end; it computes nothing itself)."""

from conformance.cli.main import main

__all__ = ["main"]
