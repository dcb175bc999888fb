"""Reporters: text renderings of a scorecard or a comparison (HTML, Markdown, JUnit, CSV, terminal), each a
function of the same dict; `files.py` lists which files are written (adding a format is one entry)."""
