"""What a supplier uses to certify itself in its own CI: regression diffs between two runs (diff.py), baselines of
accepted failures (baseline.py) and badges. Sits at the procurement/audit level: it reads run directories, scorecards
and bundles, and computes nothing the scoring does not already publish."""
