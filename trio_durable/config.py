"""Configuration of durable operations: frozen dataclasses, validated when built.

Durations are given as ``timedelta`` or a number of seconds. The service counts
in whole seconds, so a duration must be a whole number of seconds: a negative
or sub-second positive value is rejected with ``ValidationError`` when the
config is built (never later, halfway through a workflow). For timeouts, zero
means "no timeout".
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from typing import Any

from trio_durable.errors import ValidationError, WaitForConditionError
from trio_durable.serialization import Serializer
from trio_durable.wire import MAX_CALLBACK_TIMEOUT_SECONDS, MAX_WAIT_SECONDS

Duration = timedelta | int | float

# ChainedInvokeOptions allows 1 to 256 characters for FunctionName and TenantId.
MAX_INVOKE_IDENTIFIER_LENGTH = 256


def duration_seconds(value: Duration, what: str, *, allow_zero: bool, maximum: int) -> int:
    """Whole seconds of ``value``; ``ValidationError`` naming ``what`` when it is not valid."""
    if isinstance(value, bool) or not isinstance(value, timedelta | int | float):
        raise ValidationError(f"{what} must be a timedelta or a number of seconds, got {value!r}")
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds != seconds or seconds < 0:  # NaN or negative
        raise ValidationError(f"{what} must not be negative, got {seconds:g} s")
    if seconds == 0:
        if allow_zero:
            return 0
        raise ValidationError(f"{what} must be at least 1 second, got 0")
    if seconds < 1:
        raise ValidationError(
            f"{what} must be at least 1 second (the service counts whole seconds), "
            f"got {seconds:g} s"
        )
    if seconds != int(seconds):
        raise ValidationError(f"{what} must be a whole number of seconds, got {seconds:g} s")
    if seconds > maximum:
        raise ValidationError(f"{what} must be at most {maximum} seconds, got {seconds:g} s")
    return int(seconds)


class Jitter(StrEnum):
    """How a retry delay is randomised: not at all, over [0, d], or over [d/2, d]."""

    NONE = "NONE"
    FULL = "FULL"
    HALF = "HALF"


def _check_backoff(strategy: RetryStrategy | WaitStrategy) -> None:
    """Validate the backoff fields a retry and a wait strategy share, and keep
    their delays in whole seconds (``_initial``, ``_max``)."""
    max_attempts = strategy.max_attempts
    if isinstance(max_attempts, bool) or not isinstance(max_attempts, int):
        raise ValidationError(f"max_attempts must be an int, got {max_attempts!r}")
    if max_attempts < 1:
        raise ValidationError(f"max_attempts must be at least 1, got {max_attempts}")
    if not strategy.backoff_rate >= 1:
        raise ValidationError(f"backoff_rate must be at least 1, got {strategy.backoff_rate}")
    try:
        object.__setattr__(strategy, "jitter", Jitter(strategy.jitter))
    except ValueError:
        raise ValidationError(
            f"jitter must be one of NONE, FULL, HALF, got {strategy.jitter!r}"
        ) from None
    initial = duration_seconds(
        strategy.initial_delay, "initial_delay", allow_zero=False, maximum=MAX_WAIT_SECONDS
    )
    maximum = duration_seconds(
        strategy.max_delay, "max_delay", allow_zero=False, maximum=MAX_WAIT_SECONDS
    )
    if maximum < initial:
        raise ValidationError(
            f"max_delay ({maximum} s) must not be less than initial_delay ({initial} s)"
        )
    object.__setattr__(strategy, "_initial", initial)
    object.__setattr__(strategy, "_max", maximum)


def _backoff_delay(
    strategy: RetryStrategy | WaitStrategy, attempt: int, rng: random.Random | None
) -> int:
    """``min(initial_delay * backoff_rate ** (attempt - 1), max_delay)`` with the
    strategy's jitter, rounded up to whole seconds and at least 1 second."""
    base = min(strategy._initial * strategy.backoff_rate ** (attempt - 1), float(strategy._max))
    draw = (rng or random).random()
    if strategy.jitter is Jitter.FULL:
        base = draw * base
    elif strategy.jitter is Jitter.HALF:
        base = base / 2 + draw * base / 2
    return max(1, -int(-base // 1))


@dataclass(frozen=True, slots=True)
class RetryStrategy:
    """When and after how long a failed step is tried again.

    Attempt ``n`` (1-based) that failed with an exception matching ``retry_on``
    is retried when ``n < max_attempts``, after
    ``min(initial_delay * backoff_rate ** (n - 1), max_delay)`` seconds with
    ``jitter`` applied, rounded up to whole seconds and at least 1 second.
    """

    max_attempts: int = 6
    initial_delay: Duration = 5
    max_delay: Duration = 60
    backoff_rate: float = 2.0
    jitter: Jitter = Jitter.FULL
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    _initial: int = field(init=False, repr=False, compare=False)
    _max: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _check_backoff(self)
        if not isinstance(self.retry_on, tuple) or not all(
            isinstance(t, type) and issubclass(t, BaseException) for t in self.retry_on
        ):
            raise ValidationError("retry_on must be a tuple of exception classes")

    def next_delay(
        self, error: BaseException, attempt: int, rng: random.Random | None = None
    ) -> int | None:
        """Seconds to wait before retrying after failed ``attempt``; ``None``: give up."""
        if attempt >= self.max_attempts or not isinstance(error, self.retry_on):
            return None
        return _backoff_delay(self, attempt, rng)


class RetryPresets:
    """Ready-made retry strategies."""

    @staticmethod
    def none() -> RetryStrategy:
        """One attempt, no retry."""
        return RetryStrategy(max_attempts=1)

    @staticmethod
    def default() -> RetryStrategy:
        """6 attempts, 5 s initial delay doubling up to 60 s, full jitter."""
        return RetryStrategy()

    @staticmethod
    def transient() -> RetryStrategy:
        """3 attempts, 5 s initial delay doubling, half jitter."""
        return RetryStrategy(max_attempts=3, jitter=Jitter.HALF)

    @staticmethod
    def fixed(delay: Duration = 5, *, max_attempts: int = 3) -> RetryStrategy:
        """A constant delay between attempts, no jitter."""
        return RetryStrategy(
            max_attempts=max_attempts,
            initial_delay=delay,
            max_delay=delay,
            backoff_rate=1.0,
            jitter=Jitter.NONE,
        )


class StepSemantics(StrEnum):
    """How often a step body may run per attempt.

    ``AT_LEAST_ONCE_PER_RETRY``: the START checkpoint is sent without waiting,
    and a step found STARTED on replay simply runs again. ``AT_MOST_ONCE_PER_RETRY``:
    START is acknowledged before the body runs, and a step found STARTED on
    replay is an interrupted attempt (``StepInterruptedError``), retried per the
    strategy.
    """

    AT_LEAST_ONCE_PER_RETRY = "AT_LEAST_ONCE_PER_RETRY"
    AT_MOST_ONCE_PER_RETRY = "AT_MOST_ONCE_PER_RETRY"


def _check_serializer(serializer: Serializer | None) -> None:
    if serializer is not None and not isinstance(serializer, Serializer):
        raise ValidationError(
            f"serializer must implement serialize/deserialize, got {type(serializer).__name__}"
        )


@dataclass(frozen=True, slots=True)
class StepConfig:
    """Options of ``ctx.step``; ``retry_strategy=None`` means ``RetryPresets.default()``.

    ``inline=True`` runs a sync step function on the event loop's thread instead
    of a worker thread: cheaper, but only for functions that never block (no I/O,
    no sleeping, no waiting on locks), since while one runs nothing else in the
    invocation (or in a host program's loop) can. An async function is always
    awaited on the loop.
    """

    retry_strategy: RetryStrategy | None = None
    semantics: StepSemantics = StepSemantics.AT_LEAST_ONCE_PER_RETRY
    serializer: Serializer | None = None
    inline: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.inline, bool):
            raise ValidationError(f"inline must be True or False, got {self.inline!r}")
        if self.retry_strategy is not None and not isinstance(self.retry_strategy, RetryStrategy):
            raise ValidationError(
                f"retry_strategy must be a RetryStrategy, got {self.retry_strategy!r}"
            )
        try:
            object.__setattr__(self, "semantics", StepSemantics(self.semantics))
        except ValueError:
            raise ValidationError(
                f"semantics must be a StepSemantics, got {self.semantics!r}"
            ) from None
        _check_serializer(self.serializer)


@dataclass(frozen=True, slots=True)
class ChildConfig:
    """Options of ``ctx.run_in_child_context``: the serializer of its result, and
    ``virtual``: record no CONTEXT operation (its operations are recorded under
    the enclosing context; plugins still see it as an operation)."""

    serializer: Serializer | None = None
    virtual: bool = False

    def __post_init__(self) -> None:
        _check_serializer(self.serializer)


@dataclass(frozen=True, slots=True)
class CallbackConfig:
    """Options of ``ctx.create_callback``.

    ``timeout`` bounds the whole wait, ``heartbeat_timeout`` the time between
    heartbeats; zero disables either. ``serializer`` reads the result.
    """

    timeout: Duration = 0
    heartbeat_timeout: Duration = 0
    serializer: Serializer | None = None

    def __post_init__(self) -> None:
        duration_seconds(
            self.timeout, "timeout", allow_zero=True, maximum=MAX_CALLBACK_TIMEOUT_SECONDS
        )
        duration_seconds(
            self.heartbeat_timeout,
            "heartbeat_timeout",
            allow_zero=True,
            maximum=MAX_CALLBACK_TIMEOUT_SECONDS,
        )
        _check_serializer(self.serializer)

    @property
    def timeout_seconds(self) -> int:
        return duration_seconds(
            self.timeout, "timeout", allow_zero=True, maximum=MAX_CALLBACK_TIMEOUT_SECONDS
        )

    @property
    def heartbeat_timeout_seconds(self) -> int:
        return duration_seconds(
            self.heartbeat_timeout,
            "heartbeat_timeout",
            allow_zero=True,
            maximum=MAX_CALLBACK_TIMEOUT_SECONDS,
        )


@dataclass(frozen=True, slots=True)
class WaitForCallbackConfig(CallbackConfig):
    """Options of ``ctx.wait_for_callback``: the callback's, plus the submitter
    step's retry strategy (``None`` means ``RetryPresets.default()``)."""

    retry_strategy: RetryStrategy | None = None

    def __post_init__(self) -> None:
        super(WaitForCallbackConfig, self).__post_init__()
        if self.retry_strategy is not None and not isinstance(self.retry_strategy, RetryStrategy):
            raise ValidationError(
                f"retry_strategy must be a RetryStrategy, got {self.retry_strategy!r}"
            )


@dataclass(frozen=True, slots=True)
class InvokeConfig:
    """Options of ``ctx.invoke``.

    ``payload_serializer`` writes the payload sent to the target and
    ``result_serializer`` reads the target's result back (both default to the
    handler's serializer); ``tenant_id`` asks for a tenant-isolated invocation.
    """

    payload_serializer: Serializer | None = None
    result_serializer: Serializer | None = None
    tenant_id: str | None = None

    def __post_init__(self) -> None:
        _check_serializer(self.payload_serializer)
        _check_serializer(self.result_serializer)
        if self.tenant_id is not None:
            check_invoke_identifier(self.tenant_id, "tenant_id")


def check_invoke_identifier(value: object, what: str) -> str:
    """``value`` if it is a str of 1 to 256 characters (a function name or tenant
    id, as ``ChainedInvokeOptions`` allows), else ``ValidationError``."""
    if not isinstance(value, str):
        raise ValidationError(f"{what} must be a str, got {type(value).__name__}")
    if not value or len(value) > MAX_INVOKE_IDENTIFIER_LENGTH:
        raise ValidationError(
            f"{what} must have 1 to {MAX_INVOKE_IDENTIFIER_LENGTH} characters, got {len(value)}"
        )
    return value


@dataclass(frozen=True, slots=True)
class WaitStrategy:
    """When a ``wait_for_condition`` polls again, and after how long.

    After poll ``n`` (1-based) returned ``state``: stop when
    ``should_continue(state)`` is false (the condition is met, even on the last
    attempt); else fail with ``WaitForConditionError`` when ``n >= max_attempts``;
    else poll again after ``min(initial_delay * backoff_rate ** (n - 1), max_delay)``
    seconds with ``jitter`` applied, rounded up to whole seconds (as ``RetryStrategy``).
    """

    should_continue: Callable[[Any], bool]
    max_attempts: int = 60
    initial_delay: Duration = 5
    max_delay: Duration = 300
    backoff_rate: float = 1.5
    jitter: Jitter = Jitter.FULL
    _initial: int = field(init=False, repr=False, compare=False)
    _max: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not callable(self.should_continue):
            raise ValidationError(
                f"should_continue must be a callable, got {type(self.should_continue).__name__}"
            )
        _check_backoff(self)

    @classmethod
    def fixed(
        cls, should_continue: Callable[[Any], bool], delay: Duration = 5, *, max_attempts: int = 60
    ) -> WaitStrategy:
        """Poll every ``delay`` seconds (no backoff, no jitter), at most ``max_attempts`` times."""
        return cls(
            should_continue,
            max_attempts=max_attempts,
            initial_delay=delay,
            max_delay=delay,
            backoff_rate=1.0,
            jitter=Jitter.NONE,
        )

    def next_delay(self, state: Any, attempt: int, rng: random.Random | None = None) -> int | None:
        """Seconds until the next poll after ``attempt`` returned ``state``; ``None``: stop."""
        if not self.should_continue(state):
            return None
        if attempt >= self.max_attempts:
            raise WaitForConditionError(
                f"wait_for_condition exhausted its {self.max_attempts} attempts "
                "before the condition was met"
            )
        return _backoff_delay(self, attempt, rng)


@dataclass(frozen=True, slots=True)
class WaitForConditionConfig:
    """Options of ``ctx.wait_for_condition``: the wait strategy, the state the
    first check gets, and the serializer of the state (default: the handler's)."""

    wait_strategy: WaitStrategy
    initial_state: Any = None
    serializer: Serializer | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.wait_strategy, WaitStrategy):
            raise ValidationError(
                f"wait_strategy must be a WaitStrategy, got {type(self.wait_strategy).__name__}"
            )
        _check_serializer(self.serializer)


