"""The web console in a real headless Chromium (Debian's ``chromium``, driven by
Playwright) against a real ``trio-durable serve`` process, with executions
started and checked through boto3."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from cli_harness import background
from local_service_harness import lambda_client, poll
from playwright.sync_api import sync_playwright

HANDLERS = Path(__file__).parent / "handlers" / "console_workflows.py"
CHROMIUM = shutil.which("chromium")
UI_WAIT_MS = 30_000

if CHROMIUM is None and not os.environ.get("CI"):
    # `python3 dev.py test` installs Debian's chromium when it runs as root; CI
    # always does, so there a missing browser fails below instead.
    pytest.skip("no chromium on this machine (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """A ``trio-durable serve`` process serving the console's test workflows."""
    # --quiet: nobody reads the live log here, and a full pipe would block the service.
    args = ["serve", "--port", "0", "--store", "memory", "--quiet"]
    for name in ("approval", "sleeper", "echo", "many_steps", "flaky"):
        args += ["--function", f"{name}={HANDLERS}:{name}"]
    with background(args) as running:
        found = running.wait_for_line(r"listening on (http://\S+)", stream="stdout")
        yield found.group(1)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    assert CHROMIUM is not None, "CI must have chromium: dev.py installs it"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, endpoint: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.set_default_timeout(UI_WAIT_MS)
    yield opened
    context.close()
    assert not errors, f"the console raised: {errors}"


@pytest.fixture
def lam(endpoint: str) -> Any:
    return lambda_client(endpoint)


def start(lam: Any, function: str, payload: Any, name: str | None = None) -> str:
    extra = {} if name is None else {"DurableExecutionName": name}
    out = lam.invoke(
        FunctionName=function, InvocationType="Event", Payload=json.dumps(payload), **extra
    )
    return str(out["DurableExecutionArn"])


def status_of(lam: Any, arn: str) -> str:
    return str(lam.get_durable_execution(DurableExecutionArn=arn)["Status"])


def open_execution(page: Any, endpoint: str, arn: str) -> None:
    page.goto(f"{endpoint}/#/execution/{quote(arn, safe='')}")
    page.wait_for_selector("#execution-name")


def header_status(page: Any, status: str) -> None:
    page.wait_for_selector(f"#execution-name [data-status='{status}']")


def test_list_shows_boto3_executions_and_updates_without_reload(
    page: Any, endpoint: str, lam: Any
) -> None:
    page.goto(endpoint + "/")
    page.wait_for_selector("#count")
    page.evaluate("window.__sameDocument = true")
    arn = start(lam, "echo", {"hello": "console"}, name="list-live-1")
    row = page.wait_for_selector(f"tr[data-arn='{arn}']")
    assert "list-live-1" in row.inner_text()
    assert "echo" in row.inner_text()
    page.wait_for_selector(f"tr[data-arn='{arn}'] [data-status='SUCCEEDED']")
    second = start(lam, "sleeper", {}, name="list-live-2")
    page.wait_for_selector(f"tr[data-arn='{second}'] [data-status='RUNNING']")
    assert page.evaluate("window.__sameDocument") is True  # never reloaded
    arns = page.eval_on_selector_all("tr[data-arn]", "rows => rows.map(r => r.dataset.arn)")
    assert arns.index(second) < arns.index(arn)  # newest first
    # Filters: by status, by function, by a part of the name.
    page.select_option("#filter-status", "RUNNING")
    page.wait_for_selector(f"tr[data-arn='{arn}']", state="detached")
    assert page.query_selector(f"tr[data-arn='{second}']") is not None
    page.select_option("#filter-status", "")
    page.select_option("#filter-function", "echo")
    page.wait_for_selector(f"tr[data-arn='{second}']", state="detached")
    page.select_option("#filter-function", "")
    page.fill("#filter-name", "live-2")
    page.wait_for_selector(f"tr[data-arn='{arn}']", state="detached")
    assert page.query_selector(f"tr[data-arn='{second}']") is not None
    lam.stop_durable_execution(DurableExecutionArn=second)


