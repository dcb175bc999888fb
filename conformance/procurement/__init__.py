"""Procurement: a tender evaluated over several candidates (each started, run and scored, then every ordered pair
on the peer requirements), and comparisons collected from existing runs."""
