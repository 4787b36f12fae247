"""The determinism lint over a corpus of good and bad handlers, and the project's own.

Each corpus file marks the lines the lint must report with ``# expect: TDxxx``;
the lint must report exactly those (every rule has true positives), and nothing in
the ``good_`` files, the examples or the conformance handlers.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from trio_durable.lint import RULES, check_paths, check_source

CORPUS = Path(__file__).parent / "corpus"
ROOT = Path(__file__).resolve().parents[3]
EXPECT = re.compile(r"expect: (TD\d{3})")


def expected(path: Path) -> set[tuple[int, str]]:
    return {
        (number, match.group(1))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        for match in EXPECT.finditer(line)
    }


def reported(path: Path) -> set[tuple[int, str]]:
    return {(f.line, f.code) for f in check_paths([path])}


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.py")))
def test_corpus_file_reports_exactly_its_marked_lines(name: str) -> None:
    path = CORPUS / name
    assert reported(path) == expected(path)


def test_every_rule_has_true_positives_in_the_corpus() -> None:
    marked = {code for path in CORPUS.glob("bad_*.py") for _, code in expected(path)}
    assert marked == set(RULES) - {"TD000"}


def test_good_corpus_files_mark_nothing() -> None:
    good = sorted(CORPUS.glob("good_*.py"))
    assert good and all(not expected(path) for path in good)


def test_no_finding_in_the_projects_examples_and_conformance_handlers() -> None:
    assert check_paths([ROOT / "examples", ROOT / "conformance" / "handlers"]) == []


def test_finding_line_format_and_columns() -> None:
    source = "import time\nfrom trio_durable import durable_execution\n\n"
    source += "@durable_execution\nasync def handler(event, ctx):\n    return  time.time()\n"
    (finding,) = check_source(source, "flow.py")
    assert (finding.path, finding.line, finding.column, finding.code) == ("flow.py", 6, 13, "TD001")
    assert str(finding) == f"flow.py:6:13: TD001 {finding.message}"
    assert finding.message.startswith("time.time(): clock read outside a step")


def test_a_file_that_does_not_parse_is_one_td000_finding() -> None:
    (finding,) = check_source("def broken(:\n", "broken.py")
    assert (finding.path, finding.line, finding.code) == ("broken.py", 1, "TD000")
    assert "cannot parse" in finding.message


def test_noqa_inside_a_string_does_not_suppress() -> None:
    source = (
        "import time\nfrom trio_durable import durable_execution\n\n@durable_execution\n"
        "async def handler(event, ctx):\n    return (time.time(), '# noqa')\n"
    )
    assert [f.code for f in check_source(source)] == ["TD001"]


def test_helper_called_only_from_a_step_body_is_not_workflow_code() -> None:
    source = (
        "import time\nfrom trio_durable import durable_execution\n\n"
        "def stamp():\n    return time.time()\n\n"
        "def body():\n    return stamp()\n\n"
        "@durable_execution\nasync def handler(event, ctx):\n    return await ctx.step(body)\n"
    )
    assert check_source(source) == []


CLI = Path(sys.executable).parent / "trio-durable"


def run_lint(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``trio-durable check ARGS``, as a user runs it."""
    return subprocess.run(
        [CLI, "check", *map(str, args)], cwd=cwd, capture_output=True, text=True, check=False
    )


def test_python_m_trio_durable_lint_is_the_same_command(tmp_path: Path) -> None:
    bad = CORPUS / "bad_tasks.py"
    done = subprocess.run(
        [sys.executable, "-m", "trio_durable.lint", bad],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (1, run_lint(bad, cwd=tmp_path).stdout)


def test_command_exits_1_with_one_line_per_finding(tmp_path: Path) -> None:
    done = run_lint(CORPUS / "bad_tasks.py", CORPUS / "good_workflows.py", cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert len(lines) == len(expected(CORPUS / "bad_tasks.py"))
    assert all(re.match(r".*bad_tasks\.py:\d+:\d+: TD00[68] ", line) for line in lines)
    assert "11 findings" in done.stderr


def test_command_exits_0_on_clean_code_and_walks_folders(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "flow.py").write_text((CORPUS / "good_workflows.py").read_text())
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "bad.py").write_text((CORPUS / "bad_tasks.py").read_text())
    done = run_lint(tmp_path, cwd=tmp_path)
    assert (done.returncode, done.stdout) == (0, "")
    (tmp_path / "pkg" / "bad.py").write_text((CORPUS / "bad_tasks.py").read_text())
    assert run_lint(tmp_path, cwd=tmp_path).returncode == 1


def test_command_exits_2_naming_a_missing_path(tmp_path: Path) -> None:
    done = run_lint(tmp_path / "nowhere.py", cwd=tmp_path)
    assert done.returncode == 2
    assert "no such file or folder" in done.stderr and "nowhere.py" in done.stderr


def test_readme_shows_the_lints_own_words() -> None:
    source = (
        "import time\nfrom trio_durable import durable_execution\n\n@durable_execution\n"
        "async def handler(event, ctx):\n    return time.time()\n"
    )
    (finding,) = check_source(source)
    assert f": {finding.code} {finding.message}\n" in (ROOT / "README.md").read_text()
