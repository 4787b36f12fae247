"""The benchmark harness: alternation, medians, ratios, the table and the JSON schema."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from bench import harness
from bench.harness import (
    MISSED,
    BenchError,
    Scaling,
    Unavailable,
    Workload,
    format_table,
    not_rerun,
    run_workloads,
    write_json,
)


def _workload(ours: list[float], theirs: list[float], calls: list[str], **kw: object) -> Workload:
    def measure(label: str, values: list[float]):  # type: ignore[no-untyped-def]
        def fn(n: int) -> float:
            calls.append(f"{label}:{n}")
            return values.pop(0)

        return fn

    return Workload(
        name="w",
        unit="s",
        size=1000,
        quick_size=10,
        ours=measure("ours", ours),
        theirs=measure("theirs", theirs),
        **kw,  # type: ignore[arg-type]
    )


def test_sides_alternate_and_ratio_is_theirs_over_ours() -> None:
    calls: list[str] = []
    wl = _workload([1.0, 3.0, 2.0], [10.0, 30.0, 20.0], calls, reps=3, target=5, warm_up=False)
    [row] = run_workloads([wl], quick=False, out=io.StringIO())
    assert calls == ["ours:1000", "theirs:1000", "theirs:1000", "ours:1000", "ours:1000",
                     "theirs:1000"]  # fmt: skip
    assert row.ours.median == 2.0 and row.theirs.median == 20.0
    assert row.ratio == pytest.approx(10.0)
    assert row.ours.spread() == "1.000..3.000"
    table = format_table([row]).splitlines()
    assert table[0].split() == ["workload", "unit", "ours", "theirs", "ratio", "target"]
    assert table[-1].split() == ["w", "s", "2.000", "20.0", "10.00x", ">=5x:", "met"]


def test_quick_uses_quick_size_and_reps_after_an_untimed_warm_up() -> None:
    calls: list[str] = []
    wl = _workload([99.0, 1.0], [99.0, 3.0], calls, reps=5, quick_reps=1)
    [row] = run_workloads([wl], quick=True, out=io.StringIO())
    assert calls == ["ours:1", "theirs:1", "ours:10", "theirs:10"]
    assert row.ours.samples == [1.0] and row.theirs.samples == [3.0]


def test_unavailable_and_failed_sides_stop_and_leave_no_median() -> None:
    def missing(n: int) -> float:
        raise ImportError("no module named x")

    def wrong(n: int) -> float:
        raise BenchError("returned 3, expected 4")

    wl = Workload("w", "s", 1, 1, missing, wrong, reps=3, warm_up=False)
    out = io.StringIO()
    [row] = run_workloads([wl], quick=False, out=out)
    assert row.ours.unavailable == "ImportError: no module named x"
    assert row.theirs.error == "returned 3, expected 4"
    assert row.ours.median is None and row.theirs.median is None and row.ratio is None
    assert "FAILED" in format_table([row])

    def unavailable(n: int) -> float:
        raise Unavailable("later")

    [row] = run_workloads([Workload("w", "s", 1, 1, unavailable, unavailable)], quick=True,
                          out=io.StringIO())  # fmt: skip
    assert row.theirs.unavailable == "later"


def test_json_has_exactly_the_issue_keys(tmp_path: Path) -> None:
    wl = _workload([2.0], [8.0], [], reps=1, warm_up=False)
    rows = run_workloads([wl], quick=False, out=io.StringIO())
    path = tmp_path / "out.json"
    write_json(rows, path)
    assert json.loads(path.read_text()) == [
        {"workload": "w", "unit": "s", "ours": 2.0, "theirs": 8.0, "ratio": 4.0}
    ]


def test_a_missed_target_is_marked_informative_and_a_ceiling_on_ours_is_judged() -> None:
    wl = _workload([4.0], [8.0], [], reps=1, warm_up=False, target=5, ours_at_most=3)
    [row] = run_workloads([wl], quick=False, out=io.StringIO())
    assert row.verdict() == (">=5x ours <=3 s", False)
    assert format_table([row]).splitlines()[-1].endswith(f">=5x ours <=3 s: {MISSED}")
    ceiling_only = _workload([2.0], [8.0], [], reps=1, warm_up=False, ours_at_most=3)
    [row] = run_workloads([ceiling_only], quick=False, out=io.StringIO())
    assert row.verdict() == ("ours <=3 s", True)
    assert format_table([row]).splitlines()[-1].endswith("ours <=3 s: met")
    untargeted = _workload([2.0], [8.0], [], reps=1, warm_up=False)
    [row] = run_workloads([untargeted], quick=False, out=io.StringIO())
    assert row.verdict() == ("", None)


def test_scaling_judges_ours_and_shows_theirs() -> None:
    def row(name: str, ours: float, theirs: float):  # type: ignore[no-untyped-def]
        wl = Workload(name, "s", 1, 1, lambda n: ours, lambda n: theirs, reps=1, warm_up=False)
        [out] = run_workloads([wl], quick=False, out=io.StringIO())
        return out

    rows = [row("small", 1.0, 10.0), row("large", 3.2, 50.0)]
    assert Scaling("small", "large", 3.5).report(rows) == (
        "  large / small: ours 3.20x (target <=3.5x: met), theirs 5.00x"
    )
    assert Scaling("small", "large", 3.0).report(rows) == (
        f"  large / small: ours 3.20x (target <=3x: {MISSED}), theirs 5.00x"
    )
    assert Scaling("small", "absent", 3.0).report(rows) is None
    assert Scaling("small", "large", None).report(rows) == (
        "  large / small: ours 3.20x (no target), theirs 5.00x"
    )


def test_a_side_not_rerun_is_unavailable_and_names_where_it_ran() -> None:
    wl = Workload("w-warm", "s", 1, 1, lambda n: 1.0, not_rerun("w"), reps=1)
    [row] = run_workloads([wl], quick=False, out=io.StringIO())
    assert row.ours.median == 1.0
    assert row.theirs.unavailable == "not rerun: as in w"
    assert row.theirs.median is None


def test_the_workloads_of_a_pair_are_measured_in_turn_and_reported_in_order() -> None:
    calls: list[str] = []

    def workload(name: str, reps: int) -> Workload:
        def measure(label: str):  # type: ignore[no-untyped-def]
            def fn(n: int) -> float:
                calls.append(f"{name}:{label}")
                return float(len(calls))

            return fn

        return Workload(name, "s", 1, 1, measure("ours"), measure("theirs"), reps=reps,
                        warm_up=False)  # fmt: skip

    workloads = [workload("small", 3), workload("alone", 1), workload("large", 2)]
    out = io.StringIO()
    rows = run_workloads(workloads, quick=False, out=out, alternate=[("small", "large")])
    assert [row.workload.name for row in rows] == ["small", "alone", "large"]
    assert calls == [
        "small:ours", "small:theirs", "large:ours", "large:theirs",  # rep 1
        "large:theirs", "large:ours", "small:theirs", "small:ours",  # rep 2, reversed
        "small:ours", "small:theirs",  # rep 3: only small has one
        "alone:ours", "alone:theirs",
    ]  # fmt: skip
    assert rows[0].ours.samples == [1.0, 8.0, 9.0] and rows[2].ours.samples == [3.0, 6.0]
    assert "== small (n=1, 3 reps) and large (n=1, 2 reps), in turn" in out.getvalue()
    assert "   rep 2 large theirs 5.000 s" in out.getvalue()


def test_a_short_run_is_repeated_until_the_sample_lasts_long_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Each run of these takes 0.3 s of a fake clock: a 1 s sample is the mean of
    four runs, unless the workload runs a fresh interpreter per sample."""
    clock = [0.0]
    monkeypatch.setattr(harness.time, "perf_counter", lambda: clock[0])
    calls: list[str] = []

    def workload(name: str, **kw: object) -> Workload:
        def measure(label: str):  # type: ignore[no-untyped-def]
            def fn(n: int) -> float:
                clock[0] += 0.3
                calls.append(f"{name}:{label}")
                return float(len(calls))

            return fn

        return Workload(name, "s", 1, 1, measure("ours"), measure("theirs"), reps=1,
                        warm_up=False, **kw)  # type: ignore[arg-type]  # fmt: skip

    out = io.StringIO()
    repeated, fresh = run_workloads(
        [workload("repeated"), workload("fresh", repeat_short=False)],
        quick=False,
        out=out,
        min_sample_seconds=1.0,
    )
    assert calls == ["repeated:ours"] * 4 + ["repeated:theirs"] * 4 + [
        "fresh:ours", "fresh:theirs"
    ]  # fmt: skip
    assert repeated.ours.samples == [2.5] and repeated.theirs.samples == [6.5]
    assert fresh.ours.samples == [9.0] and fresh.theirs.samples == [10.0]
    assert "   rep 1 ours   2.500 s (mean of 4 runs)" in out.getvalue()
    assert "   rep 1 ours   9.000 s\n" in out.getvalue()


