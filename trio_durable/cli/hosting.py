"""What the commands that host a service (``run``, ``serve``) share: the listening
socket, opening the store, an observed store for the timeline, ``--function``
specs and invokers."""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import trio

from trio_durable.cli.options import CliError
from trio_durable.errors import ValidationError
from trio_durable.local import http
from trio_durable.local.admission import exposure_warning
from trio_durable.local.invokers import (
    DEFAULT_HANDLER_THREADS,
    Invoker,
    ThreadInvoker,
    is_async_handler,
)
from trio_durable.local.sqlite_store import DEFAULT_PATH, SQLiteStore
from trio_durable.local.store import ExecutionChange, MemoryStore, Store, StoredExecution
from trio_durable.local.subprocess_invoker import (
    DEFAULT_IDLE_TIMEOUT_SECONDS,
    DEFAULT_MAX_WORKERS,
    SubprocessInvoker,
    check_targets,
    worker_env,
)
from trio_durable.local.targets import load_target, split_target


def listen(host: str, port: int) -> socket.socket:
    """The bound socket the service will serve; a warning on stderr when it is
    reachable beyond this machine's loopback (the service has no authentication)."""
    sock = http.bind_socket(host, port)
    warning = exposure_warning(sock.getsockname()[0])
    if warning is not None:
        print(f"trio-durable: {warning}", file=sys.stderr, flush=True)
    return sock


# --- stores -------------------------------------------------------------------------


def open_store(spec: str) -> Store:
    """``memory``, ``sqlite`` (the default file) or ``sqlite:PATH``."""
    kind, _, path = spec.partition(":")
    if kind == "memory" and not path:
        return MemoryStore()
    if kind == "sqlite":
        return SQLiteStore(Path(path) if path else DEFAULT_PATH)
    raise CliError(f"bad --store {spec!r}: use memory, sqlite or sqlite:PATH")


class StoreObserver(Protocol):
    def on_load(self, stored: StoredExecution) -> None: ...

    def on_write(self, changes: Sequence[ExecutionChange]) -> None: ...


class ObservedStore:
    """A ``Store`` that shows ``observer`` every execution it loads and every
    successful write. An observer that fails is reported on stderr and never
    fails the store: the write has happened."""

    __slots__ = ("_inner", "_observer")

    def __init__(self, inner: Store, observer: StoreObserver):
        self._inner = inner
        self._observer = observer

    def write(self, changes: Sequence[ExecutionChange]) -> None:
        self._inner.write(changes)
        try:
            self._observer.on_write(changes)
        except Exception as exc:
            _report(exc)

    def load(self) -> Iterator[StoredExecution]:
        for stored in self._inner.load():
            try:
                self._observer.on_load(stored)
            except Exception as exc:
                _report(exc)
            yield stored

    def load_execution(self, arn: str) -> StoredExecution | None:
        return self._inner.load_execution(arn)

    def delete(self, arn: str) -> None:
        self._inner.delete(arn)

    def close(self) -> None:
        self._inner.close()


def _report(exc: Exception) -> None:
    print(f"trio-durable: the timeline failed to show a change: {exc!r}", file=sys.stderr)


# --- functions and invokers ---------------------------------------------------------


def parse_functions(specs: Sequence[str]) -> dict[str, str]:
    """``--function NAME=TARGET`` values as a name -> target mapping, checked."""
    functions: dict[str, str] = {}
    for spec in specs:
        name, sep, target = spec.partition("=")
        if not sep or not name or not target:
            raise CliError(f"bad --function {spec!r}: expected NAME=TARGET")
        if name in functions:
            raise CliError(f"--function {name!r} is given twice")
        split_target(target)
        functions[name] = target
    return functions


@dataclass(frozen=True, slots=True)
class InvokerOptions:
    """How ``serve`` and ``run`` run handlers (``--invoker``, ``--workers``,
    ``--worker-idle-timeout``, ``--threads``)."""

    mode: str = "inprocess"
    workers: int = DEFAULT_MAX_WORKERS
    worker_idle_timeout: float = DEFAULT_IDLE_TIMEOUT_SECONDS
    threads: int = DEFAULT_HANDLER_THREADS

    @classmethod
    def of(cls, args: argparse.Namespace) -> InvokerOptions:
        return cls(args.invoker, args.workers, args.worker_idle_timeout, args.threads)


async def start_invokers(
    stack: AsyncExitStack,
    targets: Mapping[str, str],
    options: InvokerOptions,
    *,
    endpoint: str,
    region: str,
    environments: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Invoker]:
    """One invoker per function of ``targets``; a target that cannot load is
    reported here (``ValidationError``).

    ``inprocess``: each invocation in a thread of this process, an async handler
    (a trio-durable one) on an event loop of its own there; at most
    ``options.threads`` at once across all functions. ``subprocess``: up to
    ``options.workers`` worker processes per function (``environments``: a
    function's own additions to their environment), started when needed and
    stopped with ``stack`` or when idle; every target is loaded once to check it,
    in one process per distinct environment. Handlers that are not async reach
    the service over HTTP at ``endpoint``, as on Lambda.
    """
    if options.mode == "subprocess":
        return await _start_subprocess_invokers(
            stack, targets, options, endpoint=endpoint, region=region, environments=environments
        )
    limiter = trio.CapacityLimiter(options.threads)
    handlers = {name: load_target(target) for name, target in targets.items()}
    if not all(is_async_handler(handler) for handler in handlers.values()):
        point_sdks_at(endpoint, region)
    return {name: ThreadInvoker(handler, limiter=limiter) for name, handler in handlers.items()}


async def _start_subprocess_invokers(
    stack: AsyncExitStack,
    targets: Mapping[str, str],
    options: InvokerOptions,
    *,
    endpoint: str,
    region: str,
    environments: Mapping[str, Mapping[str, str]] | None,
) -> dict[str, Invoker]:
    envs = {name: dict((environments or {}).get(name) or {}) for name in targets}
    groups: dict[tuple[tuple[str, str], ...], set[str]] = {}
    for name, target in targets.items():
        split_target(target)
        groups.setdefault(tuple(sorted(envs[name].items())), set()).add(target)
    errors: dict[str, str] = {}

    async def check(env: tuple[tuple[str, str], ...], group: set[str]) -> None:
        found = await check_targets(sorted(group), env=worker_env(endpoint, region, dict(env)))
        errors.update(found)

    async with trio.open_nursery() as nursery:
        for env, group in groups.items():
            nursery.start_soon(check, env, group)
    if errors:
        raise ValidationError("; ".join(errors[target] for target in sorted(errors)))
    invokers: dict[str, Invoker] = {}
    for name, target in targets.items():
        invoker = SubprocessInvoker(
            target,
            endpoint=endpoint,
            region=region,
            max_workers=options.workers,
            idle_timeout=options.worker_idle_timeout,
            env=envs[name],
        )
        stack.push_async_callback(invoker.aclose)
        invokers[name] = invoker
    return invokers


def point_sdks_at(endpoint: str, region: str) -> None:
    """Let a handler running in this process reach the service, as Lambda's would."""
    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_REGION", region)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
