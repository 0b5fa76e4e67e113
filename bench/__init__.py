"""Benchmarks: each module prints its figures and exposes main() -> rows for `make bench`'s table."""
