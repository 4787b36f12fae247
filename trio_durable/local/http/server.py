"""Serving the HTTP API: a bound socket, its endpoint URL, and ``serve`` (hypercorn
on Trio, the thin I/O layer under ``HttpApi``)."""

from __future__ import annotations

import errno
import socket

import trio

from trio_durable.errors import DurableExecutionError
from trio_durable.local.admission import Admission, HttpLimits
from trio_durable.local.http.api import HttpApi
from trio_durable.local.service import LocalService

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9797


class AddressInUseError(DurableExecutionError):
    """The HTTP API's port is taken."""


def bind_socket(host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> socket.socket:
    """A listening-ready TCP socket on ``host:port`` (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise AddressInUseError(
                f"port {port} on {host} is already in use (another trio-durable serve?);"
                " choose another with --port"
            ) from None
        raise AddressInUseError(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    return sock


def endpoint_of(sock: socket.socket) -> str:
    """The ``http://host:port`` URL a bound socket serves."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


async def serve(
    service: LocalService,
    *,
    host: str | None = None,
    port: int = DEFAULT_PORT,
    sock: socket.socket | None = None,
    limits: HttpLimits | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``service`` over HTTP until cancelled; ``task_status`` gets the endpoint URL.

    Pass an already bound ``sock`` (see ``bind_socket``) to learn the port early;
    otherwise ``host`` (default 127.0.0.1) and ``port`` are bound here
    (``AddressInUseError`` when taken). ``host`` is also a name requests may give
    as their Host. ``limits`` bound the requests and name more admitted hosts.
    """
    from hypercorn.config import Config
    from hypercorn.trio import serve as hypercorn_serve

    if sock is None:
        sock = bind_socket(host or DEFAULT_HOST, port)
    endpoint = endpoint_of(sock)
    limits = limits or HttpLimits()
    app = HttpApi(service, Admission(sock.getsockname()[0], host, limits))
    config = Config()
    config.bind = [f"fd://{sock.detach()}"]
    config.backlog = limits.backlog
    config.accesslog = None
    config.errorlog = None
    config.keep_alive_timeout = limits.idle_timeout
    config.graceful_timeout = 1.0
    async with trio.open_nursery() as nursery:
        await nursery.start(hypercorn_serve, app, config)
        task_status.started(endpoint)
