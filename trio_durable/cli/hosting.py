"""What the commands that host a service (``run``, ``serve``) share: opening the
store, an observed store for the timeline, ``--function`` specs and invokers."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Protocol

from trio_durable.cli.options import CliError
from trio_durable.local.invokers import Invoker, ThreadInvoker, is_async_handler
from trio_durable.local.sqlite_store import DEFAULT_PATH, SQLiteStore
from trio_durable.local.store import ExecutionChange, MemoryStore, Store, StoredExecution
from trio_durable.local.subprocess_invoker import SubprocessInvoker
from trio_durable.local.targets import load_target, split_target

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
    successful write."""

    __slots__ = ("_inner", "_observer")

    def __init__(self, inner: Store, observer: StoreObserver):
        self._inner = inner
        self._observer = observer

    def write(self, changes: Sequence[ExecutionChange]) -> None:
        self._inner.write(changes)
        self._observer.on_write(changes)

    def load(self) -> Iterator[StoredExecution]:
        for stored in self._inner.load():
            self._observer.on_load(stored)
            yield stored

    def load_execution(self, arn: str) -> StoredExecution | None:
        return self._inner.load_execution(arn)

    def delete(self, arn: str) -> None:
        self._inner.delete(arn)

    def close(self) -> None:
        self._inner.close()


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


def make_invoker(
    target: str, mode: str, *, endpoint: str, region: str, env: Mapping[str, str] | None = None
) -> Invoker:
    """The invoker for ``target``: ``inprocess`` (each invocation in a thread of
    this process, an async handler such as a trio-durable one on an event loop of
    its own there) or ``subprocess`` (worker processes, with ``env`` added to their
    environment). Handlers that are not async reach the service over HTTP at
    ``endpoint``, as on Lambda."""
    if mode == "subprocess":
        split_target(target)
        return SubprocessInvoker(target, endpoint=endpoint, region=region, env=env)
    handler = load_target(target)
    if not is_async_handler(handler):
        point_sdks_at(endpoint, region)
    return ThreadInvoker(handler)


async def start_invokers(
    stack: AsyncExitStack,
    targets: Mapping[str, str],
    *,
    mode: str,
    endpoint: str,
    region: str,
    environments: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, Invoker]:
    """One invoker per function of ``targets`` (``environments``: a function's own
    worker environment). Subprocess invokers start their first worker now, so a
    target that cannot load is reported at startup; their workers stop with ``stack``."""
    invokers: dict[str, Invoker] = {}
    for name, target in targets.items():  # handlers that cannot load stop us here
        env = (environments or {}).get(name)
        invoker = invokers[name] = make_invoker(
            target, mode, endpoint=endpoint, region=region, env=env
        )
        if isinstance(invoker, SubprocessInvoker):
            stack.push_async_callback(invoker.aclose)
            await invoker.start()
    return invokers


def point_sdks_at(endpoint: str, region: str) -> None:
    """Let a handler running in this process reach the service, as Lambda's would."""
    os.environ["AWS_ENDPOINT_URL_LAMBDA"] = endpoint
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_REGION", region)
    os.environ.setdefault("AWS_DEFAULT_REGION", region)