def test_a_failing_run_voids_its_sample_even_after_good_runs() -> None:
    figures = iter([1.0, 2.0])

    def flaky(n: int) -> float:
        try:
            return next(figures)
        except StopIteration:
            raise BenchError("wrong result on the third run") from None

    wl = Workload("w", "s", 1, 1, flaky, not_rerun("elsewhere"), reps=1, warm_up=False)
    [row] = run_workloads([wl], quick=False, out=io.StringIO(), min_sample_seconds=60.0)
    assert row.ours.samples == [] and row.ours.error == "wrong result on the third run"


def test_a_target_set_for_one_cpu_is_judged_only_on_one() -> None:
    wl = _workload([4.0], [40.0], [], reps=1, warm_up=False, target=20, target_cpus=1)
    [row] = run_workloads([wl], quick=False, out=io.StringIO())
    assert row.verdict(cpus=1) == (">=20x on one CPU", False)
    assert row.verdict(cpus=2) == (">=20x on one CPU (this run: 2)", None)
    assert (
        format_table([row], cpus=2)
        .splitlines()[-1]
        .endswith(">=20x on one CPU (this run: 2): not judged")
    )
    assert format_table([row], cpus=1).splitlines()[-1].endswith(f">=20x on one CPU: {MISSED}")
    both = _workload(
        [1.0], [40.0], [], reps=1, warm_up=False, target=20, target_cpus=1, ours_at_most=3
    )
    [row] = run_workloads([both], quick=False, out=io.StringIO())
    assert row.verdict(cpus=1) == (">=20x on one CPU ours <=3 s", True)
    assert row.verdict(cpus=4) == (">=20x on one CPU (this run: 4) ours <=3 s", True)