def test_map_items_and_a_callback_completed_from_the_console(
    page: Any, endpoint: str, lam: Any
) -> None:
    arn = start(lam, "approval", {"order": 7})
    open_execution(page, endpoint, arn)
    page.wait_for_selector("[data-kind='wait_for_callback']")
    page.click("[data-kind='map']")
    items = page.eval_on_selector_all(
        "[data-kind^='item ']", "rows => rows.map(r => r.dataset.kind)"
    )
    assert items == ["item 0", "item 1", "item 2"]
    assert "3 items: 3 succeeded" in page.inner_text("[data-kind='map']")
    page.click("[data-kind='wait_for_callback']")
    page.click("[data-kind='callback']")
    page.fill("#callback-result", '{"approved": true, "by": "console"}')
    page.click("#callback-succeed")
    header_status(page, "SUCCEEDED")
    assert status_of(lam, arn) == "SUCCEEDED"
    result = json.loads(lam.get_durable_execution(DurableExecutionArn=arn)["Result"])
    assert result["decision"] == {"approved": True, "by": "console"}
    assert result["prices"] == [2, 4, 6]
    assert '"by": "console"' in page.inner_text("#execution-output")


def test_a_callback_failed_from_the_console(page: Any, endpoint: str, lam: Any) -> None:
    arn = start(lam, "approval", {"order": 8})
    open_execution(page, endpoint, arn)
    page.click("[data-kind='wait_for_callback']")
    page.click("[data-kind='callback']")
    page.click("#callback-heartbeat")
    page.wait_for_selector(".flash.ok")
    page.fill("#callback-error-type", "Rejected")
    page.fill("#callback-error-message", "too expensive")
    page.click("#callback-fail")
    header_status(page, "FAILED")
    error = lam.get_durable_execution(DurableExecutionArn=arn)["Error"]
    assert error["ErrorMessage"] == "too expensive"
    assert "too expensive" in page.inner_text("#execution-output")


def test_stop(page: Any, endpoint: str, lam: Any) -> None:
    arn = start(lam, "sleeper", {})
    open_execution(page, endpoint, arn)
    header_status(page, "RUNNING")
    page.wait_for_selector("[data-kind='wait']")
    page.click("#action-stop")
    header_status(page, "STOPPED")
    assert status_of(lam, arn) == "STOPPED"


def test_pause_then_resume(page: Any, endpoint: str, lam: Any) -> None:
    arn = start(lam, "sleeper", {})
    open_execution(page, endpoint, arn)
    page.wait_for_selector("[data-kind='wait']")  # the invocation has suspended
    poll("the invocation to end", lambda: page.inner_text("#view-tree") and True)
    page.click("#action-pause")
    header_status(page, "PAUSED")
    assert status_of(lam, arn) == "PAUSED"
    page.click("#action-resume")
    header_status(page, "RUNNING")
    assert status_of(lam, arn) == "RUNNING"
    lam.stop_durable_execution(DurableExecutionArn=arn)


def test_start_run_again_and_delete(page: Any, endpoint: str, lam: Any) -> None:
    page.goto(endpoint + "/")
    page.click("#start-open")
    page.wait_for_selector("#start-function option[value='echo']", state="attached")
    page.select_option("#start-function", "echo")
    page.fill("#start-input", '{"from": "console"}')
    page.fill("#start-name", "started-in-console")
    page.click("#start-submit")
    header_status(page, "SUCCEEDED")
    first = lam.list_durable_executions_by_function(
        FunctionName="echo", DurableExecutionName="started-in-console"
    )["DurableExecutions"][0]
    assert json.loads(
        lam.get_durable_execution(DurableExecutionArn=first["DurableExecutionArn"])["Result"]
    ) == {"from": "console"}
    page.click("#action-rerun")
    page.wait_for_function(
        "name => document.querySelector('#execution-name')"
        "  && !document.querySelector('#execution-name').textContent.includes(name)",
        arg="started-in-console",
    )
    header_status(page, "SUCCEEDED")
    again = page.inner_text("#execution-input")
    assert '"from": "console"' in again
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#action-delete")
    page.wait_for_selector("#count")
    listed = lam.list_durable_executions_by_function(FunctionName="echo")["DurableExecutions"]
    assert len([e for e in listed if e["DurableExecutionName"] == "started-in-console"]) == 1
    assert len(listed) == len({e["DurableExecutionArn"] for e in listed})


