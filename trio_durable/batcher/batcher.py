"""The checkpoint batcher actor: the one task that talks to the service.

Operations submit ``OperationUpdate``s to its channel (never blocking). The
actor coalesces what is queued into calls within the service limits (250
updates, 750 KB), in submission order, and owns the checkpoint token. Each
call carries its own ``ClientToken``, reused when the call is retried after
throttling or a server error, so a retried call is applied once. The changed
operations of the answer (all pages of it) go to the state actor together with
the callers' acknowledgements, which it sets only after merging: a caller woken
by its checkpoint sees the merged state. Any other error is fatal for the
invocation (a stale or revoked checkpoint token, for instance): it is kept in
``failure`` and reported through ``on_fatal``.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import anyio

from trio_durable.batcher.client import ServiceClient
from trio_durable.errors import ServiceError
from trio_durable.runtime.mailbox import Mailbox
from trio_durable.runtime.primitives import (
    Event,
    checkpoint,
    move_on_after,
    new_event,
    runnable_tasks,
    shielded,
)
from trio_durable.runtime.state import Merge, StateActor
from trio_durable.wire import (
    MAX_CHECKPOINT_BYTES,
    MAX_CHECKPOINT_UPDATES,
    Operation,
    OperationUpdate,
    StatePage,
)

if TYPE_CHECKING:
    from tenacity import RetryCallState

T = TypeVar("T")

# How long an update nobody waits for may wait for company before it is sent.
DEFAULT_LINGER_SECONDS = 0.02

# Under load the linger stretches: by one linger per this many tasks waiting for
# their turn on the loop, up to MAX_LINGER_STRETCH lingers (see _wait_for_work).
TASKS_PER_LINGER = 4
MAX_LINGER_STRETCH = 50

# Fixed cost of one update on the wire (keys, enums, punctuation), in bytes.
_UPDATE_OVERHEAD = 160


def update_size(update: OperationUpdate) -> int:
    """An upper estimate of the update's size on the wire, in bytes."""
    size = _UPDATE_OVERHEAD + len(update.id) + len(update.parent_id or "")
    for text in (update.name, update.sub_type):
        if text:
            size += len(text) if text.isascii() else len(text.encode())
    payload = update.payload
    if payload:
        size += len(payload) if payload.isascii() else len(payload.encode())
    error = update.error
    if error is not None:
        for text in (error.message, error.type, error.data):
            if text:
                size += len(text.encode()) + 20
        for line in error.stack_trace or ():
            size += len(line.encode()) + 4
    return size


def _is_retryable(exc: BaseException) -> bool:
    return isinstance(exc, ServiceError) and exc.retryable


@dataclass(frozen=True, slots=True)
class BatcherStatistics:
    """What the batcher has done and has queued."""

    queued: int
    calls: int
    updates_sent: int
    retries: int


_Item = tuple[OperationUpdate | None, Event | None, int]
"""A queued update (None: a flush marker), the ack to set once it is merged,
and its size (``update_size``). A plain tuple: one is built per update."""


