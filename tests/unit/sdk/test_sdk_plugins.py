"""Plugin hooks: when they fire, what they see, and that a failing plugin changes nothing."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
from sdk_fakes import FakeService, drive

from trio_durable import (
    AttemptEndInfo,
    AttemptInfo,
    AttemptOutcome,
    DurableContext,
    InvocationEndInfo,
    InvocationInfo,
    Jitter,
    OperationEndInfo,
    OperationInfo,
    Plugin,
    PluginLoadError,
    RetryStrategy,
    StepConfig,
    StepSemantics,
    ValidationError,
    WaitForConditionConfig,
    WaitStrategy,
    durable_execution,
)
from trio_durable.wire import InvocationStatus, OperationStatus, OperationType, OperationUpdate


class Recorder(Plugin):
    """Records every hook as a compact tuple, and keeps the infos."""

    def __init__(self, tag: str = "") -> None:
        self.tag = tag
        self.events: list[tuple[Any, ...]] = []
        self.infos: list[Any] = []

    def _add(self, event: tuple[Any, ...], info: Any) -> None:
        self.events.append((self.tag, *event) if self.tag else event)
        self.infos.append(info)

    def on_invocation_start(self, info: InvocationInfo) -> None:
        self._add(("invocation-start", info.is_first_invocation), info)

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self._add(("invocation-end", info.status.value), info)

    def on_operation_start(self, info: OperationInfo) -> None:
        self._add(("op-start", info.operation_type.value, info.name, info.is_replayed), info)

    def on_operation_end(self, info: OperationEndInfo) -> None:
        self._add(("op-end", info.operation_type.value, info.name, info.status.value), info)

    def on_attempt_start(self, info: AttemptInfo) -> None:
        self._add(("attempt-start", info.name, info.attempt), info)

    def on_attempt_end(self, info: AttemptEndInfo) -> None:
        self._add(("attempt-end", info.name, info.attempt, info.outcome.value), info)


class Raising(Plugin):
    """Raises from every hook."""

    def _boom(self, info: object) -> None:
        raise RuntimeError("plugin bug")

    on_invocation_start = on_invocation_end = _boom
    on_operation_start = on_operation_end = _boom
    on_attempt_start = on_attempt_end = _boom


def flaky_twice() -> Any:
    """Fails on its first two calls (per test: reset ``flaky_twice.calls``)."""
    flaky_twice.calls += 1  # type: ignore[attr-defined]
    if flaky_twice.calls <= 2:  # type: ignore[attr-defined]
        raise RuntimeError(f"call {flaky_twice.calls} fails")  # type: ignore[attr-defined]
    return "ok"


AT_MOST_ONCE = StepConfig(semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY)
RETRY = StepConfig(
    retry_strategy=RetryStrategy(
        max_attempts=5, initial_delay=timedelta(seconds=1), jitter=Jitter.NONE
    )
)


async def test_a_retried_step_reports_each_attempt_and_ends_once() -> None:
    flaky_twice.calls = 0  # type: ignore[attr-defined]
    plugin = Recorder()

    @durable_execution(plugins=[plugin])
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.step(flaky_twice, config=RETRY)

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert [a["Status"] for a in answers] == ["PENDING", "PENDING", "SUCCEEDED"]
    assert plugin.events == [
        ("invocation-start", True),
        ("op-start", "STEP", "flaky_twice", False),
        ("attempt-start", "flaky_twice", 1),
        ("attempt-end", "flaky_twice", 1, "FAILED"),
        ("invocation-end", "PENDING"),
        ("invocation-start", False),
        ("op-start", "STEP", "flaky_twice", True),
        ("attempt-start", "flaky_twice", 2),
        ("attempt-end", "flaky_twice", 2, "FAILED"),
        ("invocation-end", "PENDING"),
        ("invocation-start", False),
        ("op-start", "STEP", "flaky_twice", True),
        ("attempt-start", "flaky_twice", 3),
        ("attempt-end", "flaky_twice", 3, "SUCCEEDED"),
        ("op-end", "STEP", "flaky_twice", "SUCCEEDED"),
        ("invocation-end", "SUCCEEDED"),
    ]
    (step,) = service.by_type(OperationType.STEP)
    failed_attempt = plugin.infos[3]
    assert isinstance(failed_attempt, AttemptEndInfo)
    assert failed_attempt.operation_id == step.id
    assert failed_attempt.execution_arn == service.arn
    assert failed_attempt.outcome is AttemptOutcome.FAILED
    assert failed_attempt.error is not None and failed_attempt.error.message == "call 1 fails"


async def test_child_context_wait_and_replay() -> None:
    plugin = Recorder()

    async def inner(child: DurableContext) -> str:
        return await child.step(lambda: "x", name="in-child")

    @durable_execution(plugins=[plugin])
    async def handler(event: Any, ctx: DurableContext) -> Any:
        value = await ctx.run_in_child_context(inner, name="child")
        await ctx.wait(2, name="pause")
        return value

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert [a["Status"] for a in answers] == ["PENDING", "SUCCEEDED"]
    assert plugin.events == [
        ("invocation-start", True),
        ("op-start", "CONTEXT", "child", False),
        ("attempt-start", "child", None),  # the child context's function
        ("op-start", "STEP", "in-child", False),
        ("attempt-start", "in-child", 1),
        ("attempt-end", "in-child", 1, "SUCCEEDED"),
        ("attempt-end", "child", None, "SUCCEEDED"),
        ("op-start", "WAIT", "pause", False),
        # Ends come with the service's answers: the step's and the context's
        # SUCCEED (not waited for) went out together, after the wait's start.
        ("op-end", "STEP", "in-child", "SUCCEEDED"),
        ("op-end", "CONTEXT", "child", "SUCCEEDED"),
        ("invocation-end", "PENDING"),
        # Replay: the child and the finished wait are replayed from their records.
        ("invocation-start", False),
        ("invocation-end", "SUCCEEDED"),
    ]
    child_id = next(i for i in plugin.infos if getattr(i, "name", None) == "child").operation_id
    in_child = next(i for i in plugin.infos if getattr(i, "name", None) == "in-child")
    assert in_child.parent_id == child_id


async def test_an_unfinished_wait_is_resumed_and_a_finished_one_replayed_silently() -> None:
    plugin = Recorder()

    @durable_execution(plugins=[plugin])
    async def handler(event: Any, ctx: DurableContext) -> None:
        await ctx.wait(2, name="pause")

    service = FakeService()
    service.start()
    await handler.invoke(service.event(), client=service)
    await handler.invoke(service.event(), client=service)  # re-invoked before the wait ended
    service.advance()
    answers = await drive(handler, service)
    assert answers[-1]["Status"] == "SUCCEEDED"
    assert plugin.events == [
        ("invocation-start", True),
        ("op-start", "WAIT", "pause", False),
        ("invocation-end", "PENDING"),
        ("invocation-start", False),
        ("op-start", "WAIT", "pause", True),
        ("invocation-end", "PENDING"),
        ("invocation-start", False),
        ("invocation-end", "SUCCEEDED"),
    ]


async def test_a_failing_execution_ends_with_failed_and_its_error() -> None:
    plugin = Recorder()

    def broken() -> None:
        raise ValueError("nope")

    @durable_execution(plugins=[plugin])
    async def handler(event: Any, ctx: DurableContext) -> None:
        await ctx.step(broken, config=StepConfig(retry_strategy=RetryStrategy(max_attempts=1)))

    service = FakeService()
    service.start()
    (answer,) = await drive(handler, service)
    assert answer["Status"] == "FAILED"
    assert plugin.events[-2:] == [
        ("op-end", "STEP", "broken", "FAILED"),
        ("invocation-end", "FAILED"),
    ]
    end = plugin.infos[-1]
    assert isinstance(end, InvocationEndInfo) and end.status is InvocationStatus.FAILED
    assert end.error is not None and end.error.message is not None


async def test_a_raising_plugin_is_logged_and_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def run_with(plugins: list[Plugin]) -> Any:
        @durable_execution(plugins=plugins)
        async def handler(event: Any, ctx: DurableContext) -> Any:
            flaky_twice.calls = 2  # type: ignore[attr-defined]
            value = await ctx.step(flaky_twice, config=RETRY)
            await ctx.wait(1)
            return value

        return handler

    recorder = Recorder()
    with_plugins, plain = FakeService(), FakeService()
    with_plugins.start()
    plain.start()
    with caplog.at_level(logging.ERROR, logger="trio_durable.plugins"):
        answers = await drive(run_with([Raising(), recorder]), with_plugins)
    assert answers == await drive(run_with([]), plain)
    assert with_plugins.operations.keys() == plain.operations.keys()
    assert [(u.id, u.action) for c in with_plugins.calls for u in c.updates] == [
        (u.id, u.action) for c in plain.calls for u in c.updates
    ]
    assert ("invocation-end", "SUCCEEDED") in recorder.events  # the next plugin still ran
    messages = [r.getMessage() for r in caplog.records]
    assert "plugin Raising raised in on_operation_start (ignored)" in messages
    assert "plugin Raising raised in on_invocation_end (ignored)" in messages
    assert all(r.exc_info is not None for r in caplog.records)


async def test_plugins_are_called_in_registration_order() -> None:
    first, second = Recorder("a"), Recorder("b")
    shared: list[tuple[Any, ...]] = []
    first.events = second.events = shared

    @durable_execution(plugins=[first, second])
    async def handler(event: Any, ctx: DurableContext) -> Any:
        return await ctx.step(lambda: 1, name="one")

    service = FakeService()
    service.start()
    await drive(handler, service)
    assert shared[:4] == [
        ("a", "invocation-start", True),
        ("b", "invocation-start", True),
        ("a", "op-start", "STEP", "one", False),
        ("b", "op-start", "STEP", "one", False),
    ]
    assert shared[-2:] == [
        ("a", "invocation-end", "SUCCEEDED"),
        ("b", "invocation-end", "SUCCEEDED"),
    ]


def test_plugins_must_be_plugin_instances() -> None:
    async def handler(event: Any, ctx: DurableContext) -> None:
        return None

    with pytest.raises(PluginLoadError, match=r"plugins\[0\] .*a plugin class: pass an instance"):
        durable_execution(plugins=[Recorder])(handler)  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="got an instance of str"):
        durable_execution(plugins=["x"])(handler)  # type: ignore[list-item]
    with pytest.raises(ValidationError, match="a list of Plugin"):
        durable_execution(plugins=Recorder())(handler)  # type: ignore[arg-type]


async def test_a_callback_delivered_during_the_invocation_ends_once() -> None:
    plugin = Recorder()

    def deliver(service: FakeService, updates: Sequence[OperationUpdate]) -> list[str]:
        if any(u.name == "notify" for u in updates):
            callback = service.callback()
            service.complete_callback(callback.id, OperationStatus.SUCCEEDED, result='"yes"')
            return [callback.id]
        return []

    @durable_execution(plugins=[plugin])
    async def handler(event: Any, ctx: DurableContext) -> Any:
        callback = await ctx.create_callback(name="cb")
        await ctx.step(lambda: None, name="notify", config=AT_MOST_ONCE)
        first = await callback.result()
        return [first, await callback.result()]

    service = FakeService(on_checkpoint=deliver)
    service.start()
    (answer,) = await drive(handler, service)
    assert answer == {"Status": "SUCCEEDED", "Result": '["yes","yes"]'}
    callback_events = [e for e in plugin.events if "CALLBACK" in e]
    assert callback_events == [
        ("op-start", "CALLBACK", "cb", False),
        ("op-end", "CALLBACK", "cb", "SUCCEEDED"),
    ]


async def test_wait_for_condition_reports_each_poll_as_an_attempt() -> None:
    plugin = Recorder()
    strategy = WaitStrategy.fixed(lambda state: state < 2, delay=1)
    polls: list[int] = []

    def poll(state: int) -> int:
        polls.append(state)
        return len(polls)  # this fake service does not keep a poll's state

    @durable_execution(plugins=[plugin])
    async def handler(event: Any, ctx: DurableContext) -> Any:
        config = WaitForConditionConfig(wait_strategy=strategy, initial_state=0)
        return await ctx.wait_for_condition(poll, name="poll", config=config)

    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert answers[-1] == {"Status": "SUCCEEDED", "Result": "2"}
    assert [e for e in plugin.events if e[0] != "op-start"] == [
        ("invocation-start", True),
        ("attempt-start", "poll", 1),
        ("attempt-end", "poll", 1, "SUCCEEDED"),
        ("invocation-end", "PENDING"),
        ("invocation-start", False),
        ("attempt-start", "poll", 2),
        ("attempt-end", "poll", 2, "SUCCEEDED"),
        ("op-end", "STEP", "poll", "SUCCEEDED"),
        ("invocation-end", "SUCCEEDED"),
    ]
