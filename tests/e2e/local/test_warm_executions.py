"""Warm executions: ``InProcessInvoker(warm=True)`` on the real local service.

The same workflows run replaying and warm must record the same history and
result; a resumed invocation must not run the code before its suspension
again; every doubt (another invoker, a crash, a timeout, a restart, a doctored
request) must fall back to replay; every end and the bound must drop the held
workflow and leave no task or object behind.
"""

from __future__ import annotations

import dataclasses
import gc
import json
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from trio_durable import (
    DurableContext,
    ParallelBranch,
    RetryStrategy,
    StepConfig,
    StepContext,
    durable_execution,
)
from trio_durable.local.invokers import InProcessInvoker, InvocationRequest
from trio_durable.local.protocols import ServiceAPI
from trio_durable.local.service import LocalService, open_local_service
from trio_durable.local.sqlite_store import SQLiteStore
from trio_durable.local.workflow_cache import WorkflowCacheStatistics

Handler = Any


# --- helpers ---------------------------------------------------------------------


def open_callbacks(service: LocalService, arn: str) -> list[tuple[str, str]]:
    """(callback id, operation name) of every callback started and not yet ended."""
    history = service.get_execution_history(arn, include_execution_data=True)["Events"]
    started: dict[str, str] = {}
    for event in history:
        details = event.get("CallbackStartedDetails")
        if details is not None:
            started[event["Id"]] = details["CallbackId"]
        elif event["EventType"] in ("CallbackSucceeded", "CallbackFailed", "CallbackTimedOut"):
            started.pop(event["Id"], None)
    names = {e["Id"]: e.get("Name") or "" for e in history if "Id" in e}
    return [(callback_id, names[op_id]) for op_id, callback_id in started.items()]


async def drive(service: LocalService, arn: str) -> dict[str, Any]:
    """Run ``arn`` to its end, completing each callback (with its name) as it
    appears, in the order of the history, one virtual second after it does."""
    while True:
        with trio.move_on_after(1):
            return await service.wait_until_terminal(arn)
        if service.statistics().invocations_in_flight:
            continue
        for callback_id, name in open_callbacks(service, arn):
            service.send_callback_success(callback_id, json.dumps(f"ok:{name}").encode())


Event = tuple[str, str | None, str | None]


def story(service: LocalService, arn: str) -> list[list[Event]]:
    """The history without times or ids (event type, operation name, sub type),
    cut at each invocation's end; sorted within an invocation, where concurrent
    branches record in the order Trio happened to schedule them."""
    history = service.get_execution_history(arn, include_execution_data=True)["Events"]
    chapters: list[list[Event]] = [[]]
    for e in history:
        chapters[-1].append(
            (e["EventType"], e.get("Name") if "SubType" in e else None, e.get("SubType"))
        )
        if e["EventType"] == "InvocationCompleted":
            chapters.append([])
    return [sorted(chapter, key=str) for chapter in chapters]


def task_count() -> int:
    """Every task of this Trio run (a leak of a held workflow shows here)."""

    def count(task: trio.lowlevel.Task) -> int:
        return 1 + sum(count(t) for n in task.child_nurseries for t in n.child_tasks)

    return count(trio.lowlevel.current_root_task())


async def settled(predicate: Callable[[], bool]) -> None:
    """Let other tasks run until ``predicate()`` holds (the clock never moves)."""
    for _ in range(10_000):
        if predicate():
            return
        await trio.lowlevel.checkpoint()
    raise AssertionError("condition never held")


@asynccontextmanager
async def warm_service(
    handler: Handler, **options: Any
) -> AsyncIterator[tuple[LocalService, InProcessInvoker]]:
    invoker = InProcessInvoker(handler, warm=True, **options)
    async with open_local_service() as service, invoker:
        service.register_function("wf", invoker)
        yield service, invoker


async def run_to_end(
    invoker: InProcessInvoker, registered: Any = None, **options: Any
) -> tuple[dict[str, Any], WorkflowCacheStatistics | None, list[dict[str, Any]]]:
    """Run one execution through ``registered`` (default: ``invoker``, with
    ``register_function`` ``options``): its end, the invoker's statistics, its history."""
    async with open_local_service() as service, invoker:
        service.register_function("wf", registered or invoker, **options)
        arn = service.start_execution("wf", None).arn
        result = await drive(service, arn)
        history = service.get_execution_history(arn, include_execution_data=True)["Events"]
    return result, invoker.statistics(), history


