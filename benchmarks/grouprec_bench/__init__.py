"""Machinery behind ``benchmarks/run.py``: model registry, fold evaluation, reports."""
