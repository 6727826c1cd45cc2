"""Benchmarks: `python -m benchmarks.run` (the side-by-side run) and focused single scripts."""
