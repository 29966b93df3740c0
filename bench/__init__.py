"""Benchmarks: each prints a comparison measured in the same run and writes JSON results."""
