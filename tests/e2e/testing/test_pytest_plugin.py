"""The pytest plugin, through a real ``pytest`` subprocess on a sample project.

The sample project has no ``trio_mode`` setting; its async tests use the
``durable_runner`` and ``golden`` fixtures, replace a step's function with
``monkeypatch``, and run on virtual time (a one-hour wait).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import orjson
import pytest

WORKFLOWS = """
from trio_durable import DurableContext, durable_execution


def charge(amount):
    return {"charged": amount}


async def thumbnail_item(item_ctx, image, index):
    return await item_ctx.step(lambda: f"thumb-{image}", name="thumbnail")


@durable_execution
async def order(event, ctx: DurableContext):
    charged = await ctx.step(charge, event["amount"], name="STEP_NAME")
    await ctx.wait(3600, name="cool-off")
    thumbs = await ctx.map(["a", "b", "c"], thumbnail_item, name="thumbnails")
    approval = await ctx.create_callback(name="approval")
    decision = await approval.result()
    return {"charged": charged, "thumbs": thumbs.results(), "decision": decision}
"""

TESTS = """
import pytest
import trio

import workflows


async def test_order(durable_runner, golden):
    runner = await durable_runner(workflows.order)
    start = trio.current_time()
    execution = await runner.start({"amount": 5})
    callback = await execution.wait_for_callback("approval")
    await runner.succeed_callback(callback, "yes")
    result = await execution.result()
    assert result.status == "SUCCEEDED", result.error
    assert result.value["charged"] == {"charged": 5}
    assert trio.current_time() - start >= 3600  # an hour of virtual time passed
    golden.check(result)
    golden.check(result, "again")


async def test_a_step_replaced_with_monkeypatch(durable_runner, monkeypatch):
    monkeypatch.setattr(workflows, "charge", lambda amount: {"charged": 0, "fake": True})
    runner = await durable_runner(workflows.order)
    execution = await runner.start({"amount": 5})
    await runner.succeed_callback(await execution.wait_for_callback("approval"), "no")
    result = await execution.result()
    assert result.result_of("STEP_NAME") == {"charged": 0, "fake": True}
    with pytest.raises(LookupError, match="3 STEP operations are named 'thumbnail'"):
        result.step("thumbnail")


@pytest.mark.durable
async def test_marked_durable_runs_on_virtual_time():
    start = trio.current_time()
    await trio.sleep(86400)
    assert trio.current_time() - start == 86400
"""


def write_project(root: Path, *, step_name: str = "charge", ini: str = "[pytest]\n") -> None:
    (root / "workflows.py").write_text(WORKFLOWS.replace("STEP_NAME", step_name))
    (root / "test_order.py").write_text(TESTS.replace("STEP_NAME", step_name))
    (root / "pytest.ini").write_text(ini)


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write_project(tmp_path)
    return tmp_path


def test_fixtures_run_async_tests_on_virtual_time_without_trio_mode(project: Path) -> None:
    done = run_pytest(project, "-p", "no:trio")  # pytest-trio not even loaded
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout


def test_the_plugin_also_runs_its_tests_in_a_pytest_trio_project(project: Path) -> None:
    (project / "pytest.ini").write_text("[pytest]\ntrio_mode = true\n")
    (project / "test_plain_trio.py").write_text(
        "import trio\n\nasync def test_plain(autojump_clock):\n    await trio.sleep(5)\n"
    )
    done = run_pytest(project)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_golden_history_is_written_then_compared_then_updated(project: Path) -> None:
    golden = project / "golden" / "test_order" / "test_order.json"
    first = run_pytest(project, "test_order.py::test_order")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "trio-durable: wrote 2 golden file(s)" in first.stdout
    written = golden.read_text()
    assert (golden.parent / "test_order-again.json").read_text() == written
    history = orjson.loads(written)
    assert history["format"] == "trio-durable-golden/1" and history["status"] == "SUCCEEDED"
    assert "arn:aws" not in written and "Timestamp" not in written
    names = [(op["id"], op["type"], op["name"], op["status"]) for op in history["operations"]]
    assert names[:3] == [
        ("1", "STEP", "charge", "SUCCEEDED"),
        ("2", "WAIT", "cool-off", "SUCCEEDED"),
        ("3", "CONTEXT", "thumbnails", "SUCCEEDED"),
    ]
    assert names[-1] == ("4", "CALLBACK", "approval", "SUCCEEDED")
    assert ("3.2.1", "STEP", "thumbnail", "SUCCEEDED") in names
    charge = history["operations"][0]["events"]
    assert [e["type"] for e in charge] == ["StepStarted", "StepSucceeded"]
    assert charge[1]["details"]["Result"]["Payload"] == {"charged": 5}
    callback = next(op for op in history["operations"] if op["name"] == "approval")
    assert callback["events"][0]["details"]["CallbackId"] == "<callback id>"

    again = run_pytest(project, "test_order.py::test_order")  # same history: passes
    assert again.returncode == 0 and "wrote" not in again.stdout, again.stdout
    assert golden.read_text() == written

    write_project(project, step_name="charge-card")  # a renamed step
    changed = run_pytest(project, "test_order.py::test_order")
    assert changed.returncode == 1
    assert "GoldenMismatch" in changed.stdout and "--update-golden" in changed.stdout
    assert '-      "name": "charge",' in changed.stdout
    assert '+      "name": "charge-card",' in changed.stdout
    assert golden.read_text() == written  # a failed check never rewrites

    updated = run_pytest(project, "test_order.py::test_order", "--update-golden")
    assert updated.returncode == 0, updated.stdout
    assert '"name": "charge-card"' in golden.read_text()
    assert run_pytest(project, "test_order.py::test_order").returncode == 0
