"""Export a suspended execution from a SQLite-backed ``trio-durable serve``, then
replay it against changed code with ``trio-durable replay``: incompatible changes
fail naming the operation, compatible ones (and a ``ctx.patched`` branch) pass,
and no recorded step body runs again."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_harness import background, cli
from local_service_harness import lambda_client, poll

SOURCE = """
from pathlib import Path

from trio_durable import DurableContext, durable_execution

RUNS = Path({runs!r})


def body(name):
    def run():
        with RUNS.open("a") as file:
            file.write(name + "\\n")
        return name
    return run


@durable_execution
async def handler(event, ctx: DurableContext):
{body}
"""

RECORDED = """
    a = await ctx.step(body("reserve"), name="reserve")
    b = await ctx.step(body("charge"), name="charge")
    await ctx.wait(3600, name="cool-off")
    c = await ctx.step(body("ship"), name="ship")
    return [a, b, c]
"""

VARIANTS = {
    "reordered": RECORDED.replace('"reserve"', '"X"')
    .replace('"charge"', '"reserve"')
    .replace('"X"', '"charge"'),
    "renamed": RECORDED.replace('name="reserve"', 'name="reserve-stock"'),
    "removed-wait": RECORDED.replace('    await ctx.wait(3600, name="cool-off")\n', ""),
    "appended": RECORDED.replace(
        "    return [a, b, c]",
        '    await ctx.step(body("notify"), name="notify")\n    return [a, b, c]',
    ),
    "inserted": RECORDED.replace(
        "    await ctx.wait",
        '    await ctx.step(body("fraud"), name="fraud")\n    await ctx.wait',
    ),
    "patched": RECORDED.replace(
        "    await ctx.wait",
        '    if await ctx.patched("fraud-check"):\n'
        '        await ctx.step(body("fraud"), name="fraud")\n'
        "    await ctx.wait",
    ),
}


def write_variant(folder: Path, name: str, body: str, runs: Path) -> Path:
    path = folder / f"{name.replace('-', '_')}.py"
    path.write_text(SOURCE.format(runs=str(runs), body=body.strip("\n")))
    return path


def suspended_at_the_wait(client: Any, arn: str) -> bool:
    events = client.get_durable_execution_history(DurableExecutionArn=arn)["Events"]
    types = [e["EventType"] for e in events]
    return "WaitStarted" in types and types[-1] == "InvocationCompleted"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two executions suspended at the wait in a SQLite-backed serve, exported:
    one of the recorded code, one of the patched code."""
    folder = tmp_path_factory.mktemp("export")
    runs = folder / "runs.txt"
    files = {"recorded": write_variant(folder, "recorded", RECORDED, runs)}
    files.update((name, write_variant(folder, name, body, runs)) for name, body in VARIANTS.items())
    args = ["serve", "--port", "0", "--store", f"sqlite:{folder / 'state.db'}"]
    args += ["--function", f"orders={files['recorded']}:handler"]
    args += ["--function", f"orders-patched={files['patched']}:handler"]
    with background(args) as server:
        endpoint = server.wait_for_line(r"listening on (http://\S+)", stream="stdout").group(1)
        client = lambda_client(endpoint)
        arns = {}
        for function in ("orders", "orders-patched"):
            started = client.invoke(FunctionName=function, InvocationType="Event", Payload=b"{}")
            arns[function] = started["DurableExecutionArn"]
            poll(
                f"{function} to suspend", lambda a=arns[function]: suspended_at_the_wait(client, a)
            )
        histories = {
            "old": folder / "old.json",
            "new": folder / "new.json",
        }
        by_arn = cli("export", arns["orders"], "--endpoint", endpoint, "-o", str(histories["old"]))
        assert by_arn.returncode == 0, by_arn.stderr
        assert "RUNNING, 4 operations" in by_arn.stderr
        name = arns["orders-patched"].split("/")[-2]  # exported by execution name
        by_name = cli(
            "export", name, "--function", "orders-patched", "--endpoint", endpoint,
            "-o", str(histories["new"]),
        )  # fmt: skip
        assert by_name.returncode == 0, by_name.stderr
        # On the local service a name alone is enough.
        by_name_only = cli("export", name, "--endpoint", endpoint)
        assert by_name_only.returncode == 0, by_name_only.stderr
        assert json.loads(by_name_only.stdout) == json.loads(histories["new"].read_text())
        unknown = cli("export", "no-such-run", "--endpoint", endpoint)
        assert unknown.returncode == 2 and "no execution named 'no-such-run'" in unknown.stderr
        # --aws: boto3's own configuration (here its endpoint variable) and credentials.
        aws_env = {
            "AWS_ENDPOINT_URL_LAMBDA": endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }
        via_aws = cli("export", arns["orders"], "--aws", "--region", "us-east-1", env=aws_env)
        assert via_aws.returncode == 0, via_aws.stderr
        assert json.loads(via_aws.stdout) == json.loads(histories["old"].read_text())
    return {"files": files, "histories": histories, "runs": runs}


