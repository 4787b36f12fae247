"""Admission: which Host and Origin headers the HTTP API admits, and its bounds on
requests in progress (sans-IO; the real-process tests are test_http_admission.py)."""

from __future__ import annotations

import socket

import pytest

from trio_durable.errors import ServiceError, ValidationError
from trio_durable.local.admission import Admission, HttpLimits, exposure_warning


def _refusal(admission: Admission, host: str | None, origin: str | None = None) -> str | None:
    try:
        admission.check_sender(host, origin)
    except ServiceError as exc:
        assert exc.code == "AccessDeniedException"
        assert exc.http_status == 403
        return exc.message
    return None


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:9797",
        "127.0.0.1",
        "127.1.2.3:9797",
        "[::1]:9797",
        "localhost:9797",
        "LOCALHOST.:9797",
        "console.localhost:9797",
    ],
)
def test_on_loopback_loopback_addresses_and_localhost_are_admitted(host: str) -> None:
    assert _refusal(Admission("127.0.0.1"), host) is None


@pytest.mark.parametrize(
    "host",
    ["rebind.attacker.example:9797", "192.168.1.10:9797", "localhost.attacker.example", ""],
)
def test_on_loopback_other_names_and_addresses_are_refused(host: str) -> None:
    message = _refusal(Admission("127.0.0.1"), host)
    assert message is not None
    assert f"Host {host!r} is not an address or name this service listens on" in message
    assert "--allow-host" in message


def test_a_request_without_host_or_origin_is_admitted() -> None:
    assert _refusal(Admission("127.0.0.1"), None) is None


def test_allowed_hosts_add_names_and_a_star_admits_any() -> None:
    admission = Admission("127.0.0.1", limits=HttpLimits(allowed_hosts=("Dev.Example",)))
    assert _refusal(admission, "dev.example:9797") is None
    assert _refusal(admission, "other.example:9797") is not None
    anything = Admission("127.0.0.1", limits=HttpLimits(allowed_hosts=("*",)))
    assert _refusal(anything, "other.example:9797") is None


def test_on_every_address_any_address_literal_and_this_machines_name_are_admitted() -> None:
    admission = Admission("0.0.0.0")
    for host in ("10.1.2.3:9797", "[fe80::1]:9797", "localhost", socket.gethostname()):
        assert _refusal(admission, host) is None, host
    assert _refusal(admission, "rebind.attacker.example") is not None


def test_on_one_address_that_address_and_the_name_it_was_given_are_admitted() -> None:
    admission = Admission("192.168.1.5", "devbox.lan")
    assert _refusal(admission, "192.168.1.5:9797") is None
    assert _refusal(admission, "devbox.lan:9797") is None
    assert _refusal(admission, "192.168.1.6:9797") is not None
    assert _refusal(admission, "localhost:9797") is not None  # not listening on loopback
    assert _refusal(admission, f"{socket.gethostname()}:9797") is None  # this machine


def test_only_the_services_own_origin_is_admitted() -> None:
    admission = Admission("127.0.0.1")
    assert _refusal(admission, "127.0.0.1:9797", "http://127.0.0.1:9797") is None
    assert _refusal(admission, "localhost:9797", "HTTP://LocalHost:9797") is None
    for origin in (
        "http://attacker.example",
        "null",
        "http://127.0.0.1:9798",
        "https://127.0.0.1:9797",
    ):
        message = _refusal(admission, "127.0.0.1:9797", origin)
        assert message is not None
        assert f"Origin {origin!r} is not this service's own (http://127.0.0.1:9797)" in message
    assert _refusal(admission, None, "http://127.0.0.1:9797") is not None


def test_requests_beyond_the_bound_are_too_many_until_one_leaves() -> None:
    admission = Admission("127.0.0.1", limits=HttpLimits(max_requests=2))
    admission.enter()
    admission.enter()
    with pytest.raises(ServiceError) as refused:
        admission.enter()
    assert refused.value.code == "TooManyRequestsException"
    assert refused.value.http_status == 429
    assert "2 requests are in progress" in refused.value.message
    admission.leave()
    admission.enter()
    stats = admission.statistics()
    assert (stats.requests_in_progress, stats.most_requests_in_progress) == (2, 2)
    assert stats.refused_busy == 1


def test_waiting_invokes_are_bounded_apart_from_the_work_in_progress() -> None:
    admission = Admission("127.0.0.1", limits=HttpLimits(max_requests=1))
    admission.enter()
    admission.start_waiting()  # the one waiting Invoke frees its slot for work
    admission.enter()  # a checkpoint of the execution it waits for
    admission.leave()
    admission.enter()
    with pytest.raises(ServiceError, match="synchronous Invokes are waiting"):
        admission.start_waiting()
    admission.leave()
    admission.stop_waiting()
    assert admission.statistics().requests_in_progress == 1
    assert admission.statistics().invokes_waiting == 0


@pytest.mark.parametrize("field", ["max_requests", "body_timeout", "idle_timeout", "backlog"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValidationError, match=f"{field} must be more than 0"):
        HttpLimits(**{field: 0})


def test_listening_beyond_loopback_warns_that_there_is_no_authentication() -> None:
    assert exposure_warning("127.0.0.1") is None
    assert exposure_warning("::1") is None
    warning = exposure_warning("0.0.0.0")
    assert warning is not None
    assert "no authentication" in warning
