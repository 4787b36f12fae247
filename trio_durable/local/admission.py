"""Which requests the HTTP API admits, and how many at once (sans-IO).

The local service has no authentication: whoever reaches its port drives every
execution. It listens on loopback unless told otherwise, and refuses, with 403
``AccessDeniedException``, what a web page open in the user's browser could send:

- a ``Host`` that is neither an address nor a name the service listens on: a page
  of ``rebind.attacker.example``, whose name the attacker points at 127.0.0.1
  (DNS rebinding), reaches the port with that name as its Host;
- an ``Origin`` other than the service's own: a page of another site may POST to
  the port without a CORS preflight (``Content-Type: text/plain``), and the
  browser names that site in Origin.

boto3, the CLI, the SDK and curl send the address they connect to as Host and no
Origin; a page served from the port itself (the web console) sends its own origin.

The work in progress is bounded too: at most ``max_requests`` requests are worked
on at once, and as many synchronous Invokes may wait for their executions apart
from them (a waiting Invoke costs a task and a socket, and must not crowd out the
checkpoints of the very execution it waits for). A request beyond either bound is
refused at once with 429 ``TooManyRequestsException``, which boto3 and the SDK
retry with back-off.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from trio_durable.errors import ServiceError, ValidationError

ANY_HOST = "*"


@dataclass(frozen=True, slots=True)
class HttpLimits:
    """Bounds and allow-list of the HTTP API.

    ``max_requests``: requests worked on at once (and, apart, synchronous Invokes
    waiting for their execution); ``body_timeout``: seconds a request's body may
    take to arrive (a slow or stalled client gets 408 and its connection is
    closed); ``idle_timeout``: seconds a connection may wait for its next
    request, or for the rest of a request's headers, before it is closed (well
    above the gaps between a pooled client's calls, so a reused connection is
    rarely closed just as a request is sent on it); ``backlog``: connections the
    kernel queues before the service accepts them; ``allowed_hosts``: more names
    admitted as Host (``*``: any).
    """

    max_requests: int = 256
    body_timeout: float = 10.0
    idle_timeout: float = 60.0
    backlog: int = 1024
    allowed_hosts: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("max_requests", "body_timeout", "idle_timeout", "backlog"):
            value = getattr(self, name)
            if isinstance(value, bool) or not value > 0:
                raise ValidationError(f"{name} must be more than 0, got {value!r}")


@dataclass(frozen=True, slots=True)
class AdmissionStatistics:
    """What the HTTP API admitted and refused since it started."""

    requests_in_progress: int
    invokes_waiting: int
    most_requests_in_progress: int
    refused_busy: int
    refused_forbidden: int


class Admission:
    """Host/Origin checks and the bounds of one HTTP API listening on ``address``
    (the bound IP address) as ``host`` (the name or address it was asked to
    listen on). Sync: the caller is one Trio thread."""

    __slots__ = (
        "_address",
        "_any_host",
        "_in_progress",
        "_limits",
        "_most",
        "_names",
        "_refused_busy",
        "_refused_forbidden",
        "_waiting",
    )

    def __init__(self, address: str, host: str | None = None, limits: HttpLimits | None = None):
        self._limits = limits or HttpLimits()
        self._address = ipaddress.ip_address(address)
        allowed = {_bare(name) for name in self._limits.allowed_hosts}
        self._any_host = ANY_HOST in allowed
        names = allowed - {ANY_HOST}
        if host:
            names.add(_bare(host))
        if self._address.is_loopback or self._address.is_unspecified:
            names.add("localhost")
        if not self._address.is_loopback:
            names.add(_bare(socket.gethostname()))
        self._names = frozenset(names)
        self._in_progress = 0
        self._waiting = 0
        self._most = 0
        self._refused_busy = 0
        self._refused_forbidden = 0

    @property
    def limits(self) -> HttpLimits:
        return self._limits

    # --- who -----------------------------------------------------------------------

    def check_sender(self, host: str | None, origin: str | None) -> None:
        """Refuse (403 ``AccessDeniedException``) a request whose Host the service
        does not answer to, or whose Origin is another site's."""
        if host is not None and not self._admits_host(host):
            self._refused_forbidden += 1
            raise _forbidden(
                f"Host {host!r} is not an address or name this service listens on"
                " (a web page reaching it under another name: DNS rebinding);"
                f" to admit it, serve with --allow-host {_bare(host)}"
            )
        if origin is not None and (host is None or origin.lower() != f"http://{host.lower()}"):
            self._refused_forbidden += 1
            own = "none" if host is None else f"http://{host}"
            raise _forbidden(
                f"Origin {origin!r} is not this service's own ({own}): the service has"
                " no authentication, so it takes no requests from other web pages"
            )

    def _admits_host(self, host: str) -> bool:
        name = _bare(host)
        if self._any_host or name in self._names:
            return True
        if name.endswith(".localhost") and "localhost" in self._names:
            return True  # browsers resolve *.localhost to loopback themselves
        try:
            address = ipaddress.ip_address(name)
        except ValueError:
            return False
        if self._address.is_unspecified:
            return True  # an address literal cannot be re-pointed, and it reached us
        if self._address.is_loopback:
            return address.is_loopback
        return address == self._address

    # --- how many -----------------------------------------------------------------------

    def enter(self) -> None:
        """A request starts being worked on (429 ``TooManyRequestsException`` when
        ``max_requests`` already are); pair with ``leave``."""
        if self._in_progress >= self._limits.max_requests:
            self._refused_busy += 1
            raise _too_many(
                f"{self._in_progress} requests are in progress, the most this service"
                " works on at once (serve --max-requests); retry in a moment"
            )
        self._in_progress += 1
        self._most = max(self._most, self._in_progress)

    def leave(self) -> None:
        self._in_progress -= 1

    def start_waiting(self) -> None:
        """A synchronous Invoke stops counting as work while it waits for its
        execution (429 when ``max_requests`` Invokes already wait); pair with
        ``stop_waiting``, which counts it as work again, to write its answer."""
        if self._waiting >= self._limits.max_requests:
            self._refused_busy += 1
            raise _too_many(
                f"{self._waiting} synchronous Invokes are waiting for their executions,"
                " the most this service holds (serve --max-requests); retry in a moment"
                " or invoke with InvocationType Event"
            )
        self._waiting += 1
        self._in_progress -= 1

    def stop_waiting(self) -> None:
        self._waiting -= 1
        self._in_progress += 1

    def statistics(self) -> AdmissionStatistics:
        return AdmissionStatistics(
            requests_in_progress=self._in_progress,
            invokes_waiting=self._waiting,
            most_requests_in_progress=self._most,
            refused_busy=self._refused_busy,
            refused_forbidden=self._refused_forbidden,
        )


def exposure_warning(address: str) -> str | None:
    """The warning to print when the service listens beyond loopback, else None."""
    try:
        loopback = ipaddress.ip_address(address).is_loopback
    except ValueError:
        loopback = address.lower() == "localhost"
    if loopback:
        return None
    return (
        f"warning: listening on {address}, so other machines can reach this service;"
        " it has no authentication: anyone who reaches the port can start, stop and"
        " read every execution"
    )


def _bare(host: str) -> str:
    """The name or address of a Host header value: no port, no brackets, no
    trailing dot, lower case."""
    value = host.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else value
    if value.count(":") == 1:
        value = value.partition(":")[0]
    return value.rstrip(".")


def _forbidden(reason: str) -> ServiceError:
    return ServiceError("AccessDeniedException", f"request refused: {reason}", http_status=403)


def _too_many(message: str) -> ServiceError:
    return ServiceError("TooManyRequestsException", message)
