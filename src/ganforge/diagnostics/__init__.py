"""Diagnostics: live failure probes during training (live.py) and the report of a run (report.py)."""
