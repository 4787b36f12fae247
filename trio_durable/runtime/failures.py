"""Errors rebuilt from recorded ``ErrorObject``s, the same way on first run and replay.

An operation that fails records an ``ErrorObject`` and then raises the error
rebuilt from that record, exactly as a later replay will, so user code sees
the same exception class and fields either way.

Callback errors that leave a wait_for_callback child context keep their class
through the context's FAILED record: the record's ``ErrorType`` is the class
name and ``ErrorData`` a small JSON envelope with the callback id and the
original error type and data.
"""

from __future__ import annotations

import orjson

from trio_durable.errors import (
    CallbackError,
    CallbackFailedError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    DurableExecutionError,
    SerializationError,
    StepInterruptedError,
    error_object_from_exception,
)
from trio_durable.wire import ErrorObject, fit_error

# Recorded error types that rebuild as their own class rather than the default.
_OWN_CLASS: dict[str, type[DurableExecutionError]] = {
    "SerializationError": SerializationError,
    "StepInterruptedError": StepInterruptedError,
}

_CALLBACK_CLASSES: dict[str, type[CallbackError]] = {
    cls.__name__: cls for cls in (CallbackFailedError, CallbackTimeoutError, CallbackSubmitterError)
}


def rebuild(
    error: ErrorObject | None, default: type[DurableExecutionError]
) -> DurableExecutionError:
    """The exception a recorded failure raises: ``default``, or one of our own classes."""
    cls = _OWN_CLASS.get(error.type or "", default) if error is not None else default
    return cls.from_error_object(error)


def encode_callback_failure(exc: BaseException) -> ErrorObject:
    """The record of a wait_for_callback failure, keeping a callback error's class."""
    if not isinstance(exc, CallbackError) or type(exc).__name__ not in _CALLBACK_CLASSES:
        return error_object_from_exception(exc)
    recorded = error_object_from_exception(exc)
    envelope = {
        "CallbackId": exc.callback_id,
        "ErrorType": exc.error_type,
        "ErrorData": exc.error_data,
    }
    return fit_error(
        ErrorObject(
            message=recorded.message,
            type=type(exc).__name__,
            data=orjson.dumps(envelope).decode(),
            stack_trace=recorded.stack_trace,
        )
    )


def decode_callback_failure(
    error: ErrorObject | None, default: type[DurableExecutionError]
) -> DurableExecutionError:
    """The exception a recorded wait_for_callback failure raises (see the module doc)."""
    cls = _CALLBACK_CLASSES.get(error.type or "") if error is not None else None
    if error is None or cls is None:
        return rebuild(error, default)
    try:
        envelope = orjson.loads(error.data or "")
    except orjson.JSONDecodeError:
        envelope = None
    if not isinstance(envelope, dict):
        return cls(error.message or "", error_type=error.type, stack_trace=error.stack_trace)
    return cls(
        error.message or "",
        callback_id=envelope.get("CallbackId"),
        error_type=envelope.get("ErrorType") or error.type,
        error_data=envelope.get("ErrorData"),
        stack_trace=error.stack_trace,
    )