def replay_file(recorded: dict[str, Any], variant: str, history: str = "old") -> Any:
    target = f"{recorded['files'][variant]}:handler"
    return cli("replay", target, str(recorded["histories"][history]))


def test_the_exported_file_is_a_versioned_history(recorded: dict[str, Any]) -> None:
    data = json.loads(recorded["histories"]["old"].read_text())
    assert data["format"] == "trio-durable-history/1"
    assert data["execution"]["Status"] == "RUNNING"
    kinds = [(op["Type"], op.get("Name"), op["Status"]) for op in data["operations"]]
    assert kinds == [
        ("EXECUTION", kinds[0][1], "STARTED"),
        ("STEP", "reserve", "SUCCEEDED"),
        ("STEP", "charge", "SUCCEEDED"),
        ("WAIT", "cool-off", "STARTED"),
    ]
    assert [e["EventType"] for e in data["events"]][:2] == ["ExecutionStarted", "StepStarted"]


@pytest.mark.parametrize(
    ("variant", "position", "recorded_op", "code_op"),
    [
        ("reordered", "1", "STEP 'reserve'", "STEP 'charge'"),
        ("renamed", "1", "STEP 'reserve'", "STEP 'reserve-stock'"),
        ("removed-wait", "3", "WAIT 'cool-off'", "STEP 'ship'"),
        ("inserted", "3", "WAIT 'cool-off'", "STEP 'fraud'"),
    ],
)
def test_an_incompatible_change_fails_naming_the_operation(
    recorded: dict[str, Any], variant: str, position: str, recorded_op: str, code_op: str
) -> None:
    done = replay_file(recorded, variant)
    assert done.returncode == 1, done.stdout + done.stderr
    line = done.stdout.strip()
    assert line.startswith(f"{recorded['histories']['old']}: DIVERGES at operation {position} (id ")
    assert f"recorded {recorded_op} (subtype " in line
    assert f"the code asks for {code_op} (subtype " in line


@pytest.mark.parametrize("variant", ["recorded", "appended", "patched"])
def test_a_compatible_change_passes(recorded: dict[str, Any], variant: str) -> None:
    done = replay_file(recorded, variant)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"{recorded['histories']['old']}: compatible (3 recorded ")


def test_an_execution_recorded_with_the_patch_needs_the_patch(recorded: dict[str, Any]) -> None:
    assert replay_file(recorded, "patched", "new").returncode == 0
    old_code = replay_file(recorded, "recorded", "new")
    assert old_code.returncode == 1
    assert "recorded STEP 'patched:fraud-check'" in old_code.stdout
    assert "the code asks for WAIT 'cool-off'" in old_code.stdout


def test_several_files_exit_1_when_any_diverges_and_no_step_body_runs(
    recorded: dict[str, Any],
) -> None:
    runs: Path = recorded["runs"]
    runs.write_text("")
    histories = recorded["histories"]
    target = f"{recorded['files']['patched']}:handler"
    both = cli("replay", target, str(histories["old"]), str(histories["new"]))
    assert both.returncode == 0, both.stdout
    assert len(both.stdout.splitlines()) == 2
    mixed = cli("replay", f"{recorded['files']['renamed']}:handler", str(histories["old"]))
    assert mixed.returncode == 1
    assert runs.read_text() == ""  # replays ran no step body, recorded or new


def test_a_file_that_is_not_a_history_is_refused_in_one_line(
    recorded: dict[str, Any], tmp_path: Path
) -> None:
    bogus = tmp_path / "bogus.json"
    bogus.write_text('{"format": "something-else"}')
    done = cli("replay", f"{recorded['files']['recorded']}:handler", str(bogus))
    assert done.returncode == 2
    assert "is not a trio-durable history file" in done.stderr


def test_a_name_where_no_local_service_lists_executions_is_refused_in_one_line() -> None:
    done = cli("export", "my-run", "--endpoint", "http://127.0.0.1:9")
    assert done.returncode == 2
    assert "'my-run' is not an execution ARN, and http://127.0.0.1:9 lists no" in done.stderr
    assert "name its function too" in done.stderr
