"""Benchmarks: `python -m bench [--quick] [--json FILE]` measures the speed targets of issue 7 side by side
with their anchors in one run. Prints figures; asserts nothing."""
