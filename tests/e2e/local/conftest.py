"""Fixtures of the local service's end-to-end tests (helpers: ``local_service_harness``)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest
from local_service_harness import ParkedInvoker, Server, running_server

_names = itertools.count(1)


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    """The service and its HTTP API, shared by one test module."""
    with running_server() as running:
        yield running


@pytest.fixture
def fn(server: Server) -> Iterator[tuple[str, ParkedInvoker]]:
    """A fresh function on the module's server, played by the test (its name, invoker)."""
    name = f"fn-{next(_names)}"
    invoker = ParkedInvoker()
    server.register(name, invoker)
    yield name, invoker
