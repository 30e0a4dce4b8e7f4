"""Helpers shared by the tests and the benchmark (not installed with the product)."""
