"""The conformance runner's own parts: mapping, selection, log capture, output, report."""

from __future__ import annotations

import json
import logging
import sys
import threading
from pathlib import Path

import pytest
from aws_durable_execution_conformance_tests.cloudwatch import (
    CloudWatchLogRetriever,
    CloudWatchLogValidator,
)

from conformance import logcapture
from conformance.mapping import BY_ID, NOT_IMPLEMENTED, REQUIREMENTS, TARGETS
from conformance.output import routed_output
from conformance.report import Outcome, Report, render_markdown, requirement_sort_key
from conformance.selection import discover, estimate_seconds, select

SCOPE = (
    "step",
    "wait",
    "child",
    "callback",
    "invoke",
    "wait_for_callback",
    "wait_for_condition",
    "parallel",
    "map",
    "plugin",
)


def test_every_published_id_is_mapped_or_declared_not_implemented() -> None:
    published = discover()
    assert len(published) == 155
    for s in published:
        if s.suite in SCOPE:
            assert s.id in BY_ID, f"{s.id} has no handler"
            assert BY_ID[s.id].suite == s.suite
        else:
            assert s.suite in NOT_IMPLEMENTED, f"suite {s.suite} is neither mapped nor declared"


def test_mapping_covers_the_built_suites_exactly_once() -> None:
    # The main branch's 171: the released 155 and the plugin requirements 10-8 to 10-23.
    assert len(REQUIREMENTS) == 171
    assert len({r.id for r in REQUIREMENTS}) == 171
    assert len({r.function for r in REQUIREMENTS}) == 171
    assert {r.suite for r in REQUIREMENTS} == set(SCOPE)
    assert not set(NOT_IMPLEMENTED) & set(SCOPE)


def test_invoke_targets_have_their_own_function_names() -> None:
    names = [t.function for t in TARGETS]
    assert len(set(names)) == len(names)
    assert not set(names) & {r.function for r in REQUIREMENTS}


def test_only_crashing_requirements_use_the_subprocess_invoker() -> None:
    crashing = {r.id for r in REQUIREMENTS if r.invoker == "subprocess"}
    assert crashing == {"1-17", "1-18", "3-12"}


def test_discover_reads_a_requirements_directory(tmp_path: Path) -> None:
    (tmp_path / "wait").mkdir()
    (tmp_path / "wait" / "2-9.yaml").write_text(
        "description: a wait\nExpectedExecutionHistory:\n  - Duration: 4\n", "utf-8"
    )
    (tmp_path / "notes.yaml").write_text("description: not a requirement\n", "utf-8")
    [found] = discover(tmp_path)
    assert (found.id, found.suite, found.description, found.estimate) == (
        "2-9",
        "wait",
        "a wait",
        4.0,
    )


def test_shared_main_branch_tree_holds_the_released_ids_and_more() -> None:
    main_branch = Path(__file__).resolve().parents[2].parent / "shared" / "conformance-main"
    ids = {s.id for s in discover(main_branch)}
    assert len(ids) == 171
    assert {s.id for s in discover()} < ids
    assert ids == set(BY_ID)  # every one has its handler


def test_select_by_suite_and_id() -> None:
    published = discover()
    chosen = select(published, ["wait"], ["1-3"])
    assert [s.id for s in chosen] == ["1-3", "2-1", "2-2", "2-3", "2-4", "2-5"]
    assert len(select(published, [], [])) == len(published)


def test_select_rejects_unknown_names() -> None:
    with pytest.raises(SystemExit, match="nosuch"):
        select(discover(), ["nosuch"], [])


def test_ids_sort_numerically() -> None:
    assert sorted(["3-12", "3-2", "10-1", "1-20"], key=requirement_sort_key) == [
        "1-20",
        "3-2",
        "3-12",
        "10-1",
    ]


def _emit(logger: logging.Logger, message: str, arn: str | None) -> None:
    extra = {} if arn is None else {"durableExecutionArn": arn}
    logger.info(message, extra=extra)


