"""The sans-IO core of the local durable execution service.

``Engine`` (``core``) keeps executions, their operations and their append-only
histories, validates and applies checkpoints, allocates callbacks, and tracks
timers and invocations as data: no Trio, no I/O but the ``Store`` it writes
through, and time from the clock function it is given (epoch seconds).

The async shell (``local/service.py``) asks ``next_timer_due``/``fire_due_timers``
for timers and ``take_invocations``/``finish_invocation`` for invocations.

What lives here, one module per thing (as ``trio_durable/operations/``):

- ``core``: ``Engine``, each public method one atomic action;
- ``lifecycle``: creating, stopping, pausing, resuming, deleting and ending
  executions; ``invocations``: starting invocations and what the end of one means;
- ``step``, ``wait``, ``callback``, ``context``, ``chained_invoke``: one state
  machine per operation type; ``checkpoints`` validates a call's updates and hands
  each to its state machine;
- ``staging``: the memory of one execution and the changes an action stages;
  ``tables``: every execution and index in memory, and the one write path;
- ``timers``: the timer heap with lazy deletion; ``pages``: state pages and
  ``InvocationRequest``; ``views``: what the read-only calls answer;
  ``loading``: loading the store after a restart.

Who may import what: other modules import only what this ``__init__`` exports.
Inside, the operation state machines import only ``staging``; ``lifecycle``,
``invocations`` and ``core`` sit on top. Nothing here imports Trio or the service.
"""

from trio_durable.local.engine.core import (
    DEFAULT_RETENTION_DAYS,
    MAX_RETENTION_DAYS,
    Engine,
    EngineStatistics,
    StartedExecution,
)
from trio_durable.local.engine.lifecycle import (
    CRASH_ERROR_TYPE,
    NO_PROGRESS_ERROR_TYPE,
    RESTART_ERROR_TYPE,
)
from trio_durable.local.engine.pages import MAX_PAGE_BYTES, InvocationRequest
from trio_durable.local.engine.staging import PAUSED, PAUSING, TimerKind

__all__ = [
    "CRASH_ERROR_TYPE",
    "DEFAULT_RETENTION_DAYS",
    "MAX_PAGE_BYTES",
    "MAX_RETENTION_DAYS",
    "NO_PROGRESS_ERROR_TYPE",
    "PAUSED",
    "PAUSING",
    "RESTART_ERROR_TYPE",
    "Engine",
    "EngineStatistics",
    "InvocationRequest",
    "StartedExecution",
    "TimerKind",
]
