"""Benchmarks of casewatch (run as scripts, e.g. ``python bench/record.py``)."""
