"""LogBook: the workflow log records kept per execution."""

from __future__ import annotations

import logging

from trio_durable.local.logbook import LogBook, LogEntry
from trio_durable.runtime.logger import DurableLogger


def _logger(book: LogBook) -> logging.Logger:
    logger = logging.getLogger("test_logbook")
    logger.handlers = [book]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger


def test_keeps_records_by_execution_with_durable_fields() -> None:
    book = LogBook()
    base = _logger(book)
    DurableLogger(base, {"execution_arn": "a"}).info("hello %s", "world")
    step = DurableLogger(
        base, {"execution_arn": "b", "operation_id": "op1", "operation_name": "s", "attempt": 2}
    )
    step.warning("careful")
    base.info("no execution: not kept")
    [first] = book.records("a")
    assert (first.message, first.level) == ("hello world", "INFO")
    assert first.to_json().keys() == {"Timestamp", "Level", "Message"}
    [second] = book.records("b")
    assert second.to_json() == {
        "Timestamp": second.timestamp,
        "Level": "WARNING",
        "Message": "careful",
        "OperationId": "op1",
        "OperationName": "s",
        "Attempt": 2,
    }
    assert book.statistics() == {"executions": 2, "records": 2}


def test_bounds_records_and_executions() -> None:
    book = LogBook(per_execution=3, executions=2)
    for n in range(5):
        book.add(LogEntry("a", float(n), "INFO", str(n)))
    assert [e.message for e in book.records("a")] == ["2", "3", "4"]
    book.add(LogEntry("b", 0.0, "INFO", "b"))
    book.add(LogEntry("c", 0.0, "INFO", "c"))
    assert book.records("a") == []  # the oldest execution went first
    assert [e.message for e in book.records("c")] == ["c"]


def test_forget_and_listeners() -> None:
    book = LogBook()
    seen: list[str] = []
    book.listen(lambda entry: seen.append(entry.message))
    book.add(LogEntry("a", 0.0, "INFO", "x"))
    book.forget("a")
    assert book.records("a") == []
    assert seen == ["x"]


def test_a_bad_format_string_keeps_the_record() -> None:
    book = LogBook()
    DurableLogger(_logger(book), {"execution_arn": "a"}).info("%d items", "many")
    [entry] = book.records("a")
    assert "%d items" in entry.message
    assert "unformattable" in entry.message
