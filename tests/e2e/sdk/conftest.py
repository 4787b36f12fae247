"""The real local service in the test's own Trio loop (on a virtual clock when
the test asks for ``autojump_clock``); every test runs its workflows once on
Trio and once on asyncio (``sdk_e2e_helpers.register``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest
from sdk_e2e_helpers import BACKEND

from trio_durable.local.service import LocalService, open_local_service


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "workflow_on_trio: run once, on Trio (the workflow calls Trio itself, or the test "
        "picks its invokers itself)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "workflow_backend" in metafunc.fixturenames:
        on_trio = metafunc.definition.get_closest_marker("workflow_on_trio") is not None
        backends = ["trio"] if on_trio else ["trio", "asyncio"]
        metafunc.parametrize("workflow_backend", backends, indirect=True)


@pytest.fixture(autouse=True)
def workflow_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    BACKEND["name"] = request.param
    try:
        yield request.param
    finally:
        BACKEND["name"] = "trio"


@pytest.fixture
async def service() -> AsyncIterator[LocalService]:
    async with open_local_service() as running:
        yield running