@dataclass(frozen=True, slots=True)
class CompletionConfig:
    """When a ``parallel`` or ``map`` batch is complete, as data.

    ``min_successful``: complete once that many branches succeeded.
    ``tolerated_failure_count`` / ``tolerated_failure_percentage`` (of all
    branches): stop once failures exceed either. With none of the three set,
    the first failure stops the batch. A stopped batch starts no further
    branch and cancels those still running (they are reported STARTED).
    """

    min_successful: int | None = None
    tolerated_failure_count: int | None = None
    tolerated_failure_percentage: float | None = None

    def __post_init__(self) -> None:
        for what, value, least in (
            ("min_successful", self.min_successful, 1),
            ("tolerated_failure_count", self.tolerated_failure_count, 0),
        ):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < least
            ):
                raise ValidationError(f"{what} must be an int of at least {least}, got {value!r}")
        pct = self.tolerated_failure_percentage
        if pct is not None and (
            isinstance(pct, bool) or not isinstance(pct, int | float) or not 0 <= pct <= 100
        ):
            raise ValidationError(
                f"tolerated_failure_percentage must be a number from 0 to 100, got {pct!r}"
            )

    @classmethod
    def all_completed(cls) -> CompletionConfig:
        """Run every branch, whatever fails."""
        return cls(tolerated_failure_percentage=100)


