"""Testing durable workflows: run them to the end on an embedded local service
(``DurableTestRunner``), and check new code against recorded histories
(``replay``, ``HistoryFile``, ``export_history``)."""

from trio_durable.testing.history import HistoryFile, export_history
from trio_durable.testing.replay_check import Divergence, ReplayReport, replay
from trio_durable.testing.runner import (
    CallbackInfo,
    DurableTestRunner,
    ExecutionResult,
    RunningExecution,
)

__all__ = [
    "CallbackInfo",
    "Divergence",
    "DurableTestRunner",
    "ExecutionResult",
    "HistoryFile",
    "ReplayReport",
    "RunningExecution",
    "export_history",
    "replay",
]