class CheckpointBatcher:
    """Coalesces updates into ordered checkpoint calls (run ``run`` as a task)."""

    def __init__(
        self,
        client: ServiceClient,
        execution_arn: str,
        checkpoint_token: str,
        state_actor: StateActor,
        *,
        max_updates: int = MAX_CHECKPOINT_UPDATES,
        max_bytes: int = MAX_CHECKPOINT_BYTES,
        max_attempts: int = 6,
        linger: float = DEFAULT_LINGER_SECONDS,
        on_fatal: Callable[[BaseException], None] | None = None,
    ) -> None:
        self._client = client
        self._arn = execution_arn
        self.checkpoint_token = checkpoint_token
        self._state_actor = state_actor
        self._max_updates = max_updates
        self._max_bytes = max_bytes
        self._max_attempts = max_attempts
        self._linger = linger
        self._on_fatal = on_fatal
        self._mailbox: Mailbox[_Item] = Mailbox()
        self._queued = 0
        self._urgent = 0  # queued items somebody waits for
        self._queued_bytes = 0
        self._calls = 0
        self._updates_sent = 0
        self._retries = 0
        self.failure: BaseException | None = None
        self._gone = False  # failed or cancelled: nothing queued is sent any more

    # --- the callers' side ----------------------------------------------------

    def submit(self, update: OperationUpdate, ack: Event | None = None) -> None:
        """Queue ``update``; ``ack`` is set once its answer is merged into the state
        (or once the batcher has failed).

        Without ``ack`` the update may linger (up to ``linger`` seconds) to be
        coalesced with later ones; with one it is sent as soon as possible.
        """
        if self.failure is not None:
            raise self.failure
        self._put(update, ack, update_size(update))

    async def checkpoint(self, update: OperationUpdate) -> None:
        """Record ``update`` and return once the service's answer is merged."""
        ack = new_event()
        self.submit(update, ack)
        await ack.wait()
        if self.failure is not None:
            raise self.failure

    async def flush(self) -> None:
        """Return once everything queued before this call is recorded and merged
        (or the batcher has failed, see ``failure``, or was cancelled with its
        invocation).

        Shielded: a flush that has begun finishes even when the caller is cancelled.
        """
        with shielded():
            if self.failure is not None:
                await checkpoint()
                return
            ack = new_event()
            self._put(None, ack, 0)
            await ack.wait()

    def statistics(self) -> BatcherStatistics:
        return BatcherStatistics(
            queued=self._queued,
            calls=self._calls,
            updates_sent=self._updates_sent,
            retries=self._retries,
        )

    def _put(self, update: OperationUpdate | None, ack: Event | None, size: int) -> None:
        if self._gone:
            if ack is not None:
                ack.set()
            return
        was_empty = self._queued == 0
        self._queued += 1
        if ack is not None:
            self._urgent += 1
        self._queued_bytes += size
        self._mailbox.put((update, ack, size), wake=was_empty or self._due())

    def _due(self) -> bool:
        """Whether the queue should be sent without lingering."""
        return (
            self._urgent > 0
            or self._queued >= self._max_updates
            or self._queued_bytes >= self._max_bytes
        )

    # --- the actor --------------------------------------------------------------

    async def run(self) -> None:
        """Send batches until cancelled; a fatal error ends the loop (see ``failure``)."""
        acks: list[Event] = []
        try:
            while True:
                await self._wait_for_work()
                updates, acks = self._next_batch()
                operations: tuple[Operation, ...] = ()
                if updates:
                    operations = await self._send_batch(updates)
                self._state_actor.submit(Merge(operations, tuple(acks)))
                acks = []
        except Exception as exc:
            self.failure = exc
            if self._on_fatal is not None:
                self._on_fatal(exc)
            self._wake_everyone(acks)
            if self._on_fatal is None:
                raise
        except BaseException:
            # Cancelled with its invocation (a stop, a timeout): a shielded flush
            # or checkpoint still waiting would otherwise wait forever.
            self._wake_everyone(acks)
            raise

    def _wake_everyone(self, acks: list[Event]) -> None:
        """Nobody may wait forever on a batcher that is gone: set every ack it
        holds, and from now on every ack as it is queued."""
        self._gone = True
        while self._mailbox:
            _, ack, _ = self._mailbox.popleft()
            if ack is not None:
                acks.append(ack)
        for ack in acks:
            ack.set()

    async def _wait_for_work(self) -> None:
        """Return when a batch is due: someone waits, the limits are reached, or
        the oldest queued update has lingered ``linger`` seconds."""
        mailbox = self._mailbox
        if not mailbox:
            await mailbox.wait()
        if self._due():
            await checkpoint()
            return
        stretch = min(MAX_LINGER_STRETCH, max(1, runnable_tasks() // TASKS_PER_LINGER))
        with move_on_after(self._linger * stretch):
            while not self._due():
                await mailbox.wait()

    def _next_batch(self) -> tuple[list[OperationUpdate], list[Event]]:
        """The oldest queued items that fit in one call (acks of flushes included)."""
        mailbox = self._mailbox
        max_updates = self._max_updates
        max_bytes = self._max_bytes
        updates: list[OperationUpdate] = []
        acks: list[Event] = []
        size = taken = 0
        while mailbox:
            update, ack, item_size = mailbox.peek()
            if update is not None:
                if updates and (len(updates) >= max_updates or size + item_size > max_bytes):
                    break
                updates.append(update)
                size += item_size  # (a flush marker's is 0)
            if ack is not None:
                acks.append(ack)
            mailbox.popleft()
            taken += 1
        self._queued -= taken
        self._queued_bytes -= size
        self._urgent -= len(acks)
        return updates, acks

    async def _send_batch(self, updates: Sequence[OperationUpdate]) -> tuple[Operation, ...]:
        client_token = uuid.uuid4().hex
        token = self.checkpoint_token
        result = await self._with_retries(
            lambda: self._client.checkpoint(self._arn, token, updates, client_token=client_token)
        )
        self._calls += 1
        self._updates_sent += len(updates)
        self.checkpoint_token = result.checkpoint_token
        page: StatePage = result.new_state
        operations = page.operations
        while page.next_marker:
            marker = page.next_marker
            page = await self._with_retries(
                functools.partial(
                    self._client.get_execution_state,
                    self._arn,
                    self.checkpoint_token,
                    marker=marker,
                )
            )
            operations += page.operations
        return operations

    async def _with_retries(self, call: Callable[[], Awaitable[T]]) -> T:
        def count(_: RetryCallState) -> None:
            self._retries += 1

        return await with_retries(call, max_attempts=self._max_attempts, before_retry=count)


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    max_attempts: int = 6,
    before_retry: Callable[[RetryCallState], None] | None = None,
) -> T:
    """``call()``, retried on throttling and server errors (``ServiceError.retryable``).

    The first attempt runs without building any retry state (the common case),
    and tenacity is imported only for a retry (it is 10 modules of a cold start).
    """
    try:
        return await call()
    except ServiceError as exc:
        if not exc.retryable or max_attempts <= 1:
            raise
    from tenacity import (
        AsyncRetrying,
        before_nothing,
        retry_if_exception,
        stop_after_attempt,
        wait_exponential_jitter,
    )

    retrying = AsyncRetrying(
        stop=stop_after_attempt(max_attempts - 1),
        wait=wait_exponential_jitter(multiplier=0.1, max=5.0),
        retry=retry_if_exception(_is_retryable),
        before=before_retry or before_nothing,
        sleep=anyio.sleep,
        reraise=True,
    )
    async for attempt in retrying:
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity re-raises the last error")


async def fetch_more_pages(
    client: ServiceClient, execution_arn: str, checkpoint_token: str, marker: str | None
) -> list[Operation]:
    """The operations of every page from ``marker`` on (none without one), fetched
    while ``NextMarker`` is set."""
    operations: list[Operation] = []
    while marker:
        page = await with_retries(
            functools.partial(
                client.get_execution_state, execution_arn, checkpoint_token, marker=marker
            )
        )
        operations.extend(page.operations)
        marker = page.next_marker
    return operations