class NestingMode(StrEnum):
    """How a batch records its branches: each in a CONTEXT operation of its own
    (NESTED), or as virtual contexts whose operations sit directly under the
    batch (FLAT: fewer operations, no per-branch record)."""

    NESTED = "NESTED"
    FLAT = "FLAT"


@dataclass(frozen=True, slots=True)
class ParallelConfig:
    """Options of ``ctx.parallel``.

    ``max_concurrency``: branches running at once (``None``: all). ``serializer``
    writes the whole ``BatchResult`` (default: JSON of its items);
    ``item_serializer`` each branch's result (default: the handler's).
    """

    max_concurrency: int | None = None
    completion: CompletionConfig = field(default_factory=CompletionConfig)
    serializer: Serializer | None = None
    item_serializer: Serializer | None = None
    nesting: NestingMode = NestingMode.NESTED

    def __post_init__(self) -> None:
        _check_batch_config(self)


@dataclass(frozen=True, slots=True)
class MapConfig:
    """Options of ``ctx.map``: those of ``ParallelConfig``, and ``item_namer``,
    ``item_namer(item, index)`` naming each item's operation (default
    ``map-item-<index>``)."""

    max_concurrency: int | None = None
    completion: CompletionConfig = field(default_factory=CompletionConfig)
    serializer: Serializer | None = None
    item_serializer: Serializer | None = None
    nesting: NestingMode = NestingMode.NESTED
    item_namer: Callable[[Any, int], str] | None = None

    def __post_init__(self) -> None:
        _check_batch_config(self)
        if self.item_namer is not None and not callable(self.item_namer):
            raise ValidationError(
                f"item_namer must be callable, got {type(self.item_namer).__name__}"
            )


def _check_batch_config(config: ParallelConfig | MapConfig) -> None:
    limit = config.max_concurrency
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValidationError(
            f"max_concurrency must be a positive int (or None: no limit), got {limit!r}"
        )
    if not isinstance(config.completion, CompletionConfig):
        raise ValidationError(
            f"completion must be a CompletionConfig, got {type(config.completion).__name__}"
        )
    if not isinstance(config.nesting, NestingMode):
        raise ValidationError(f"nesting must be a NestingMode, got {config.nesting!r}")
    _check_serializer(config.serializer)
    _check_serializer(config.item_serializer)
