"""The conformance runner end to end: real service, real handlers, AWS's validator."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from conformance import runner
from conformance.mapping import BY_ID, REQUIREMENTS, TARGETS
from trio_durable import DurableHandler
from trio_durable.local.targets import load_target

# main() points boto3 at its local endpoint through the environment; put it back after.
_ENV = (
    "AWS_ENDPOINT_URL_LAMBDA",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_DEFAULT_REGION",
    "TRIO_DURABLE_CONFORMANCE_LOG_DIR",
    "TRIO_DURABLE_CONFORMANCE_STATE_DIR",
)


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ENV:
        monkeypatch.delenv(name, raising=False)


def test_every_mapped_handler_is_a_durable_function() -> None:
    for handler_path in [r.handler for r in REQUIREMENTS] + [t.handler for t in TARGETS]:
        assert isinstance(load_target(handler_path), DurableHandler), handler_path


@pytest.mark.usefixtures("isolated_env")
def test_requirements_pass_and_the_report_and_docs_say_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report_path, docs_path = tmp_path / "report.json", tmp_path / "conformance.md"
    code = runner.main(
        ["--id", "1-1", "1-19", "4-2", "--report", str(report_path), "--docs", str(docs_path)]
    )
    out = capsys.readouterr().out
    assert out.splitlines()[-1] == "conformance: 3 passed, 0 failed, 0 not implemented"
    assert code == 0
    report = json.loads(report_path.read_text())
    assert {r["id"]: r["status"] for r in report["requirements"]} == {
        "1-1": "PASSED",
        "1-19": "PASSED",
        "4-2": "PASSED",
    }
    docs = docs_path.read_text()
    assert "| 1-19 | step |" in docs and "| PASSED |" in docs
    assert "| 1-2 | step |" in docs and "| NOT_RUN |" in docs
    assert "| 10-7 | plugin |" in docs and "| NOT_IMPLEMENTED |" not in docs


@pytest.mark.usefixtures("isolated_env")
def test_a_handler_that_answers_wrongly_fails_its_requirement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1-1 answered by 1-5's handler: same history shape, but the result is None.
    wrong = replace(BY_ID["1-5"], id="1-1")
    monkeypatch.setattr(runner, "BY_ID", {"1-1": wrong})
    report_path = tmp_path / "report.json"
    code = runner.main(["--id", "1-1", "--report", str(report_path)])
    out = capsys.readouterr().out
    assert code == 1
    assert out.splitlines()[-1] == "conformance: 0 passed, 1 failed, 0 not implemented"
    (outcome,) = json.loads(report_path.read_text())["requirements"]
    assert outcome["status"] == "FAILED"
    assert any("Expected Result='Hello, World!', got None" in e for e in outcome["errors"])


@pytest.mark.usefixtures("isolated_env")
def test_declared_suites_are_not_implemented_without_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Every suite is implemented now: declare one (and drop its rows) to see it skipped.
    monkeypatch.setattr(runner, "NOT_IMPLEMENTED", {"plugin": "declared by this test"})
    monkeypatch.setattr(runner, "BY_ID", {k: r for k, r in BY_ID.items() if r.suite != "plugin"})
    code = runner.main(["--suite", "plugin", "--report", str(tmp_path / "r.json")])
    assert code == 0
    assert capsys.readouterr().out.splitlines()[-1] == (
        "conformance: 0 passed, 0 failed, 7 not implemented"
    )
