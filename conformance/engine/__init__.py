"""The engine room of a run: the run directory (run.json, results.jsonl, evidence), atomic writes and the
harness-error log, redaction of secrets, OAuth2 tokens, and the one launcher of child processes. Runners and the
session use it; it never decides a verdict."""
