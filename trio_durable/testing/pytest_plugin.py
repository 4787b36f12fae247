"""The pytest plugin installed with trio-durable (entry point ``pytest11``).

Fixtures:

- ``durable_runner``: ``runner = await durable_runner(handler, **options)`` starts
  a ``DurableTestRunner``, closed when the test ends.
- ``durable_clock``: the ``MockClock(autojump_threshold=0)`` the test runs under.
- ``golden``: ``golden.check(result)`` compares an execution's history with its
  golden file (``golden/<test module>/<test name>.json`` next to the test),
  writing it on the first run or with ``--update-golden``.

An ``async def`` test that uses ``durable_runner`` or ``durable_clock`` (or is
marked ``@pytest.mark.durable``) runs on Trio with virtual time: no ``trio_mode``
setting and no pytest-trio needed. Under pytest-trio's ``trio_mode`` the plugin
still runs those tests itself, so they cannot also use async fixtures.
"""

from __future__ import annotations

import inspect
import re
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest
import trio
import trio.testing

from trio_durable.testing.golden import check_golden
from trio_durable.testing.runner import DurableTestRunner, ExecutionResult

__all__ = ["DurableRunners", "Golden"]

_FIXTURES = frozenset({"durable_runner", "durable_clock"})
_WRITTEN = pytest.StashKey[list[Path]]()


class DurableRunners:
    """The ``durable_runner`` fixture: starts runners the test's end closes."""

    def __init__(self) -> None:
        self._stack = AsyncExitStack()

    async def __call__(self, handler: Any, **options: Any) -> DurableTestRunner:
        """A started ``DurableTestRunner(handler, **options)``."""
        return await self._stack.enter_async_context(DurableTestRunner(handler, **options))

    async def aclose(self) -> None:
        await self._stack.aclose()


class Golden:
    """The ``golden`` fixture: golden-history checks for one test."""

    def __init__(self, folder: Path, test_name: str, *, update: bool, written: list[Path]):
        self.folder = folder
        self.test_name = test_name
        self.update = update
        self._written = written

    def path(self, name: str | None = None) -> Path:
        """The golden file of this test (of its check called ``name``)."""
        stem = self.test_name if name is None else f"{self.test_name}-{name}"
        return self.folder / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', stem)}.json"

    def check(self, result: ExecutionResult[Any], name: str | None = None) -> None:
        """Assert that ``result``'s history matches the golden file (see
        ``trio_durable.testing.golden``); write the file on the first run or
        with ``--update-golden``."""
        path = self.path(name)
        if check_golden(result, path, update=self.update):
            self._written.append(path)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("trio-durable")
    group.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="rewrite the golden history files that golden.check() compares with",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "durable: run this async test on Trio with virtual time (trio-durable)"
    )
    config.stash[_WRITTEN] = []


def _ours(item: pytest.Item) -> bool:
    return (
        isinstance(item, pytest.Function)
        and inspect.iscoroutinefunction(item.obj)
        and (
            item.get_closest_marker("durable") is not None
            or bool(_FIXTURES & set(item.fixturenames))
        )
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Take our tests from pytest-trio (its ``trio_mode`` marks every async test)."""
    for item in items:
        if _ours(item):
            item.own_markers[:] = [m for m in item.own_markers if m.name != "trio"]


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run our async tests under ``trio.run`` with the test's MockClock."""
    if not _ours(pyfuncitem):
        return None
    test = pyfuncitem.obj
    funcargs = pyfuncitem.funcargs
    kwargs = {
        name: funcargs[name] for name in inspect.signature(test).parameters if name in funcargs
    }
    clock = funcargs.get("durable_clock")
    if not isinstance(clock, trio.abc.Clock):
        clock = trio.testing.MockClock(autojump_threshold=0)
    runners = funcargs.get("durable_runner")

    async def main() -> None:
        try:
            await test(**kwargs)
        finally:
            if isinstance(runners, DurableRunners):
                await runners.aclose()

    trio.run(main, clock=clock)
    return True


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    written = config.stash.get(_WRITTEN, [])
    if written:
        terminalreporter.write_line(f"trio-durable: wrote {len(written)} golden file(s):")
        for path in written:
            terminalreporter.write_line(f"  {path}")


@pytest.fixture
def durable_clock() -> trio.testing.MockClock:
    """The virtual clock the test runs under: it jumps whenever every task waits."""
    return trio.testing.MockClock(autojump_threshold=0)


@pytest.fixture
def durable_runner(durable_clock: trio.testing.MockClock) -> DurableRunners:
    """``runner = await durable_runner(handler, **options)``: a started
    ``DurableTestRunner``, closed when the test ends."""
    return DurableRunners()


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    """``golden.check(result)``: compare with (or write) this test's golden history."""
    path = Path(request.node.path)
    return Golden(
        path.parent / "golden" / path.stem,
        request.node.name,
        update=bool(request.config.getoption("--update-golden")),
        written=request.config.stash[_WRITTEN],
    )
