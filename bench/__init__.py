"""Benchmarks for the support bot; see bench/README.md."""
