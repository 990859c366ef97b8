"""Confer benchmarks: `python -m bench --help`.

Benchmarks are programs, not tests: they print figures and write a JSON record under
bench/results/, and assert nothing. Each one starts its own server on 127.0.0.1 with its own
temporary database, is bounded in time and size, and stops every process it started.
"""