def test_captured_logs_reach_the_validators_own_retriever_and_matcher(tmp_path: Path) -> None:
    handler = logcapture.JsonLinesHandler(tmp_path / "1.jsonl")
    logger = logging.getLogger("conformance-test-capture")
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        _emit(logger, "Greeting step started for: abc", "arn:one")
        _emit(logger, "Greeting step started for: abc", "arn:two")
        _emit(logger, "no execution here: abc", None)
    finally:
        logger.removeHandler(handler)
        handler.close()

    retriever = CloudWatchLogRetriever(
        cloudformation_client=logcapture.LocalFunctionsStack(),
        logs_client=logcapture.CapturedLogsClient(tmp_path),
    )
    group = retriever.get_log_group_name("stack", "fn-1")
    assert group == "/aws/lambda/fn-1"
    events = retriever.get_log_events(
        log_group_name=group,
        start_time_ms=0,
        filter_pattern='{ ($.durableExecutionArn = "arn:one") || ($.executionArn = "arn:one") }',
        wait_seconds=0,
    )
    assert [json.loads(e["message"])["durableExecutionArn"] for e in events] == ["arn:one"]

    validator = CloudWatchLogValidator()
    ok = validator.validate([{"match": {"message": "/started for: abc/"}, "count": 1}], events)
    assert ok.success, ok.errors
    wrong = validator.validate([{"match": {"message": "/started for: abc/"}, "count": 2}], events)
    assert not wrong.success


def test_output_of_each_capturing_thread_is_kept_apart(capsys: pytest.CaptureFixture[str]) -> None:
    seen: dict[str, str] = {}

    def work(name: str) -> None:
        with routed.capture() as buffer:
            for i in range(50):
                print(f"{name}-{i}")
                print(f"{name}-err-{i}", file=sys.stderr)
        seen[name] = buffer.getvalue()

    with routed_output() as routed:
        threads = [threading.Thread(target=work, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("main thread line")
        print("main thread problem", file=sys.stderr)
    for name in ("a", "b"):
        expected = [f"{name}{part}-{i}" for i in range(50) for part in ("", "-err")]
        assert seen[name].split() == expected
    captured = capsys.readouterr()
    assert captured.out == "main thread line\n"
    assert captured.err == "main thread problem\n"


def test_report_round_trip_summary_and_table(tmp_path: Path) -> None:
    report = Report(
        outcomes=[
            Outcome(id="1-1", suite="step", status="PASSED", seconds=0.5, handler="m:f"),
            Outcome(id="1-2", suite="step", status="FAILED", errors=["boom"]),
            Outcome(id="5-1", suite="invoke", status="NOT_IMPLEMENTED", reason="no invoke"),
        ],
        run_seconds=12.3,
    )
    path = tmp_path / "r.json"
    report.write(path)
    again = Report.read(path)
    assert again == report
    assert again.summary_line() == "conformance: 1 passed, 1 failed, 1 not implemented"
    table = render_markdown(again, "python -m conformance --docs x.md")
    assert "| 1-2 | step |  | FAILED |  |" in table
    assert "| 5-1 | invoke |  | NOT_IMPLEMENTED | no invoke |" in table
    assert "| 1-1 | step |  | PASSED | `m:f` |" in table
    assert "- **1-2**: `boom`" in table


def test_estimate_counts_named_delays_and_the_log_read_pause() -> None:
    data = {
        "ExpectedLogs": [{"match": {"message": "x"}}],
        "CallbackActions": [{"Delay": 3}],
        "ExpectedExecutionHistory": [{"WaitStartedDetails": {"Duration": 2}}, {"EventId": 7}],
    }
    assert estimate_seconds(data) == 15.0
    by_id = {s.id: s.estimate for s in discover()}
    assert by_id["1-1"] == 0.0
    assert by_id["1-17"] >= 10.0


def test_regenerating_docs_without_a_report_names_the_missing_file(tmp_path: Path) -> None:
    from conformance.runner import main

    missing = tmp_path / "none.json"
    with pytest.raises(SystemExit, match=r"no report at .*none\.json"):
        main(["--from-report", "--report", str(missing), "--docs", str(tmp_path / "d.md")])
    assert not (tmp_path / "d.md").exists()
