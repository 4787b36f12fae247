"""The lint's I/O: which files a path names, reading them, and the command."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TextIO

from trio_durable.lint.analysis import Finding, check_source
from trio_durable.lint.rules import RULES

__all__ = ["check_paths", "main", "python_files"]

_SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules", "site-packages"})


def python_files(path: Path) -> Iterator[Path]:
    """``path`` if it is a file; else the ``.py`` files under it, in name order,
    skipping hidden folders (``.venv``, ``.git``) and caches."""
    if not path.is_dir():
        yield path
        return
    for child in sorted(path.iterdir()):
        if child.is_dir():
            if not child.name.startswith(".") and child.name not in _SKIPPED_FOLDERS:
                yield from python_files(child)
        elif child.suffix == ".py":
            yield child


def check_paths(paths: Sequence[str | Path]) -> list[Finding]:
    """The findings in every Python file under ``paths``; ``FileNotFoundError``
    names a path that does not exist."""
    findings: list[Finding] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise FileNotFoundError(f"no such file or folder: {raw}")
        for file in python_files(path):
            try:
                source = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                findings.append(Finding(str(file), 1, 1, "TD000", f"cannot read: {exc}"))
                continue
            findings.extend(check_source(source, str(file)))
    return findings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments (shared by ``trio-durable check``)."""
    parser.add_argument("paths", nargs="+", metavar="PATH", help="Python files or folders")


def run(args: argparse.Namespace, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Print the findings; 0 when there is none, 1 when there is any, 2 on a bad path."""
    try:
        findings = check_paths(args.paths)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=err)
        return 2
    for finding in findings:
        print(finding, file=out)
    if findings:
        codes = sorted({f.code for f in findings})
        print(
            f"{len(findings)} finding{'s' * (len(findings) != 1)} "
            f"({', '.join(f'{c}: {RULES[c].summary}' for c in codes)})",
            file=err,
        )
    return 1 if findings else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m trio_durable.lint",
        description="Find code in durable workflows that would not replay alike.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
