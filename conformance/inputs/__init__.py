"""Inputs: files -> the frozen model. Profiles (with their digest and Python checks), scenarios, targets, tenders,
the one OpenAPI reader and YAML with the line of every key. No network, no run state; every problem is a located
UsageError naming file, line, key and the fix."""
