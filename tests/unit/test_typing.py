"""The public API's types, checked by mypy --strict on tests/typing/api_types.py.

That file states types with ``assert_type`` and marks the lines that must be
errors with ``# type: ignore[code]``; strict mode's warn_unused_ignores makes an
ignore that is no longer needed an error, so the expected errors stay honest.
"""

from __future__ import annotations

from pathlib import Path

from mypy import api

ROOT = Path(__file__).resolve().parents[2]


def test_the_public_api_types_check_under_mypy_strict() -> None:
    stdout, stderr, status = api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--strict",
            "--no-error-summary",
            str(ROOT / "tests" / "typing" / "api_types.py"),
        ]
    )
    assert status == 0, stdout + stderr
