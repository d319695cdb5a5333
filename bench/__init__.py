"""Benchmarks of issue #9: `make bench` / `python -m bench.run`. Never imported by the product."""
