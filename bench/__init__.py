"""Benchmarks of trio-durable against AWS's Python SDK and its local runner (issue 6).

Run ``python -m bench [--quick] [--json PATH]`` from the repository root.
Nothing is imported here, so that ``bench.child`` starts from a bare interpreter.
"""
