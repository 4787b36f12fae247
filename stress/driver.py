"""What the fault and crash runs share: completing callbacks from outside, reading
a whole history, and the checks every finished ``mixed`` execution must pass."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import trio

from stress.report import Report
from stress.workflows import attempts_by_step, callback_payload, expected_result
from trio_durable.local.service import LocalService

TERMINAL_OP_EVENTS = frozenset(
    {"StepSucceeded", "WaitSucceeded", "CallbackSucceeded", "ContextSucceeded"}
)


def all_events(service: LocalService, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    marker: str | None = None
    while True:
        page = service.get_execution_history(arn, marker=marker)
        events.extend(page["Events"])
        marker = page.get("NextMarker")
        if not marker:
            return events


async def complete_callbacks(service: LocalService, arn: str, *, poll: float) -> None:
    """Complete every callback of ``arn`` as it appears (an outside system); run until
    cancelled."""
    done: set[str] = set()
    while True:
        for event in all_events(service, arn):
            if event["EventType"] != "CallbackStarted":
                continue
            callback_id = event["CallbackStartedDetails"]["CallbackId"]
            if callback_id in done:
                continue
            service.send_callback_success(callback_id, callback_payload(event["Name"]).encode())
            done.add(callback_id)
        await trio.sleep(poll)


def check_finished_run(
    report: Report,
    label: str,
    execution: dict[str, Any],
    events: list[dict[str, Any]],
    rounds: int,
    log: Path,
    baseline_terminal: Counter[tuple[str, str]] | None,
) -> Counter[tuple[str, str]]:
    """The checks of one finished ``mixed`` run; returns its terminal events by (type, name)."""
    result = json.loads(execution["Result"]) if execution.get("Result") else None
    report.check(
        execution.get("Status") == "SUCCEEDED" and result == expected_result(rounds),
        "result equals the uncrashed, fault-free result",
        f"{label}: {execution.get('Status')} {result if result else execution.get('Error')}",
    )
    by_id = Counter(ev.get("Id") for ev in events if ev["EventType"] in TERMINAL_OP_EVENTS)
    for op_id, n in by_id.items():
        report.check(n == 1, "each operation completes once in the history", f"{label}: {op_id}")
    terminal = Counter(
        (ev["EventType"], ev.get("Name") or "")
        for ev in events
        if ev["EventType"] in TERMINAL_OP_EVENTS
    )
    if baseline_terminal is not None:
        missing = baseline_terminal - terminal
        extra = terminal - baseline_terminal
        report.check(
            not missing and not extra,
            "no operation lost or added",
            f"{label}: missing {dict(missing)}, extra {dict(extra)}",
        )
    for step, attempts in attempts_by_step(log).items():
        report.count("at-most-once attempts run", len(attempts))
        report.check(
            len(attempts) == len(set(attempts)),
            "an at-most-once attempt never runs twice",
            f"{label}: {step} ran attempts {attempts}",
        )
    report.count("invocations", sum(1 for ev in events if ev["EventType"] == "InvocationCompleted"))
    return terminal
