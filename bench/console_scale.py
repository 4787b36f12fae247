"""How long the web console takes to show a 10,000-operation execution and a list
of 10,000 executions, in headless Chromium (Debian's ``chromium``, as the browser
tests use) against a real service over HTTP.

Usage: ``.venv/bin/python -m bench.console_scale [OPERATIONS [EXECUTIONS]]``.
Prints numbers (wall-clock, from navigation to the content on screen); asserts
nothing. The service runs in a thread of this process, in memory.
"""

from __future__ import annotations

import queue
import shutil
import statistics
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from functools import partial
from typing import Any
from urllib.parse import quote

import trio
from playwright.sync_api import sync_playwright

from trio_durable import DurableContext, durable_execution
from trio_durable.local.http import serve
from trio_durable.local.invokers import InProcessInvoker
from trio_durable.local.service import LocalService, open_local_service

SAMPLES = 3


@durable_execution
async def many_steps(event: dict[str, Any], ctx: DurableContext) -> int:
    for n in range(event["steps"]):
        await ctx.step(lambda: None, name=f"step-{n}")
    return int(event["steps"])


@durable_execution
async def nothing(event: Any, ctx: DurableContext) -> None:
    return None


def _serve_in_thread() -> tuple[str, LocalService, trio.lowlevel.TrioToken]:
    ready: queue.Queue[tuple[str, LocalService, trio.lowlevel.TrioToken]] = queue.Queue()

    async def main() -> None:
        async with open_local_service() as service, trio.open_nursery() as nursery:
            service.register_function("many_steps", InProcessInvoker(many_steps))
            service.register_function("nothing", InProcessInvoker(nothing))
            endpoint = await nursery.start(partial(serve, service, port=0))
            ready.put((endpoint, service, trio.lowlevel.current_trio_token()))

    threading.Thread(target=trio.run, args=(main,), daemon=True).start()
    return ready.get(timeout=60)


def _timed(what: str, fn: Callable[[], object]) -> None:
    samples = []
    for _ in range(SAMPLES):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    print(
        f"  {what}: median {statistics.median(samples):.2f} s"
        f" (min {min(samples):.2f}, max {max(samples):.2f}, {SAMPLES} samples)",
        flush=True,
    )


def main() -> None:
    operations = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    executions = int(sys.argv[2]) if len(sys.argv) > 2 else 10_000
    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("needs Debian's chromium (apt-get install chromium)")
    endpoint, service, token = _serve_in_thread()

    async def run_steps() -> str:
        started = service.start_execution("many_steps", f'{{"steps": {operations}}}')
        await service.wait_until_terminal(started.arn)
        return started.arn

    began = time.perf_counter()
    arn = trio.from_thread.run(run_steps, trio_token=token)
    print(f"{operations:,}-step execution ran in {time.perf_counter() - began:.1f} s", flush=True)

    def start_many() -> None:
        for _ in range(executions):
            service.start_execution("nothing", "{}")

    began = time.perf_counter()
    trio.from_thread.run_sync(start_many, trio_token=token)
    while trio.from_thread.run_sync(service.statistics, trio_token=token).running_executions:
        time.sleep(0.1)  # measure the console, not the service running them
    print(f"{executions:,} executions ran in {time.perf_counter() - began:.1f} s", flush=True)

    def read(path: str) -> None:
        with urllib.request.urlopen(endpoint + path, timeout=120) as response:
            response.read()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(300_000)

        def show_execution() -> None:
            page.goto("about:blank")
            page.goto(f"{endpoint}/#/execution/{quote(arn, safe='')}")
            page.wait_for_selector(f"#tab-tree:text('Operations ({operations})')")
            page.wait_for_selector("#tree [data-op]")

        def show_tab(tab: str, selector: str) -> Callable[[], None]:
            def shown() -> None:
                page.click("#tab-tree")
                page.click(f"#tab-{tab}")
                page.wait_for_selector(selector)

            return shown

        def show_list() -> None:
            page.goto("about:blank")
            page.goto(f"{endpoint}/")
            page.wait_for_selector(f"#count:text('of {executions + 1:,} executions')")

        print(f"console, one execution of {operations:,} operations:", flush=True)
        _timed("open it until its operation tree shows", show_execution)
        _timed("switch to the timeline", show_tab("timeline", "#timeline .tl-bar"))
        _timed("switch to the raw events", show_tab("events", "#events tbody tr"))
        path = f"/2025-12-01/durable-executions/{quote(arn, safe='')}/history"
        _timed(
            "read its whole history over HTTP (1,000 events a page)",
            lambda: _all_pages(endpoint, path),
        )
        print(f"console, a list of {executions + 1:,} executions:", flush=True)
        _timed("open the list until it shows", show_list)
        _timed("GET /local/executions (first 100 of all)", lambda: read("/local/executions"))
        browser.close()


def _all_pages(endpoint: str, path: str) -> None:
    import json

    marker = ""
    while True:
        url = f"{endpoint}{path}?IncludeExecutionData=true&MaxItems=1000&Marker={marker}"
        with urllib.request.urlopen(url, timeout=120) as response:
            page = json.loads(response.read())
        marker = page.get("NextMarker") or ""
        if not marker:
            return


if __name__ == "__main__":
    main()