async def run_both(handler: Handler, payload: Any = None) -> tuple[Any, Any]:
    """The (result, story) of one execution replaying, then of one warm; the warm
    invoker resumed at least once (else the comparison proves nothing)."""
    outcomes = []
    for warm in (False, True):
        invoker = InProcessInvoker(handler, warm=warm)
        async with open_local_service() as service, invoker:
            service.register_function("wf", invoker)
            arn = service.start_execution("wf", json.dumps(payload)).arn
            result = await drive(service, arn)
            outcomes.append((result["Status"], result.get("Result"), story(service, arn)))
            stats = invoker.statistics()
        if warm:
            assert stats is not None and stats.resumed >= 1 and stats.fell_back == 0
    replayed, warmed = outcomes
    assert warmed == replayed
    return replayed[1], replayed[2]


# --- the same results --------------------------------------------------------------


async def add(a: int, b: int) -> int:
    return a + b


@durable_execution
async def steps_and_waits(event: Any, ctx: DurableContext) -> int:
    total = 0
    for i in range(3):
        total = await ctx.step(add, total, i, name=f"add{i}")
        await ctx.wait(30, name=f"pause{i}")
    return total


@durable_execution
async def callbacks(event: Any, ctx: DurableContext) -> list[str]:
    got = []
    for i in range(3):
        callback = await ctx.create_callback(name=f"cb{i}")
        got.append(await callback.result())
    return got


async def submit(callback_id: str, label: str) -> None:
    assert callback_id and label


@durable_execution
async def waits_for_callbacks(event: Any, ctx: DurableContext) -> list[str]:
    first = await ctx.wait_for_callback(submit, "one", name="first")
    second = await ctx.wait_for_callback(submit, "two", name="second")
    return [first, second]


async def branch_body(ctx: DurableContext, index: int) -> str:
    callback = await ctx.create_callback(name=f"branch-cb{index}")
    await ctx.wait(5 + index, name=f"branch-wait{index}")
    result: str = await callback.result()
    return result


@durable_execution
async def parallel_parked(event: Any, ctx: DurableContext) -> list[str]:
    branches = [ParallelBranch(lambda c, i=i: branch_body(c, i), f"b{i}") for i in range(3)]
    batch = await ctx.parallel(branches, name="fan-out")
    return list(batch.results())


@durable_execution
async def map_parked(event: Any, ctx: DurableContext) -> list[str]:
    async def item(c: DurableContext, value: int, index: int) -> str:
        return await branch_body(c, value)

    batch = await ctx.map([0, 1, 2, 3], item, name="items")
    return list(batch.results())


@durable_execution
async def child_contexts(event: Any, ctx: DurableContext) -> list[Any]:
    async def inner(c: DurableContext, label: str) -> Any:
        await c.wait(10, name="inner-wait")
        callback = await c.create_callback(name=f"inner-cb-{label}")
        return [label, await callback.result()]

    first = await ctx.run_in_child_context(inner, "a", name="child-a")
    second = await ctx.run_in_child_context(inner, "b", name="child-b")
    return [first, second]


def flaky(step_context: StepContext) -> int:
    if step_context.attempt < 3:
        raise RuntimeError(f"attempt {step_context.attempt} fails")
    return step_context.attempt


@durable_execution
async def step_retries(event: Any, ctx: DurableContext) -> int:
    retry = RetryStrategy(max_attempts=4, initial_delay=2)
    attempts = await ctx.step(flaky, name="flaky", config=StepConfig(retry_strategy=retry))
    callback = await ctx.create_callback(name="after")
    await callback.result()
    return attempts


@pytest.mark.parametrize(
    ("handler", "expected"),
    [
        (steps_and_waits, 3),
        (callbacks, ["ok:cb0", "ok:cb1", "ok:cb2"]),
        (waits_for_callbacks, ["ok:first create callback id", "ok:second create callback id"]),
        (parallel_parked, ["ok:branch-cb0", "ok:branch-cb1", "ok:branch-cb2"]),
        (map_parked, [f"ok:branch-cb{i}" for i in range(4)]),
        (child_contexts, [["a", "ok:inner-cb-a"], ["b", "ok:inner-cb-b"]]),
        (step_retries, 3),
    ],
    ids=["steps-waits", "callbacks", "wait-for-callback", "parallel", "map", "child", "retries"],
)
async def test_warm_and_replayed_executions_record_the_same(
    handler: Handler, expected: Any, autojump_clock: trio.abc.Clock
) -> None:
    result, _ = await run_both(handler)
    assert json.loads(result) == expected


