"""Stress tests of trio-durable: concurrent checkpoint flushes, injected faults, crashes.

Run ``python -m stress [--quick]`` from the repository root.
"""
