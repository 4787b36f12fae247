"""``@durable_execution``: an async workflow as a Lambda handler.

``handler(event, lambda_context)`` is the plain sync Lambda entry: it runs the
invocation on a new event loop of the handler's ``backend`` (``"trio"``, the
default, or ``"asyncio"``). ``await handler.invoke(event, lambda_context,
client=...)`` runs it in the caller's own event loop, Trio or asyncio. The
service client is, in order: the one passed to ``invoke``, the one given to the
decorator (a ``ServiceClient`` or a boto3 ``lambda`` client), the Lambda
context's ``durable_client`` (the local service's invokers provide one), or a
boto3 client of its own: created on first use, or, in a Lambda function
(``AWS_LAMBDA_FUNCTION_NAME`` set), as the handler is decorated, which is
Lambda's init phase, so that the first invocation need not.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, overload

from trio_durable.batcher.client import ServiceClient
from trio_durable.errors import ValidationError
from trio_durable.payloads import as_type
from trio_durable.plugin_registry import Registered, plugin_registry
from trio_durable.runtime.context import DurableContext
from trio_durable.runtime.held import HeldWorkflow
from trio_durable.runtime.invocation import Workflow, run_invocation
from trio_durable.runtime.step_context import callable_traits
from trio_durable.serialization import DEFAULT_SERIALIZER, Serializer

if TYPE_CHECKING:
    from trio_durable.batcher.boto3_client import Boto3ServiceClient

BACKENDS = ("trio", "asyncio")
"""The event loops ``handler(event, lambda_context)`` can run an invocation on."""

LAMBDA_FUNCTION_VARIABLE = "AWS_LAMBDA_FUNCTION_NAME"
"""Set by Lambda in a function's environment."""


def as_service_client(client: Any) -> ServiceClient:
    """``client`` itself if it is a ``ServiceClient``; a boto3 client wrapped."""
    if isinstance(client, ServiceClient):
        return client
    if hasattr(client, "checkpoint_durable_execution"):
        from trio_durable.batcher.boto3_client import Boto3ServiceClient

        return Boto3ServiceClient(client)
    raise ValidationError(
        f"client must be a ServiceClient or a boto3 'lambda' client, got {type(client).__name__}"
    )


class DurableHandler:
    """A durable workflow as a Lambda handler (see the module doc)."""

    def __init__(
        self,
        workflow: Workflow,
        *,
        client: Any = None,
        serializer: Serializer | None = None,
        plugins: Iterable[Registered] | None = None,
        backend: str = "trio",
        input_type: Any = Any,
    ) -> None:
        if not callable_traits(workflow)[0]:
            raise ValidationError(
                "@durable_execution needs an async function: async def handler(event, ctx)"
            )
        if serializer is not None and not isinstance(serializer, Serializer):
            raise ValidationError("serializer must implement serialize/deserialize")
        if backend not in BACKENDS:
            raise ValidationError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.workflow = workflow
        self.backend = backend
        self._run: Workflow = workflow
        if input_type is not Any:

            async def typed(event: Any, ctx: DurableContext) -> Any:
                return await workflow(as_type(event, input_type, what="the event"), ctx)

            self._run = typed
        self.serializer = serializer or DEFAULT_SERIALIZER
        self._client = None if client is None else as_service_client(client)
        self._boto3: Boto3ServiceClient | None = None
        if self._client is None and os.environ.get(LAMBDA_FUNCTION_VARIABLE):
            # In a Lambda function this is its init phase: create the client now,
            # outside the first invocation.
            self._boto3_client().prepare()
        self._plugins = plugin_registry(plugins)
        functools.update_wrapper(self, workflow)

    def __call__(self, event: Mapping[str, Any], lambda_context: Any = None) -> dict[str, Any]:
        """The sync Lambda entry: run one invocation on a new loop of ``backend``."""
        if self.backend == "asyncio":
            import asyncio

            return asyncio.run(self.invoke(event, lambda_context))
        import trio

        return trio.run(functools.partial(self.invoke, event, lambda_context))

    async def invoke(
        self,
        event: Mapping[str, Any],
        lambda_context: Any = None,
        *,
        client: Any = None,
    ) -> dict[str, Any]:
        """Run one invocation in the caller's event loop; returns the handler's answer."""
        if client is None and self._client is None:
            client = getattr(lambda_context, "durable_client", None)
        if client is not None:
            service = as_service_client(client)
        else:
            service = self._client if self._client is not None else self._boto3_client()
        return await run_invocation(
            self._run,
            event,
            client=service,
            serializer=self.serializer,
            lambda_context=lambda_context,
            plugins=self._plugins,
        )

    def warm_refusal(self) -> str | None:
        """Why this handler cannot be held between invocations (``runtime/held.py``),
        or None: plugins and the asyncio backend assume every invocation replays."""
        if self._plugins is not None:
            return (
                "a handler with plugins cannot run warm: plugins' per-invocation hooks "
                "assume every invocation replays"
            )
        if self.backend != "trio":
            return f"a handler on the {self.backend} backend cannot run warm: warm runs on Trio"
        return None

    def hold(self, client: Any) -> HeldWorkflow:
        """A ``HeldWorkflow`` of this handler reaching the service through ``client``."""
        refusal = self.warm_refusal()
        if refusal is not None:
            raise ValidationError(refusal)
        return HeldWorkflow(self._run, client=as_service_client(client), serializer=self.serializer)

    def _boto3_client(self) -> Boto3ServiceClient:
        if self._boto3 is None:
            from trio_durable.batcher.boto3_client import Boto3ServiceClient

            self._boto3 = Boto3ServiceClient()
        return self._boto3


@overload
def durable_execution(workflow: Workflow, /) -> DurableHandler: ...


@overload
def durable_execution(
    *,
    client: Any = None,
    serializer: Serializer | None = None,
    plugins: Iterable[Registered] | None = None,
    backend: str = "trio",
    input_type: Any = Any,
) -> Callable[[Workflow], DurableHandler]: ...


def durable_execution(
    workflow: Workflow | None = None,
    /,
    *,
    client: Any = None,
    serializer: Serializer | None = None,
    plugins: Iterable[Registered] | None = None,
    backend: str = "trio",
    input_type: Any = Any,
) -> DurableHandler | Callable[[Workflow], DurableHandler]:
    """Turn ``async def handler(event, ctx)`` into a durable Lambda handler.

    Use bare (``@durable_execution``) or with options
    (``@durable_execution(client=..., serializer=..., plugins=[...], backend=...)``).
    ``plugins`` are ``Plugin`` instances or plugin factories (one plugin per
    invocation); ``DURABLE_EXECUTION_PLUGINS`` adds installed ones
    (``plugin_registry.py``). ``backend="asyncio"`` makes the sync Lambda entry,
    and the local service's in-process invoker, run the workflow on asyncio.
    ``input_type`` makes the event a dataclass, TypedDict, pydantic model,
    tuple... (``payloads.py``) before the workflow sees it; an event that does not
    fit fails the execution with a ``SerializationError`` naming the field.
    """
    options: dict[str, Any] = {
        "client": client,
        "serializer": serializer,
        "plugins": plugins,
        "backend": backend,
        "input_type": input_type,
    }
    if workflow is not None:
        return DurableHandler(workflow, **options)

    def decorate(fn: Workflow) -> DurableHandler:
        return DurableHandler(fn, **options)

    return decorate
