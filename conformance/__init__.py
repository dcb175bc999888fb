"""Conformance harness: test supplier systems against versioned operating-standard profiles."""

__version__ = "0.1.0"
