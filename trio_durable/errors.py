"""The one error hierarchy of trio-durable, rooted at ``DurableExecutionError``.

Workflow-facing errors (a failed step, callback or child context) carry the
recorded ``error_type``, ``error_data`` and original stack trace, and convert to
and from the wire ``ErrorObject`` so they survive a round trip through a
checkpoint. ``ServiceError`` is what the durable execution service (AWS's or the
local one) answers with; its ``code`` is the modeled AWS error name.
"""

from __future__ import annotations

import traceback
from typing import ClassVar, Self

from trio_durable.wire import ErrorObject, fit_error


class DurableExecutionError(Exception):
    """Base of every error trio-durable raises."""

    def __init__(
        self,
        message: str = "",
        *,
        error_type: str | None = None,
        error_data: str | None = None,
        stack_trace: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.error_type = error_type or type(self).__name__
        self.error_data = error_data
        self.stack_trace = stack_trace

    def to_error_object(self) -> ErrorObject:
        return ErrorObject(
            message=self.message,
            type=self.error_type,
            data=self.error_data,
            stack_trace=self.stack_trace,
        )

    @classmethod
    def from_error_object(cls, error: ErrorObject | None) -> Self:
        """Rebuild this class from a recorded ``ErrorObject``."""
        error = error or ErrorObject()
        return cls(
            error.message or "",
            error_type=error.type,
            error_data=error.data,
            stack_trace=error.stack_trace,
        )


# --- configuration and programming errors ------------------------------------


class ValidationError(DurableExecutionError, ValueError):
    """An invalid configuration or argument, caught before anything is recorded."""


class PluginLoadError(ValidationError):
    """The plugins a handler is given, or ``DURABLE_EXECUTION_PLUGINS`` selects,
    cannot be registered (named in the message); raised when it is decorated."""


class SerializationError(DurableExecutionError):
    """A value could not be serialized or deserialized; never retried."""


class NonDeterministicExecutionError(DurableExecutionError):
    """Replay found a recorded operation that differs from what the code asks for."""


# --- failures of durable operations --------------------------------------------


class StepError(DurableExecutionError):
    """A step failed for good (retries exhausted or not retryable)."""


class StepInterruptedError(StepError):
    """An at-most-once step was found STARTED on replay: its attempt was cut short."""


class ChildContextError(DurableExecutionError):
    """A child context's body failed."""


class InvokeError(DurableExecutionError):
    """A chained invoke's target execution failed, timed out or was stopped.

    ``error_type``, ``error_data`` and ``stack_trace`` are the target's, as recorded.
    """


class WaitForConditionError(DurableExecutionError):
    """A wait_for_condition failed for good: its check raised, or its wait
    strategy ran out of attempts before the condition was met."""


class CallbackError(DurableExecutionError):
    """Base of callback failures; carries the service-allocated ``callback_id``."""

    def __init__(
        self,
        message: str = "",
        *,
        callback_id: str | None = None,
        error_type: str | None = None,
        error_data: str | None = None,
        stack_trace: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__(
            message, error_type=error_type, error_data=error_data, stack_trace=stack_trace
        )
        self.callback_id = callback_id


class CallbackFailedError(CallbackError):
    """The external system reported failure (SendDurableExecutionCallbackFailure)."""


class CallbackTimeoutError(CallbackError):
    """The callback's timeout or heartbeat timeout elapsed."""


class CallbackSubmitterError(CallbackError):
    """The submitter of ``wait_for_callback`` failed after its retries."""


# --- the service's answers ------------------------------------------------------


class ServiceError(DurableExecutionError):
    """An error answered by the durable execution service.

    ``code`` is the modeled error name (``InvalidParameterValueException``...),
    ``http_status`` the status the HTTP API answers with.
    """

    HTTP_STATUS: ClassVar[dict[str, int]] = {
        "InvalidParameterValueException": 400,
        "ResourceNotFoundException": 404,
        "ResourceConflictException": 409,
        "CallbackTimeoutException": 400,
        "DurableExecutionAlreadyStartedException": 409,
        "RequestTooLargeException": 413,
        "TooManyRequestsException": 429,
        "ServiceException": 500,
    }
    RETRYABLE: ClassVar[frozenset[str]] = frozenset(
        {"TooManyRequestsException", "ServiceException"}
    )

    def __init__(self, code: str, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message, error_type=code)
        self.code = code
        self.http_status = http_status or self.HTTP_STATUS.get(code, 400)

    @property
    def retryable(self) -> bool:
        """Throttling and server-side failures are worth retrying."""
        return self.code in self.RETRYABLE or self.http_status >= 500

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class StoreError(ServiceError):
    """The service could not read or write its state file (disk full, I/O error,
    a read-only or damaged file). A failed write changed nothing: the request
    may be retried, and the service retries its own writes until they succeed."""

    def __init__(self, message: str) -> None:
        super().__init__("ServiceException", message)


def invalid_parameter(message: str) -> ServiceError:
    return ServiceError("InvalidParameterValueException", message)


def not_found(message: str) -> ServiceError:
    return ServiceError("ResourceNotFoundException", message)


def conflict(message: str) -> ServiceError:
    """The resource is in a state that does not allow the request."""
    return ServiceError("ResourceConflictException", message)


def error_object_from_exception(exc: BaseException) -> ErrorObject:
    """The ``ErrorObject`` recorded for an exception raised by user code, cut to
    the service's size limit (``wire.fit_error``)."""
    if isinstance(exc, DurableExecutionError):
        stack = exc.stack_trace
        if stack is None:
            stack = _format_stack(exc)
        error = ErrorObject(
            message=exc.message, type=exc.error_type, data=exc.error_data, stack_trace=stack
        )
    else:
        error = ErrorObject(
            message=str(exc), type=type(exc).__name__, stack_trace=_format_stack(exc)
        )
    return fit_error(error)


def _format_stack(exc: BaseException) -> tuple[str, ...]:
    return tuple(
        line.rstrip("\n") for line in traceback.format_exception(type(exc), exc, exc.__traceback__)
    )
