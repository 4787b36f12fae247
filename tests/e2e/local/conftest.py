"""Fixtures of the local service's end-to-end tests (helpers: ``local_service_harness``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from local_service_harness import Server, running_server


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """The service and its HTTP API, shared by one test module."""
    with running_server() as running:
        yield running
