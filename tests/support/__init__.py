"""Helpers shared by the tests and the benchmarks: hostile inputs, harnesses, clients."""
