"""Floods of connections against a real ``trio-durable serve`` on 127.0.0.1.

Four phases, each a bounded number of raw HTTP/1.1 requests (this process is the
only client, and talks to loopback only):

- bursts: N connections send one Event Invoke at the same moment, N doubling;
  the largest N answered without a single 429 is the concurrency the service
  holds before it answers ``TooManyRequestsException`` (printed, never asserted);
- flood: many keep-alive connections each send a few Event Invokes, a 429 retried
  after a short pause, as boto3 would;
- slow bodies: connections send their headers and one byte of a body, then stall;
- slow headers: connections send half a request line, then stall.

Every request must be answered 202, 408 or 429 (no reset, no other status, never
more than a minute), every stalled connection must be closed by the service,
the service must answer others meanwhile, and each 202 (and only a 202) must
have created an execution that then succeeds.
"""

from __future__ import annotations

import json
import random
import resource
import time
from collections import Counter
from typing import Any

import trio

from stress.report import Report
from stress.served import Served, served

TARGET = "stress.workflows:one_step"
BODY_TIMEOUT_SECONDS = 2.0
ANSWER_TIMEOUT_SECONDS = 60.0
IDLE_TIMEOUT_SECONDS = 5.0  # serve's --idle-timeout: a half-sent request is closed after it
CLOSE_TIMEOUT_SECONDS = 40.0
FINISH_TIMEOUT_SECONDS = 300.0


class _Closed(Exception):
    """The service closed the connection."""