async def test_a_failing_workflow_fails_the_same_warm(autojump_clock: trio.abc.Clock) -> None:
    @durable_execution
    async def fails_late(event: Any, ctx: DurableContext) -> None:
        callback = await ctx.create_callback(name="cb")
        raise ValueError(f"refused after {await callback.result()}")

    outcomes = []
    for warm in (False, True):
        invoker = InProcessInvoker(fails_late, warm=warm)
        async with open_local_service() as service, invoker:
            service.register_function("wf", invoker)
            arn = service.start_execution("wf", None).arn
            result = await drive(service, arn)
            outcomes.append((result["Status"], result["Error"], story(service, arn)))
            if warm:
                stats = invoker.statistics()
                assert stats is not None and stats.resumed == 1 and stats.held == 0
    assert outcomes[0][0] == "FAILED"
    assert outcomes[0][1]["ErrorMessage"] == "refused after ok:cb"
    assert outcomes[1] == outcomes[0]


# --- resumed, not replayed -------------------------------------------------------------


async def test_a_resumed_invocation_runs_no_earlier_code_again(
    autojump_clock: trio.abc.Clock,
) -> None:
    ran = {"top": 0, "step": 0}

    def counted() -> str:
        ran["step"] += 1
        return "stepped"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> list[str]:
        ran["top"] += 1
        got = [await ctx.step(counted, name="once")]
        for i in range(4):
            callback = await ctx.create_callback(name=f"cb{i}")
            got.append(await callback.result())
        return got

    for warm, tops in ((False, 5), (True, 1)):
        ran.update(top=0, step=0)
        invoker = InProcessInvoker(handler, warm=warm)
        async with open_local_service() as service, invoker:
            service.register_function("wf", invoker)
            arn = service.start_execution("wf", None).arn
            result = await drive(service, arn)
        assert json.loads(result["Result"]) == ["stepped", "ok:cb0", "ok:cb1", "ok:cb2", "ok:cb3"]
        assert ran == {"top": tops, "step": 1}
    stats = invoker.statistics()
    assert stats is not None
    assert (stats.resumed, stats.replayed, stats.fell_back, stats.held) == (4, 1, 0, 0)


# --- falling back to replay --------------------------------------------------------------


async def wait_held(invoker: InProcessInvoker, count: int = 1) -> None:
    await settled(lambda: (s := invoker.statistics()) is not None and s.held == count)


@durable_execution
async def two_callbacks(event: Any, ctx: DurableContext) -> list[str]:
    TOPS.append(1)
    first = await ctx.create_callback(name="first")
    one = await first.result()
    second = await ctx.create_callback(name="second")
    return [one, await second.result()]


TOPS: list[int] = []


async def complete_open(service: LocalService, arn: str) -> None:
    for callback_id, name in open_callbacks(service, arn):
        service.send_callback_success(callback_id, json.dumps(f"ok:{name}").encode())


