"""Benchmarks: `python -m bench [--quick] [--json FILE]` measures each speed target beside its anchor in one
run. Prints figures; asserts nothing. Not installed with the product."""