def _invoke(netloc: str, function: str, n: int) -> bytes:
    body = json.dumps({"n": n}).encode()
    head = (
        f"POST /2015-03-31/functions/{function}/invocations HTTP/1.1\r\nHost: {netloc}\r\n"
        "X-Amz-Invocation-Type: Event\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def _get(netloc: str, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {netloc}\r\n\r\n".encode()


async def _read_response(stream: trio.SocketStream) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise _Closed
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = await stream.receive_some(65536)
        if not chunk:
            raise _Closed
        body += chunk
    return int(status_line.split()[1]), headers, body


async def _exchange(stream: trio.SocketStream, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with trio.fail_after(ANSWER_TIMEOUT_SECONDS):
        await stream.send_all(request)
        return await _read_response(stream)


async def _connect(report: Report, server: Served) -> trio.SocketStream | None:
    try:
        return await trio.open_tcp_stream(*server.address)
    except OSError as exc:
        report.check(False, "every connection is accepted", f"connect: {exc}")
        return None


async def _connect_into(report: Report, server: Served, streams: list[trio.SocketStream]) -> None:
    stream = await _connect(report, server)
    if stream is not None:
        streams.append(stream)


class _Invokes:
    """The Event Invokes of one function: the answers and the ARNs they started."""

    def __init__(self, report: Report, server: Served, function: str) -> None:
        self.report = report
        self.server = server
        self.function = function
        self.statuses: Counter[int] = Counter()
        self.arns: set[str] = set()
        self.slowest = 0.0

    def record(self, status: int, headers: dict[str, str], seconds: float) -> None:
        self.statuses[status] += 1
        self.slowest = max(self.slowest, seconds)
        self.report.check(
            status in (202, 429), "an Invoke is answered 202 or 429", f"status {status}"
        )
        if status == 202:
            self.arns.add(headers["x-amz-durable-execution-arn"])

    async def one(self, stream: trio.SocketStream, n: int) -> int | None:
        started = time.monotonic()
        try:
            status, headers, _ = await _exchange(
                stream, _invoke(self.server.netloc, self.function, n)
            )
        except trio.TooSlowError:
            self.report.check(False, "every request is answered within a minute", f"n={n}")
            return None
        except (_Closed, trio.BrokenResourceError, OSError):
            self.report.count("connections closed by the service before an answer")
            return None
        self.record(status, headers, time.monotonic() - started)
        return status


async def _bursts(report: Report, server: Served, sizes: list[int]) -> list[str]:
    """Each burst: ``size`` connections, then one Invoke on each at once."""
    held = 0
    arns: list[str] = []
    for size in sizes:
        invokes = _Invokes(report, server, "burst")
        streams: list[trio.SocketStream] = []
        async with trio.open_nursery() as nursery:
            for _ in range(size):
                nursery.start_soon(_connect_into, report, server, streams)
        async with trio.open_nursery() as nursery:
            for n, stream in enumerate(streams):
                nursery.start_soon(invokes.one, stream, n)
        for stream in streams:
            await stream.aclose()
        refused = invokes.statuses[429]
        report.count(f"burst of {size}: 429 answers", refused)
        print(
            f"   burst of {size:5} simultaneous Invokes: {invokes.statuses[202]} accepted,"
            f" {refused} refused (429), slowest answer {invokes.slowest:.2f} s",
            flush=True,
        )
        if refused == 0 and len(streams) == size:
            held = max(held, size)
        arns.extend(invokes.arns)
    report.count("concurrency held before any 429 (largest burst answered in full)", held)
    return arns


async def _flood(report: Report, server: Served, connections: int, each: int) -> set[str]:
    """``connections`` keep-alive connections, ``each`` Invokes apiece, 429s retried."""
    invokes = _Invokes(report, server, "flood")
    rng = random.Random(connections)

    async def client(i: int) -> None:
        stream = await _connect(report, server)
        sent = 0
        for _ in range(each * 50):  # bounded: each Invoke retried at most ~50 times
            if sent == each or stream is None:
                break
            status = await invokes.one(stream, i * each + sent)
            if status is None:
                await stream.aclose()
                stream = await _connect(report, server)
            elif status == 429:
                await trio.sleep(rng.uniform(0.05, 0.3))
            else:
                sent += 1
        if stream is not None:
            await stream.aclose()

    async with trio.open_nursery() as nursery:
        for i in range(connections):
            nursery.start_soon(client, i)
    report.count("flood: 202 answers", invokes.statuses[202])
    report.count("flood: 429 answers", invokes.statuses[429])
    report.check(
        invokes.statuses[202] == connections * each,
        "every flooded Invoke is accepted in the end",
        f"{invokes.statuses[202]} of {connections * each}",
    )
    print(f"   flood: slowest answer {invokes.slowest:.2f} s", flush=True)
    return invokes.arns


async def _stalled(report: Report, server: Served, count: int, what: str, send: bytes) -> None:
    """``count`` connections that send ``send`` and stall (``what``: "body" or
    "headers"); each must be answered (408 or 429) or closed by the service, while
    another request gets an answer."""
    answers: Counter[str] = Counter()

    async def stall() -> None:
        stream = await _connect(report, server)
        if stream is None:
            return
        async with stream:
            await stream.send_all(send)
            with trio.move_on_after(CLOSE_TIMEOUT_SECONDS) as waited:
                try:
                    status, _, _ = await _read_response(stream)
                    answers[str(status)] += 1
                    while await stream.receive_some(65536):
                        pass
                except (_Closed, trio.BrokenResourceError, OSError):
                    answers["closed"] += 1
            report.check(
                not waited.cancelled_caught,
                f"the service closes a connection stalled in its {what}",
                f"open after {CLOSE_TIMEOUT_SECONDS} s",
            )

    async with trio.open_nursery() as nursery:
        for _ in range(count):
            nursery.start_soon(stall)
        await trio.sleep(0.5)  # they are all stalled now: another client is still served
        await _probe(
            report, server, f"the service answers others while connections stall in their {what}"
        )
    for answer, n in answers.items():
        report.count(f"stalled in the {what}: {answer}", n)
        report.check(
            answer in ("408", "429", "closed"),
            f"a connection stalled in its {what} is answered 408 or 429, or closed",
            answer,
        )


async def _probe(report: Report, server: Served, what: str) -> None:
    """One list request must get an answer (200, or 429 when the service is full)."""
    path = "/2025-12-01/functions/flood/durable-executions"
    stream = await _connect(report, server)
    if stream is None:
        return
    async with stream:
        try:
            status, _, _ = await _exchange(stream, _get(server.netloc, path))
        except (trio.TooSlowError, _Closed, trio.BrokenResourceError, OSError) as exc:
            report.check(False, what, repr(exc))
            return
    report.check(status in (200, 429), what, f"status {status}")


async def _executions(server: Served, function: str) -> dict[str, str]:
    """ARN -> status of every execution of ``function`` (all pages)."""
    found: dict[str, str] = {}
    marker = ""
    while True:
        path = f"/2025-12-01/functions/{function}/durable-executions?MaxItems=1000"
        if marker:
            path += f"&Marker={marker}"
        async with await trio.open_tcp_stream(*server.address) as stream:
            status, _, body = await _exchange(stream, _get(server.netloc, path))
        if status == 429:
            await trio.sleep(0.1)
            continue
        page: dict[str, Any] = json.loads(body)
        for execution in page["DurableExecutions"]:
            found[execution["DurableExecutionArn"]] = execution["Status"]
        marker = page.get("NextMarker") or ""
        if not marker:
            return found


async def _check_executions(report: Report, server: Served, function: str, arns: set[str]) -> None:
    """Exactly the accepted Invokes started executions, and each one succeeds."""
    listed: dict[str, str] = {}
    with trio.move_on_after(FINISH_TIMEOUT_SECONDS):
        while True:
            listed = await _executions(server, function)
            if set(listed) != arns or any(s == "RUNNING" for s in listed.values()):
                await trio.sleep(0.5)
                continue
            break
    report.check(
        set(listed) == arns,
        "an Invoke answered 202 started an execution, one answered 429 none",
        f"{function}: {len(listed)} executions for {len(arns)} accepted Invokes",
    )
    failed = Counter(s for s in listed.values() if s != "SUCCEEDED")
    report.check(not failed, "every accepted execution succeeds", f"{function}: {dict(failed)}")
    report.count(f"{function}: executions succeeded", sum(1 for s in listed.values()))


async def _run_all(report: Report, quick: bool) -> None:
    sizes = [32, 320] if quick else [16, 32, 64, 128, 256, 512, 1024, 2048]
    connections, each = (100, 2) if quick else (2000, 3)
    slow = 300 if quick else 2000
    with served(
        "--store", "memory",
        "--function", f"burst={TARGET}",
        "--function", f"flood={TARGET}",
        "--body-timeout", str(BODY_TIMEOUT_SECONDS),
        "--idle-timeout", str(IDLE_TIMEOUT_SECONDS),
    ) as server:  # fmt: skip
        bursts = await _bursts(report, server, sizes)
        flooded = await _flood(report, server, connections, each)
        head = (
            "POST /2015-03-31/functions/flood/invocations HTTP/1.1\r\n"
            f"Host: {server.netloc}\r\nContent-Length: 100\r\n\r\n{{"
        )
        await _stalled(report, server, slow, "body", head.encode())
        await _stalled(report, server, slow // 4, "headers", b"POST /2015-03-31/fun")
        await _check_executions(report, server, "burst", set(bursts))
        await _check_executions(report, server, "flood", flooded)
        report.check(server.alive(), "the service stays up", "it exited")
        status = server.stop()
    report.check(status == 0, "the service stops cleanly on SIGTERM", f"exit status {status}")
    report.check(
        not any("Traceback" in line for line in server.stderr),
        "the service prints no traceback",
        "".join(server.stderr)[-2000:],
    )


def _enough_file_descriptors(needed: int) -> None:
    """Raise this process's (and so the service's) open-file limit to ``needed``
    if the hard limit allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        target = needed if hard == resource.RLIM_INFINITY else min(needed, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def run(*, quick: bool, seed: int) -> Report:
    report = Report("connection floods against a real serve (127.0.0.1)")
    _enough_file_descriptors(1024 if quick else 8192)
    trio.run(_run_all, report, quick)
    return report
