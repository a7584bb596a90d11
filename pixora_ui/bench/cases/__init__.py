"""Benchmark cases: each module exposes `bench_cases() -> list[BenchCase]`."""
