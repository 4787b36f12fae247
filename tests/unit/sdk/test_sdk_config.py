"""Configs: validated at construction; retry strategies computed as data."""

from __future__ import annotations

import hashlib
import random
import threading
from datetime import timedelta

import pytest

from trio_durable import (
    CallbackConfig,
    Jitter,
    RetryPresets,
    RetryStrategy,
    StepConfig,
    StepSemantics,
    ValidationError,
    WaitForCallbackConfig,
)
from trio_durable.runtime.ids import MAX_KNOWN_ROOT_IDS, cached_id, known_ids, operation_id


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (-1, "must not be negative"),
        (timedelta(seconds=-5), "must not be negative"),
        (0.5, "at least 1 second"),
        (timedelta(milliseconds=999), "at least 1 second"),
        (1.5, "whole number of seconds"),
        ("10", "timedelta or a number"),
    ],
)
def test_callback_timeouts_reject_bad_durations(value: object, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        CallbackConfig(timeout=value)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="heartbeat_timeout"):
        WaitForCallbackConfig(heartbeat_timeout=value)  # type: ignore[arg-type]


def test_zero_timeout_disables_and_whole_seconds_are_kept() -> None:
    config = CallbackConfig(timeout=0, heartbeat_timeout=timedelta(minutes=2))
    assert (config.timeout_seconds, config.heartbeat_timeout_seconds) == (0, 120)


def test_retry_strategy_validation() -> None:
    with pytest.raises(ValidationError, match="max_attempts"):
        RetryStrategy(max_attempts=0)
    with pytest.raises(ValidationError, match="backoff_rate"):
        RetryStrategy(backoff_rate=0.5)
    with pytest.raises(ValidationError, match="max_delay"):
        RetryStrategy(initial_delay=10, max_delay=5)
    with pytest.raises(ValidationError, match="jitter"):
        RetryStrategy(jitter="SOME")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="retry_on"):
        RetryStrategy(retry_on=(int,))  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="semantics"):
        StepConfig(semantics="ONCE")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="retry_strategy"):
        StepConfig(retry_strategy=3)  # type: ignore[arg-type]


def test_default_preset_matches_the_published_default() -> None:
    default = RetryPresets.default()
    assert (default.max_attempts, default.backoff_rate, default.jitter) == (6, 2.0, Jitter.FULL)
    assert (default.initial_delay, default.max_delay) == (5, 60)
    assert RetryPresets.none().next_delay(RuntimeError(), 1) is None


def test_backoff_without_jitter_is_exact_and_capped() -> None:
    strategy = RetryStrategy(
        max_attempts=6, initial_delay=2, max_delay=20, backoff_rate=3, jitter=Jitter.NONE
    )
    delays = [strategy.next_delay(RuntimeError(), n) for n in range(1, 7)]
    assert delays == [2, 6, 18, 20, 20, None]


@pytest.mark.parametrize(("jitter", "low"), [(Jitter.FULL, 1), (Jitter.HALF, 5)])
def test_jitter_stays_within_its_range(jitter: Jitter, low: int) -> None:
    strategy = RetryStrategy(initial_delay=10, max_delay=10, jitter=jitter)
    rng = random.Random(7)
    delays = {strategy.next_delay(RuntimeError(), 1, rng) or 0 for _ in range(300)}
    assert min(delays) >= low
    assert max(delays) <= 10
    assert len(delays) > 3


def test_only_listed_exceptions_are_retried() -> None:
    class Transient(Exception):
        pass

    strategy = RetryStrategy(retry_on=(Transient,), jitter=Jitter.NONE)
    assert strategy.next_delay(Transient(), 1) == 5
    assert strategy.next_delay(ValueError(), 1) is None


def test_semantics_accepts_its_string_value() -> None:
    config = StepConfig(semantics="AT_MOST_ONCE_PER_RETRY")  # type: ignore[arg-type]
    assert config.semantics is StepSemantics.AT_MOST_ONCE_PER_RETRY


def test_inline_is_off_by_default_and_must_be_a_bool() -> None:
    assert StepConfig().inline is False
    assert StepConfig(inline=True).inline is True
    with pytest.raises(ValidationError, match="inline must be True or False, got 'yes'"):
        StepConfig(inline="yes")  # type: ignore[arg-type]


def test_operation_ids_follow_the_official_scheme() -> None:
    assert operation_id(None, 1) == hashlib.blake2b(b"1").hexdigest()[:64]
    child = operation_id(None, 3)
    assert operation_id(child, 2) == hashlib.blake2b(f"{child}-2".encode()).hexdigest()[:64]


def test_the_root_ids_asked_for_are_known_by_index_every_one_before_them_too() -> None:
    def scheme(counter: int) -> str:
        return hashlib.blake2b(str(counter).encode()).hexdigest()[:64]

    start = len(known_ids(None))  # earlier tests of this process asked for some
    assert start + 45 <= MAX_KNOWN_ROOT_IDS
    assert operation_id(None, start + 40) == scheme(start + 40)  # out of order: a gap first
    assert operation_id(None, start + 45) == scheme(start + 45)
    known = known_ids(None)
    assert len(known) >= start + 45
    assert list(known[: start + 45]) == [scheme(k) for k in range(1, start + 46)]
    cached_id.cache_clear()
    assert operation_id(None, start + 44) == known[start + 43]  # from the list, not the cache
    # Bounded: beyond MAX_KNOWN_ROOT_IDS the cache answers, the list stays.
    far = MAX_KNOWN_ROOT_IDS + 5
    assert operation_id(None, far) == scheme(far)
    assert len(known_ids(None)) < far
    assert known_ids(operation_id(None, 1)) == ()  # other contexts: hashed, cached
    assert operation_id(None, 1) != operation_id(None, 2)
    assert operation_id(None, 0) == scheme(0)  # not in the list: a batch's branches count from 0


def test_the_root_ids_are_kept_in_the_list_alone() -> None:
    # Not in the cache too: a first replay hashes each id once and keeps it once.
    before = cached_id.cache_info()
    assert operation_id(None, len(known_ids(None)) + 3) == known_ids(None)[-1]
    assert operation_id(None, 1) == known_ids(None)[0]
    after = cached_id.cache_info()
    assert (after.hits, after.misses, after.currsize) == (
        before.hits,
        before.misses,
        before.currsize,
    )


def test_the_root_ids_stay_in_order_when_threads_ask_for_them_at_once() -> None:
    start = len(known_ids(None))
    top = start + 300
    assert top <= MAX_KNOWN_ROOT_IDS
    orders = [random.Random(seed).sample(range(start + 1, top + 1), 300) for seed in range(6)]
    answers: list[dict[int, str]] = [{} for _ in orders]
    barrier = threading.Barrier(len(orders))

    def ask(order: list[int], answer: dict[int, str]) -> None:
        barrier.wait()
        for counter in order:
            answer[counter] = operation_id(None, counter)

    threads = [
        threading.Thread(target=ask, args=pair) for pair in zip(orders, answers, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    scheme = {k: hashlib.blake2b(str(k).encode()).hexdigest()[:64] for k in range(1, top + 1)}
    assert all(
        answer == {k: scheme[k] for k in order}
        for order, answer in zip(orders, answers, strict=True)
    )
    assert list(known_ids(None)[:top]) == [scheme[k] for k in range(1, top + 1)]
