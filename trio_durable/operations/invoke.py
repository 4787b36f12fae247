"""The chained invoke operation: run another durable function and await its result.

The first run serializes the payload (refusing one over the service's limit
before anything is recorded), checkpoints CHAINED_INVOKE START with the target
function and tenant, and waits for the answer: the service starts the target's
execution and records its outcome on this operation when it ends. Until then
the task is parked, so the invocation suspends as it does for a wait.

Replay never invokes again: SUCCEEDED returns the recorded result, FAILED,
TIMED_OUT and STOPPED raise ``InvokeError`` built from the recorded error (the
same exception the first run raised), STARTED parks again.
"""

from __future__ import annotations

from typing import Any

from trio_durable.config import InvokeConfig, check_invoke_identifier
from trio_durable.errors import InvokeError, SerializationError, ValidationError
from trio_durable.operations.protocols import OperationScope
from trio_durable.runtime.state import ended
from trio_durable.wire import (
    MAX_OPERATION_PAYLOAD_BYTES,
    ErrorObject,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)

SUB_TYPE = "ChainedInvoke"


async def run_invoke(
    ctx: OperationScope,
    function_name: str,
    payload: Any,
    *,
    name: str | None,
    config: InvokeConfig | None,
) -> Any:
    """Invoke ``function_name`` with ``payload`` (see the module doc); its result."""
    check_invoke_identifier(function_name, "function_name")
    if config is None:
        config = InvokeConfig()
    elif not isinstance(config, InvokeConfig):
        raise ValidationError(f"config must be an InvokeConfig, got {type(config).__name__}")
    invocation = ctx.invocation
    op_id, recorded = ctx.next_operation(OperationType.CHAINED_INVOKE, SUB_TYPE, name)
    if recorded is None:
        serializer = config.payload_serializer or invocation.serializer
        text = serializer.serialize(payload)
        size = 0 if text is None else len(text.encode())
        if size > MAX_OPERATION_PAYLOAD_BYTES:
            raise SerializationError(
                f"the payload of invoke {name or function_name!r} is {size} bytes once "
                f"serialized; the service records at most {MAX_OPERATION_PAYLOAD_BYTES}"
            )
        trace_header = None
        if invocation.plugins is not None:
            info = ctx.plugin_info(op_id, OperationType.CHAINED_INVOKE, SUB_TYPE, name, None)
            trace_header = invocation.plugins.trace_header(info)
        await invocation.batcher.checkpoint(
            OperationUpdate(
                id=op_id,
                type=OperationType.CHAINED_INVOKE,
                action=OperationAction.START,
                parent_id=ctx.parent_id,
                name=name,
                sub_type=SUB_TYPE,
                payload=text,
                invoke_function_name=function_name,
                invoke_tenant_id=config.tenant_id,
                invoke_trace_header=trace_header,
            )
        )
    op = await invocation.state.wait_for(op_id, ended)
    if op.status is OperationStatus.SUCCEEDED:
        return (config.result_serializer or invocation.serializer).deserialize(op.result)
    error = op.error or ErrorObject(
        message=f"the invoked function's execution ended {op.status.value}"
    )
    raise InvokeError.from_error_object(error)
