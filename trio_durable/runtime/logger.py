"""The replay-aware workflow logger.

A ``logging``-compatible adapter that adds the execution ARN, operation id and
name, and attempt to every record (as ``extra`` fields), and drops records
while its context is replaying, so each line is logged once per execution,
not once per invocation.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

WORKFLOW_LOGGER_NAME = "trio_durable.workflow"
WORKFLOW_LOGGER = logging.getLogger(WORKFLOW_LOGGER_NAME)


def never_replaying() -> bool:
    """The replay source of loggers that always log (a step body really runs)."""
    return False


class DurableLogger(logging.LoggerAdapter[logging.Logger]):
    """A logger adapter with durable fields, silent while ``is_replaying()``."""

    def __init__(
        self,
        logger: logging.Logger,
        fields: Mapping[str, object],
        is_replaying: Callable[[], bool] = never_replaying,
    ) -> None:
        super().__init__(logger, dict(fields))
        self._is_replaying = is_replaying

    @property
    def fields(self) -> Mapping[str, object]:
        return self.extra or {}

    def isEnabledFor(self, level: int) -> bool:
        return not self._is_replaying() and self.logger.isEnabledFor(level)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**self.fields, **(kwargs.get("extra") or {})}
        return msg, kwargs

    def including_replay(self) -> DurableLogger:
        """This logger, logging while replaying too: to observe code that re-runs
        on every invocation (a child context rebuilt with ReplayChildren, say)."""
        return self.bind({}, is_replaying=never_replaying)

    def bind(
        self, fields: Mapping[str, object], is_replaying: Callable[[], bool] | None = None
    ) -> DurableLogger:
        """A logger with more fields (and, optionally, another replay source)."""
        return DurableLogger(
            self.logger,
            {**self.fields, **fields},
            self._is_replaying if is_replaying is None else is_replaying,
        )