async def test_an_invocation_run_by_another_invoker_falls_back_to_replay(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with warm_service(two_callbacks) as (service, invoker):
        arn = service.start_execution("wf", None).arn
        await wait_held(invoker)
        service.register_function("wf", InProcessInvoker(two_callbacks))  # replays one
        await complete_open(service, arn)
        await settled(lambda: len(open_callbacks(service, arn)) == 1)
        await settled(lambda: service.statistics().invocations_in_flight == 0)
        service.register_function("wf", invoker)
        await complete_open(service, arn)
        result = await service.wait_until_terminal(arn)
        stats = invoker.statistics()
    assert json.loads(result["Result"]) == ["ok:first", "ok:second"]
    assert stats is not None
    assert (stats.resumed, stats.replayed, stats.fell_back, stats.evicted) == (0, 2, 1, 1)


class Doctoring:
    """Hands the warm invoker requests with one field changed, to play a service
    that tells it something other than what its held workflow saw."""

    def __init__(self, inner: InProcessInvoker, **changes: Any) -> None:
        self.inner = inner
        self.changes = changes

    async def invoke(self, request: InvocationRequest, service: ServiceAPI) -> dict[str, Any]:
        if request.after_pending is not None:
            request = dataclasses.replace(request, **self.changes)
        return await self.inner.invoke(request, service)


@pytest.mark.parametrize(
    "changes",
    [{"operation_count": 99}, {"after_pending": "another-request"}],
    ids=["operation-count", "previous-invocation"],
)
async def test_a_request_that_does_not_match_the_held_workflow_replays(
    changes: dict[str, Any], autojump_clock: trio.abc.Clock
) -> None:
    TOPS.clear()
    invoker = InProcessInvoker(two_callbacks, warm=True)
    result, stats, _ = await run_to_end(invoker, Doctoring(invoker, **changes))
    assert json.loads(result["Result"]) == ["ok:first", "ok:second"]
    assert len(TOPS) == 3  # every invocation ran from the top
    assert stats is not None
    assert (stats.resumed, stats.replayed, stats.fell_back) == (0, 3, 2)


async def test_a_crashed_resumed_invocation_is_dropped_and_replayed(
    autojump_clock: trio.abc.Clock,
) -> None:
    crashes = {"left": 1}

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> str:
        callback = await ctx.create_callback(name="cb")
        result: str = await callback.result()
        if crashes["left"]:
            crashes["left"] -= 1
            raise SystemExit(3)  # the runtime exits: a crash, retried by the service
        return result

    async with warm_service(handler) as (service, invoker):
        arn = service.start_execution("wf", None).arn
        result = await drive(service, arn)
        stats = invoker.statistics()
        kinds = [kind for chapter in story(service, arn) for kind, _, _ in chapter]
    assert json.loads(result["Result"]) == "ok:cb"
    assert kinds.count("InvocationCompleted") == 3
    assert stats is not None
    assert (stats.resumed, stats.replayed, stats.fell_back, stats.held) == (1, 2, 0, 0)


async def test_a_timed_out_resumed_invocation_is_dropped_and_replayed(
    autojump_clock: trio.abc.Clock,
) -> None:
    slow = {"left": 1}

    async def maybe_slow() -> str:
        if slow["left"]:
            slow["left"] -= 1
            await trio.sleep(60)  # past the 10 s Lambda timeout
        return "quick"

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> list[str]:
        callback = await ctx.create_callback(name="cb")
        got = await callback.result()
        return [got, await ctx.step(maybe_slow, name="maybe-slow")]

    invoker = InProcessInvoker(handler, warm=True)
    result, stats, history = await run_to_end(invoker, invocation_timeout_seconds=10)
    assert json.loads(result["Result"]) == ["ok:cb", "quick"]
    errors = [
        e["InvocationCompletedDetails"].get("Error", {}).get("Payload", {}).get("ErrorType")
        for e in history
        if e["EventType"] == "InvocationCompleted"
    ]
    assert errors == [None, "Sandbox.Timedout", None]
    assert stats is not None
    assert (stats.resumed, stats.replayed, stats.held) == (1, 2, 0)


async def test_after_a_restart_the_next_invocation_replays(tmp_path: Path) -> None:
    TOPS.clear()
    invoker = InProcessInvoker(two_callbacks, warm=True)
    async with invoker:
        store = SQLiteStore(tmp_path / "executions.db")
        async with open_local_service(store=store) as service:
            service.register_function("wf", invoker)
            arn = service.start_execution("wf", None).arn
            await wait_held(invoker)
        store.close()
        store = SQLiteStore(tmp_path / "executions.db")
        async with open_local_service(store=store) as service:
            service.register_function("wf", invoker)
            await complete_open(service, arn)
            await settled(lambda: len(open_callbacks(service, arn)) == 1)
            await wait_held(invoker)
            await complete_open(service, arn)
            result = await service.wait_until_terminal(arn)
        store.close()
        stats = invoker.statistics()
    assert json.loads(result["Result"]) == ["ok:first", "ok:second"]
    assert len(TOPS) == 2
    assert stats is not None
    assert (stats.resumed, stats.replayed, stats.fell_back) == (1, 2, 1)


# --- eviction ------------------------------------------------------------------------------


class Marker:
    """An object only the workflow refers to: it must go with the held workflow."""


MARKERS: list[weakref.ref[Marker]] = []


@durable_execution
async def waits_forever(event: Any, ctx: DurableContext) -> None:
    marker = Marker()
    MARKERS.append(weakref.ref(marker))
    callback = await ctx.create_callback(name="never")
    await callback.result()
    assert marker


async def gone(baseline: int) -> None:
    """The held workflow's tasks have ended and nothing refers to its objects."""
    await settled(lambda: task_count() == baseline)
    gc.collect()
    assert MARKERS and all(ref() is None for ref in MARKERS)


@pytest.mark.parametrize("end", ["stopped", "timed-out"])
async def test_an_execution_that_ends_while_held_is_evicted(
    end: str, autojump_clock: trio.abc.Clock
) -> None:
    MARKERS.clear()
    async with warm_service(waits_forever) as (service, invoker):
        baseline = task_count()
        timeout = 60 if end == "timed-out" else None
        arn = service.start_execution("wf", None, timeout_seconds=timeout).arn
        await wait_held(invoker)
        assert task_count() > baseline
        if end == "stopped":
            service.stop_execution(arn)
        result = await service.wait_until_terminal(arn)
        await gone(baseline)
        stats = invoker.statistics()
    assert result["Status"] == {"stopped": "STOPPED", "timed-out": "TIMED_OUT"}[end]
    assert stats is not None and (stats.held, stats.evicted) == (0, 1)


async def test_an_execution_that_ends_in_an_invocation_leaves_nothing_held(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with warm_service(callbacks) as (service, invoker):
        baseline = task_count()
        arn = service.start_execution("wf", None).arn
        result = await drive(service, arn)
        await settled(lambda: task_count() == baseline)
        stats = invoker.statistics()
    assert result["Status"] == "SUCCEEDED"
    assert stats is not None and (stats.held, stats.resumed) == (0, 3)


async def test_the_least_recently_used_held_execution_goes_beyond_the_limit(
    autojump_clock: trio.abc.Clock,
) -> None:
    async with warm_service(callbacks, warm_limit=2) as (service, invoker):
        arns = []
        for started in range(1, 4):
            arns.append(service.start_execution("wf", None).arn)
            await settled(
                lambda n=started: (
                    (s := invoker.statistics()) is not None and s.held + s.evicted == n
                )
            )
        stats = invoker.statistics()
        assert stats is not None and (stats.held, stats.evicted) == (2, 1)
        results = [await drive(service, arn) for arn in arns]
        stats = invoker.statistics()
    assert [json.loads(r["Result"]) for r in results] == [["ok:cb0", "ok:cb1", "ok:cb2"]] * 3
    assert stats is not None
    # The third start evicted the first execution: its next invocation replayed,
    # and holding it again evicted the second, whose next invocation replayed too.
    assert (stats.resumed, stats.replayed, stats.fell_back, stats.evicted) == (7, 5, 0, 2)


async def test_closing_the_invoker_drops_every_held_workflow() -> None:
    MARKERS.clear()
    async with open_local_service() as service:
        baseline = task_count()
        invoker = InProcessInvoker(waits_forever, warm=True)
        async with invoker:
            service.register_function("wf", invoker)
            for _ in range(3):
                service.start_execution("wf", None)
            await wait_held(invoker, 3)
        await gone(baseline)
        stats = invoker.statistics()
    assert stats is not None and (stats.held, stats.evicted) == (0, 3)


async def test_a_warm_invoker_that_was_not_opened_crashes_its_invocations() -> None:
    async with open_local_service(max_crash_retries=0) as service:
        service.register_function("wf", InProcessInvoker(callbacks, warm=True))
        arn = service.start_execution("wf", None).arn
        result = await service.wait_until_terminal(arn)
    assert result["Status"] == "FAILED"
    assert "open it first (async with invoker: ...)" in result["Error"]["ErrorMessage"]


# --- where warm mode is refused ----------------------------------------------------------------


def plugin_factory(info: Any) -> Any:
    return None


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (
            lambda: InProcessInvoker(
                durable_execution(backend="asyncio")(callbacks.workflow), warm=True
            ),
            "asyncio",
        ),
        (lambda: InProcessInvoker(callbacks, warm=True, backend="asyncio"), "asyncio backend"),
        (
            lambda: InProcessInvoker(
                durable_execution(plugins=[plugin_factory])(callbacks.workflow), warm=True
            ),
            "plugins",
        ),
        (lambda: InProcessInvoker(callbacks.workflow, warm=True), "@durable_execution handler"),
        (lambda: InProcessInvoker(callbacks, warm=True, warm_limit=0), "warm_limit"),
    ],
    ids=["asyncio-handler", "asyncio-backend", "plugins", "plain-function", "limit"],
)
def test_warm_mode_is_refused_where_it_cannot_work(
    make: Callable[[], Awaitable[Any]], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        make()


async def test_warm_mode_is_refused_with_a_loop() -> None:
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(ValueError, match="loop="):
            InProcessInvoker(callbacks, warm=True, loop=loop)
    finally:
        loop.close()


async def test_warm_mode_does_not_catch_a_workflow_that_is_not_deterministic(
    autojump_clock: trio.abc.Clock,
) -> None:
    """Replay is what notices a workflow that takes another path on a re-run:
    warm mode never re-runs it, so it cannot."""
    runs = {"count": 0}

    @durable_execution
    async def drifting(event: Any, ctx: DurableContext) -> str:
        runs["count"] += 1
        name = "first-path" if runs["count"] == 1 else "other-path"
        callback = await ctx.create_callback(name=name)
        result: str = await callback.result()
        return result

    statuses = {}
    for warm in (False, True):
        runs["count"] = 0
        invoker = InProcessInvoker(drifting, warm=warm)
        async with open_local_service() as service, invoker:
            service.register_function("wf", invoker)
            arn = service.start_execution("wf", None).arn
            result = await drive(service, arn)
        statuses[warm] = (result["Status"], result.get("Error", {}).get("ErrorType"))
    assert statuses == {
        False: ("FAILED", "NonDeterministicExecutionError"),
        True: ("SUCCEEDED", None),
    }


async def test_a_resumed_workflow_sees_each_invocations_lambda_context(
    autojump_clock: trio.abc.Clock,
) -> None:
    seen: list[str] = []

    @durable_execution
    async def handler(event: Any, ctx: DurableContext) -> None:
        for i in range(2):
            seen.append(ctx.lambda_context.aws_request_id)
            callback = await ctx.create_callback(name=f"cb{i}")
            await callback.result()
        seen.append(ctx.lambda_context.aws_request_id)

    async with warm_service(handler) as (service, invoker):
        arn = service.start_execution("wf", None).arn
        await drive(service, arn)
        history = service.get_execution_history(arn)["Events"]
        stats = invoker.statistics()
    request_ids = [
        e["InvocationCompletedDetails"]["RequestId"]
        for e in history
        if e["EventType"] == "InvocationCompleted"
    ]
    assert seen == request_ids
    assert stats is not None and stats.resumed == 2


async def test_updates_queued_as_the_workflow_parks_are_sent_before_it_suspends(
    autojump_clock: trio.abc.Clock,
) -> None:
    """A child context's SUCCEED, the next one's START and its wait's START linger
    in the batcher (nobody waits for them) while the task parks at once on the
    wait: the invocation may answer PENDING only once they are recorded. Many
    rounds, as whether they miss the supervisor's flush depends on Trio's
    scheduling order."""

    async def gate(c: DurableContext, index: int) -> Any:
        await c.wait(1, name=f"pause-{index}")
        callback = await c.create_callback(name=f"gate-{index}")
        return await callback.result()

    @durable_execution
    async def gates(event: Any, ctx: DurableContext) -> list[Any]:
        return [await ctx.run_in_child_context(gate, i, name=f"child-{i}") for i in range(25)]

    async with warm_service(gates) as (service, invoker):
        arn = service.start_execution("wf", None).arn
        result = await drive(service, arn)
        stats = invoker.statistics()
    assert result["Status"] == "SUCCEEDED", result.get("Error")
    assert json.loads(result["Result"]) == [f"ok:gate-{i}" for i in range(25)]
    assert stats is not None and (stats.resumed, stats.fell_back) == (50, 0)


async def test_a_resumed_invocation_whose_checkpoint_is_refused_crashes_and_replays(
    autojump_clock: trio.abc.Clock,
) -> None:
    TOPS.clear()
    invoker = InProcessInvoker(two_callbacks, warm=True)
    doctored = Doctoring(invoker, checkpoint_token="not-the-token")
    result, stats, history = await run_to_end(invoker, doctored)
    assert json.loads(result["Result"]) == ["ok:first", "ok:second"]
    crashed = [
        e["InvocationCompletedDetails"]["Error"]["Payload"]["ErrorMessage"]
        for e in history
        if e["EventType"] == "InvocationCompleted" and "Error" in e["InvocationCompletedDetails"]
    ]
    # The first resume checkpoints (the second callback) with the wrong token and
    # crashes; its retry replays; the last resume checkpoints nothing (its result
    # travels in the answer), so the wrong token goes unnoticed there.
    assert len(crashed) == 1 and "checkpoint token" in crashed[0].lower()
    assert len(TOPS) == 2
    assert stats is not None and (stats.resumed, stats.replayed, stats.held) == (2, 2, 0)
