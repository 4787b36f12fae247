"""Testing durable workflows: run them to the end on an embedded local service."""

from trio_durable.testing.runner import (
    CallbackInfo,
    DurableTestRunner,
    ExecutionResult,
    RunningExecution,
)

__all__ = ["CallbackInfo", "DurableTestRunner", "ExecutionResult", "RunningExecution"]
