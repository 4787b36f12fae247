"""Takes the web console's screenshots in this folder: a real ``trio-durable serve``
of the examples, executions started with boto3, headless Debian chromium.

Usage (from the repository root): ``.venv/bin/python docs/images/console_screenshots.py``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import boto3
from playwright.sync_api import Page, sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CLI = Path(sys.executable).parent / "trio-durable"
FUNCTIONS = {
    "approvals": "examples/human_approval.py:handler",
    "orders": "docs/images/console_demo.py:orders",
    "retries": "examples/retries.py:handler",
}


def main() -> None:
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("needs Debian's chromium (apt-get install chromium)")
    args = [str(CLI), "serve", "--port", "0", "--store", "memory", "--quiet"]
    for name, target in FUNCTIONS.items():
        args += ["--function", f"{name}={target}"]
    server = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        endpoint = ""
        while not endpoint:
            found = re.search(r"listening on (http://\S+)", server.stdout.readline())
            endpoint = found.group(1) if found else ""
        shoot(endpoint, chromium)
    finally:
        server.send_signal(signal.SIGINT)
        server.wait(30)


def shoot(endpoint: str, chromium: str) -> None:
    lam = boto3.client(
        "lambda",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    skus = {"skus": ["A1", "B2", "C3", "D4"]}
    orders = lam.invoke(FunctionName="orders", Payload=json.dumps(skus))["DurableExecutionArn"]
    lam.invoke(FunctionName="retries", InvocationType="Event", Payload=b'{"order": 7}')
    stopped = lam.invoke(
        FunctionName="approvals", InvocationType="Event", Payload=b'{"expense": 900}'
    )["DurableExecutionArn"]
    time.sleep(0.5)
    lam.stop_durable_execution(DurableExecutionArn=stopped)
    for expense in (40, 75):
        lam.invoke(
            FunctionName="approvals",
            InvocationType="Event",
            DurableExecutionName=f"expense-{expense}",
            Payload=json.dumps({"expense": expense}).encode(),
        )
    pending = lam.invoke(
        FunctionName="approvals",
        InvocationType="Event",
        DurableExecutionName="expense-120",
        Payload=b'{"expense": 120}',
    )["DurableExecutionArn"]
    time.sleep(1.0)
    for name in ("expense-40", "expense-75"):
        arn = next(
            e["DurableExecutionArn"]
            for e in lam.list_durable_executions_by_function(
                FunctionName="approvals", DurableExecutionName=name
            )["DurableExecutions"]
        )
        callback_id = next(
            e["CallbackStartedDetails"]["CallbackId"]
            for e in lam.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
            if e["EventType"] == "CallbackStarted"
        )
        lam.send_durable_execution_callback_success(
            CallbackId=callback_id, Result=b'{"approved": true, "by": "ana"}'
        )
    time.sleep(1.0)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 560})
        page.goto(endpoint + "/")
        page.wait_for_selector("#executions tr[data-arn]")
        page.wait_for_timeout(1200)
        save(page, "console-executions.png")

        page.set_viewport_size({"width": 1200, "height": 1000})
        open_execution(page, endpoint, orders)
        page.click("[data-kind='parallel']")
        page.click("[data-kind='map']")
        page.click("[data-kind='item 2']")
        page.click("li:has(> [data-kind='item 2']) [data-kind='step']")
        page.evaluate("document.querySelector('.tabs').scrollIntoView()")
        save(page, "console-execution.png")
        page.click("#tab-timeline")
        page.evaluate("window.scrollTo(0, 0)")
        save(page, "console-timeline.png")

        page.set_viewport_size({"width": 1200, "height": 1000})
        open_execution(page, endpoint, pending)
        page.click("[data-kind='callback']")
        page.evaluate("window.scrollTo(0, 0)")
        save(page, "console-callback.png")
        browser.close()


def open_execution(page: Page, endpoint: str, arn: str) -> None:
    page.goto(f"{endpoint}/#/execution/{quote(arn, safe='')}")
    page.wait_for_selector("#tree [data-op]")


def save(page: Page, name: str) -> None:
    path = HERE / name
    page.screenshot(path=str(path))
    print(f"{path.relative_to(ROOT)}: {os.path.getsize(path) // 1024} KB")


if __name__ == "__main__":
    main()
