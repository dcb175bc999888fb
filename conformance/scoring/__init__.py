"""Scoring: pure functions from results to a scorecard (`scorecard.py`) and from scorecards to a comparison
(`compare.py`), with their published shapes (`shapes.py`). No I/O, no clock: callers say when."""
