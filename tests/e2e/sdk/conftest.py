"""The real local service in the test's own Trio loop (on a virtual clock when
the test asks for ``autojump_clock``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from trio_durable.local.service import LocalService, open_local_service


@pytest.fixture
async def service() -> AsyncIterator[LocalService]:
    async with open_local_service() as running:
        yield running
