"""The X-Ray header an invocation receives (``local/xray.py``): the execution's
trace and sampling decision, under the invocation's own segment."""

from __future__ import annotations

from trio_durable.local.xray import invocation_header, segment_id

ROOT = "Root=1-5f0c4e1d-0123456789abcdef01234567"


def test_the_parent_becomes_the_invocations_segment() -> None:
    header = f"{ROOT};Parent=1122334455667788;Sampled=1;Lineage=a87bd80c:1"
    given = invocation_header(header, "req-1")
    assert given == f"{ROOT};Parent={segment_id('req-1')};Sampled=1;Lineage=a87bd80c:1"
    assert invocation_header(header, "req-2") != given  # one segment per invocation
    assert invocation_header(header, "req-1") == given  # derived, not random


def test_a_header_without_a_parent_gets_one_after_its_root() -> None:
    assert invocation_header(f"Sampled=0; {ROOT}", "r") == (
        f"Sampled=0;{ROOT};Parent={segment_id('r')}"
    )


def test_a_header_without_a_root_is_handed_over_as_it_is() -> None:
    assert invocation_header("Parent=1122334455667788;Sampled=1", "r") == (
        "Parent=1122334455667788;Sampled=1"
    )
    assert invocation_header("", "r") == ""


def test_segment_ids_are_16_hex_digits() -> None:
    for n in range(200):
        text = segment_id(f"req-{n}")
        assert len(text) == 16 and int(text, 16) > 0
