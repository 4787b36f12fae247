"""Both backends: a test marked ``pytest.mark.anyio`` runs once on Trio (on a
``MockClock(autojump_threshold=0)``) and once on asyncio, through anyio's pytest
plugin; every other async test runs on Trio through pytest-trio's trio_mode.

trio_mode marks every async test for pytest-trio; for the ``anyio`` ones that
mark is taken off again, so anyio's plugin runs them instead. They take no
async fixtures (pytest-trio would claim those).
"""

from __future__ import annotations

from typing import Any

import pytest
import trio.testing


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("anyio") is not None:
            item.own_markers[:] = [mark for mark in item.own_markers if mark.name != "trio"]


@pytest.fixture(params=["trio", "asyncio"])
def anyio_backend(request: pytest.FixtureRequest) -> Any:
    if request.param == "trio":
        return ("trio", {"clock": trio.testing.MockClock(autojump_threshold=0)})
    return "asyncio"
