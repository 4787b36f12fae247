"""Plugins: sync lifecycle hooks that observe a durable execution.

A ``Plugin`` overrides the hooks it needs; the runtime calls them, in the
order the plugins were registered, with frozen info objects:

- ``on_invocation_start`` before the workflow runs (``is_first_invocation`` is
  false when the service has recorded operations already: a replay), and
  ``on_invocation_end`` once the invocation's answer is final (``status`` is
  SUCCEEDED, FAILED, or PENDING for a suspension).
- ``on_operation_start`` when an operation starts in this invocation, or is
  resumed from an earlier invocation's unfinished record (``is_replayed``);
  ``on_operation_end`` when such an operation reaches its terminal status. An
  operation already terminal when the invocation began is replayed silently.
- ``on_attempt_start`` / ``on_attempt_end`` around each run of a step's (or a
  wait_for_condition check's) function, with its attempt number and outcome.

Hooks are sync and must not block: they run on the workflow's event loop. A
hook that raises is logged (naming the plugin and hook) and ignored: plugins
observe, they never change what is recorded or returned.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from trio_durable.errors import ValidationError
from trio_durable.wire import (
    ErrorObject,
    InvocationStatus,
    Operation,
    OperationStatus,
    OperationType,
)

PLUGIN_LOGGER = logging.getLogger("trio_durable.plugins")


@dataclass(frozen=True, slots=True)
class InvocationInfo:
    """The invocation a hook is about."""

    execution_arn: str
    is_first_invocation: bool


@dataclass(frozen=True, slots=True)
class InvocationEndInfo(InvocationInfo):
    """How the invocation ended: its answer's status (and error, when FAILED)."""

    status: InvocationStatus
    error: ErrorObject | None = None


@dataclass(frozen=True, slots=True)
class OperationInfo:
    """The operation a hook is about; ``is_replayed``: resumed from an earlier invocation."""

    execution_arn: str
    operation_id: str
    operation_type: OperationType
    sub_type: str | None
    name: str | None
    parent_id: str | None
    is_replayed: bool


@dataclass(frozen=True, slots=True)
class OperationEndInfo(OperationInfo):
    """An operation at its terminal status (and error, when it failed)."""

    status: OperationStatus
    error: ErrorObject | None = None


class AttemptOutcome(StrEnum):
    """How one run of a step's function ended."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass(frozen=True, slots=True)
class AttemptInfo(OperationInfo):
    """One run of a step's function: ``attempt`` counts from 1."""

    attempt: int


@dataclass(frozen=True, slots=True)
class AttemptEndInfo(AttemptInfo):
    """One run of a step's function, finished (``error`` when it raised)."""

    outcome: AttemptOutcome
    error: ErrorObject | None = None


class Plugin:
    """Base class of plugins: every hook is a no-op; override the ones you need."""

    def on_invocation_start(self, info: InvocationInfo) -> None:
        """Before the workflow runs in this invocation."""

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        """After the invocation's answer is final."""

    def on_operation_start(self, info: OperationInfo) -> None:
        """An operation starts, or is resumed from an earlier invocation."""

    def on_operation_end(self, info: OperationEndInfo) -> None:
        """An operation started or resumed in this invocation reached its terminal status."""

    def on_attempt_start(self, info: AttemptInfo) -> None:
        """A step's function (or a wait_for_condition check) is about to run."""

    def on_attempt_end(self, info: AttemptEndInfo) -> None:
        """A step's function (or a wait_for_condition check) returned or raised."""


class PluginRunner:
    """Calls one hook on every plugin, in order, isolating each plugin's failures.

    The runtime holds one only when plugins are registered, so an invocation
    without plugins pays one ``is None`` check per hook point.
    """

    __slots__ = ("_plugins",)

    def __init__(self, plugins: tuple[Plugin, ...]) -> None:
        self._plugins = plugins

    def operation_info(
        self,
        execution_arn: str,
        op_id: str,
        type: OperationType,
        sub_type: str | None,
        name: str | None,
        parent_id: str | None,
        recorded: Operation | None,
    ) -> OperationInfo | None:
        """The info of an operation this invocation starts or resumes; ``None`` for
        one already terminal (replayed silently, so it gets no hooks)."""
        if recorded is not None and recorded.status.is_terminal:
            return None
        return OperationInfo(
            execution_arn, op_id, type, sub_type, name, parent_id, recorded is not None
        )

    def operation_ended(
        self, info: OperationInfo | None, status: OperationStatus, error: ErrorObject | None = None
    ) -> None:
        """``on_operation_end`` for an operation that got ``on_operation_start``."""
        if info is not None:
            self.emit(
                "on_operation_end", OperationEndInfo(**_fields(info), status=status, error=error)
            )

    def attempt_started(self, info: OperationInfo | None, attempt: int) -> None:
        """``on_attempt_start`` before a step's function runs."""
        if info is not None:
            self.emit("on_attempt_start", AttemptInfo(**_fields(info), attempt=attempt))

    def attempt_ended(
        self, info: OperationInfo | None, attempt: int, error: ErrorObject | None
    ) -> None:
        """``on_attempt_end``: FAILED with ``error`` when the function raised."""
        if info is not None:
            outcome = AttemptOutcome.SUCCEEDED if error is None else AttemptOutcome.FAILED
            self.emit(
                "on_attempt_end",
                AttemptEndInfo(**_fields(info), attempt=attempt, outcome=outcome, error=error),
            )

    def emit(self, hook: str, info: InvocationInfo | OperationInfo) -> None:
        """Call ``plugin.<hook>(info)`` for each plugin; log and ignore what raises."""
        for plugin in self._plugins:
            try:
                getattr(plugin, hook)(info)
            except Exception:
                PLUGIN_LOGGER.exception(
                    "plugin %s raised in %s (ignored)",
                    type(plugin).__name__,
                    hook,
                    extra={"execution_arn": info.execution_arn},
                )


def _fields(info: OperationInfo) -> dict[str, Any]:
    """The ``OperationInfo`` fields of ``info``, to build a more specific info."""
    return {field.name: getattr(info, field.name) for field in fields(OperationInfo)}


def plugin_runner(plugins: Iterable[Plugin] | None) -> PluginRunner | None:
    """A runner for ``plugins`` (validated), or ``None`` when there are none."""
    if plugins is None:
        return None
    if isinstance(plugins, Plugin) or not isinstance(plugins, Iterable):
        raise ValidationError("plugins must be a list of Plugin instances")
    checked = tuple(plugins)
    for plugin in checked:
        if not isinstance(plugin, Plugin):
            raise ValidationError(
                f"plugins must be Plugin instances, got {type(plugin).__name__}"
                + (" (a class: pass an instance)" if isinstance(plugin, type) else "")
            )
    return PluginRunner(checked) if checked else None
