"""trio-durable: durable-execution SDK for AWS Lambda durable functions, on Trio."""

from trio_durable.config import (
    CallbackConfig,
    ChildConfig,
    CompletionConfig,
    InvokeConfig,
    Jitter,
    MapConfig,
    NestingMode,
    ParallelConfig,
    RetryPresets,
    RetryStrategy,
    StepConfig,
    StepSemantics,
    WaitForCallbackConfig,
    WaitForConditionConfig,
    WaitStrategy,
)
from trio_durable.errors import (
    CallbackError,
    CallbackFailedError,
    CallbackSubmitterError,
    CallbackTimeoutError,
    ChildContextError,
    DurableExecutionError,
    InvokeError,
    NonDeterministicExecutionError,
    SerializationError,
    ServiceError,
    StepError,
    StepInterruptedError,
    ValidationError,
    WaitForConditionError,
)
from trio_durable.operations.batch import (
    BatchItem,
    BatchItemStatus,
    BatchResult,
    CompletionReason,
)
from trio_durable.operations.callback import Callback
from trio_durable.operations.parallel import ParallelBranch
from trio_durable.runtime.context import DurableContext
from trio_durable.runtime.entrypoint import DurableHandler, durable_execution
from trio_durable.runtime.logger import DurableLogger
from trio_durable.runtime.step_context import StepContext, WaitForCallbackContext
from trio_durable.serialization import JsonSerializer, Serializer

__all__ = [
    "BatchItem",
    "BatchItemStatus",
    "BatchResult",
    "Callback",
    "CallbackConfig",
    "CallbackError",
    "CallbackFailedError",
    "CallbackSubmitterError",
    "CallbackTimeoutError",
    "ChildConfig",
    "ChildContextError",
    "CompletionConfig",
    "CompletionReason",
    "DurableContext",
    "DurableExecutionError",
    "DurableHandler",
    "DurableLogger",
    "InvokeConfig",
    "InvokeError",
    "Jitter",
    "JsonSerializer",
    "MapConfig",
    "NestingMode",
    "NonDeterministicExecutionError",
    "ParallelBranch",
    "ParallelConfig",
    "RetryPresets",
    "RetryStrategy",
    "SerializationError",
    "Serializer",
    "ServiceError",
    "StepConfig",
    "StepContext",
    "StepError",
    "StepInterruptedError",
    "StepSemantics",
    "ValidationError",
    "WaitForCallbackConfig",
    "WaitForCallbackContext",
    "WaitForConditionConfig",
    "WaitForConditionError",
    "WaitStrategy",
    "durable_execution",
]