def test_large_payloads_start_collapsed(page: Any, endpoint: str, lam: Any) -> None:
    big = {"rows": ["x" * 50] * 100}
    arn = start(lam, "echo", big)
    open_execution(page, endpoint, arn)
    header_status(page, "SUCCEEDED")
    summary = page.inner_text("#execution-input details.collapsed summary")
    assert "bytes (show)" in summary
    assert not page.is_visible("#execution-input pre")
    page.click("#execution-input details.collapsed summary")
    assert page.is_visible("#execution-input pre")
    small = start(lam, "echo", {"n": 1})
    open_execution(page, endpoint, small)
    header_status(page, "SUCCEEDED")
    assert page.query_selector("#execution-input details.collapsed") is None


def test_timeline_events_and_logs(page: Any, endpoint: str, lam: Any) -> None:
    arn = start(lam, "approval", {"order": 9})
    open_execution(page, endpoint, arn)
    page.wait_for_selector("[data-kind='wait_for_callback']")
    page.click("#tab-timeline")
    bar = page.wait_for_selector("#timeline-invocations .tl-bar")
    assert bar.inner_text() == "#1"
    assert "run by invocation #1" in page.get_attribute(".tl-row .tl-bar.SUCCEEDED", "title")
    page.click("#tab-events")
    assert "ExecutionStarted" in page.inner_text("#events")
    page.click("#tab-logs")
    assert "order 9 waits for approval" in page.inner_text("#logs")
    lam.stop_durable_execution(DurableExecutionArn=arn)


def test_large_executions_are_shown_in_parts(page: Any, endpoint: str, lam: Any) -> None:
    arn = start(lam, "many_steps", {"steps": 320})
    open_execution(page, endpoint, arn)
    header_status(page, "SUCCEEDED")
    page.wait_for_selector("#tab-tree:text('Operations (320)')")
    assert len(page.query_selector_all("#tree [data-op]")) == 200
    page.click("#tree button.more")
    page.wait_for_selector("text=step-319")
    assert len(page.query_selector_all("#tree [data-op]")) == 320
    page.click("#tab-events")
    assert len(page.query_selector_all("#events tbody tr")) == 500
    page.click("#view-events button.more")
    page.wait_for_function("document.querySelectorAll('#events tbody tr').length > 500")
    page.click("#tab-timeline")
    assert "The first 300 operations are shown." in page.inner_text("#timeline .legend")
    assert len(page.query_selector_all("#timeline .tl-row")) == 301  # and the invocations


def test_an_unknown_execution_says_so(page: Any, endpoint: str) -> None:
    arn = "arn:aws:lambda:us-east-1:123456789012:function:echo:$LATEST/durable-execution/n/x"
    page.goto(f"{endpoint}/#/execution/{quote(arn, safe='')}")
    assert "ResourceNotFoundException" in page.inner_text("#messages .flash")


def test_show_more_and_the_count(page: Any, endpoint: str, lam: Any) -> None:
    for n in range(105):
        start(lam, "echo", {"n": n}, name=f"more-{n}")
    page.goto(endpoint + "/")
    page.fill("#filter-name", "more-")
    page.wait_for_selector("#count:text('100 of 105 executions')")
    assert len(page.query_selector_all("#executions tr[data-arn]")) == 100
    page.click("#more")
    page.wait_for_selector("#count:text('105 of 105 executions')")
    assert len(page.query_selector_all("#executions tr[data-arn]")) == 105
    assert not page.is_visible("#more")


def test_a_retried_step_shows_its_failed_attempt(page: Any, endpoint: str, lam: Any) -> None:
    arn = start(lam, "flaky", {})
    open_execution(page, endpoint, arn)
    header_status(page, "SUCCEEDED")
    assert "attempt 2" in page.inner_text("[data-kind='step']")
    page.click("[data-kind='step']")
    detail = page.inner_text("#op-detail")
    assert "Failed attempts" in detail
    assert "attempt 1 at" in detail
    assert "Flaky: card declined once" in detail
    assert '"charged on attempt 2"' in detail
    assert "stack trace" in detail
