"""A workflow held alive, parked, between the invocations of its execution.

Every invocation normally replays (``runtime/invocation.py``): when all of its
workflow's tasks are parked on what only a later invocation delivers, it
cancels them and answers PENDING, and the next invocation runs the workflow
again from the top against the recorded operations. A ``HeldWorkflow`` runs
the workflow in a nursery that outlives the invocation instead: it still
answers PENDING, but its tasks, state actor and batcher stay parked. ``resume``
hands it the next invocation's checkpoint token and the operations that
changed since; merging them wakes the parked tasks, as a checkpoint's answer
does, and the invocation answers when the workflow is parked again or ends.

Trio only. Whoever holds it must know that nothing but those operations
changed since it answered (``local/workflow_cache.py`` asks the service);
otherwise ``drop`` it and replay. Cancelling an invocation that waits for it
drops it, as a cancelled invocation cancels its workflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import outcome
import trio

from trio_durable.batcher.client import ServiceClient
from trio_durable.errors import DurableExecutionError
from trio_durable.runtime.context import Invocation
from trio_durable.runtime.invocation import Workflow, run_invocation
from trio_durable.runtime.state import Merge, StateActor
from trio_durable.runtime.threads import StepThread
from trio_durable.serialization import Serializer
from trio_durable.wire import InvocationStatus, Operation

_PENDING = InvocationStatus.PENDING.value


class HeldWorkflowDropped(DurableExecutionError):
    """The held workflow was dropped (its holder closed) while an invocation waited for it."""


class HeldWorkflow:
    """One execution's workflow, run across invocations (see the module doc).

    ``start`` runs the first invocation, spawning the workflow into ``nursery``;
    while ``suspended``, ``resume`` runs the next one. Each returns that
    invocation's answer. ``drop`` cancels the workflow.
    """

    __slots__ = (
        "_answer",
        "_answered",
        "_client",
        "_ended",
        "_parked",
        "_resumed",
        "_scope",
        "_serializer",
        "_started",
        "_workflow",
    )

    def __init__(
        self, workflow: Workflow, *, client: ServiceClient, serializer: Serializer
    ) -> None:
        self._workflow = workflow
        self._client = client
        self._serializer = serializer
        self._scope = trio.CancelScope()
        self._answer: outcome.Outcome[dict[str, Any]] | None = None
        self._answered = trio.Event()
        self._resumed = trio.Event()
        self._ended = trio.Event()
        self._parked: tuple[Invocation, StateActor] | None = None
        self._started = False

    @property
    def suspended(self) -> bool:
        """Parked after answering PENDING, waiting for ``resume``."""
        return self._parked is not None and not self._ended.is_set()

    @property
    def operation_count(self) -> int:
        """How many operations the suspended workflow knows (-1 when not suspended)."""
        return -1 if self._parked is None else len(self._parked[0].state)

    async def start(
        self, nursery: trio.Nursery, event: dict[str, Any], lambda_context: Any
    ) -> dict[str, Any]:
        """Run the execution's invocation ``event`` with the workflow in ``nursery``."""
        if self._started:
            raise RuntimeError("HeldWorkflow.start runs its first invocation only")
        self._started = True
        nursery.start_soon(self._main, event, lambda_context)
        return await self._wait_for_answer()

    async def resume(
        self, checkpoint_token: str, operations: Sequence[Operation], lambda_context: Any
    ) -> dict[str, Any]:
        """Run the next invocation: its token, and the operations changed since the last."""
        if not self.suspended:
            raise RuntimeError("HeldWorkflow.resume needs a suspended workflow")
        assert self._parked is not None
        invocation, actor = self._parked
        self._parked = None
        invocation.batcher.checkpoint_token = checkpoint_token
        invocation.lambda_context = lambda_context
        invocation.to_thread = StepThread()
        actor.submit(Merge(tuple(operations), ()))
        self._resumed.set()
        return await self._wait_for_answer()

    def drop(self) -> None:
        """Cancel the workflow, as a PENDING invocation cancels it (it unwinds in its nursery)."""
        self._scope.cancel()

    async def _wait_for_answer(self) -> dict[str, Any]:
        try:
            await self._answered.wait()
        except BaseException:  # this invocation is cancelled: so is its workflow
            self.drop()
            with trio.CancelScope(shield=True):
                await self._ended.wait()
            raise
        answer, self._answer = self._answer, None
        self._answered = trio.Event()
        assert answer is not None
        return answer.unwrap()

    def _deliver(self, answer: outcome.Outcome[dict[str, Any]]) -> None:
        self._answer = answer
        self._answered.set()

    async def _suspend(self, invocation: Invocation, actor: StateActor) -> None:
        if isinstance(invocation.to_thread, StepThread):
            invocation.to_thread.close()  # no body runs: every task is parked
        self._parked = (invocation, actor)
        self._resumed = trio.Event()
        self._deliver(outcome.Value({"Status": _PENDING}))
        await self._resumed.wait()

    async def _main(self, event: dict[str, Any], lambda_context: Any) -> None:
        answer: outcome.Outcome[dict[str, Any]] = outcome.Error(
            HeldWorkflowDropped("the held workflow was dropped")
        )
        try:
            with self._scope:
                answer = outcome.Value(
                    await run_invocation(
                        self._workflow,
                        event,
                        client=self._client,
                        serializer=self._serializer,
                        lambda_context=lambda_context,
                        suspend=self._suspend,
                    )
                )
        except trio.Cancelled:  # its nursery is closing
            self._deliver(outcome.Error(HeldWorkflowDropped("the held workflow's holder closed")))
            raise
        except BaseException as exc:  # the invocation's to report, never the nursery's
            answer = outcome.Error(exc)
        finally:
            self._parked = None
            self._ended.set()
        self._deliver(answer)
