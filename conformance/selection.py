"""Which requirement ids a run covers: the validator's YAML tree, filtered by suite and id."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.report import requirement_sort_key


@dataclass(frozen=True)
class Selected:
    """One requirement id of the validator's YAML tree, chosen for this run."""

    id: str
    suite: str
    yaml_path: str
    description: str
    estimate: float = 0.0


# YAML keys whose numbers are seconds the validation must sit through.
_SECONDS_KEYS = frozenset(
    {"Duration", "Timeout", "HeartbeatTimeout", "NextAttemptDelaySeconds", "Delay"}
)
# The validator sleeps this long before reading the logs of a requirement with ExpectedLogs.
_LOG_READ_DELAY = 10.0


def estimate_seconds(data: Any) -> float:
    """A rough lower bound of a requirement's run time: the waits, delays and
    timeouts its YAML names, plus the validator's pause before reading logs.
    Used to start the slowest requirements first."""
    total = _LOG_READ_DELAY if isinstance(data, dict) and data.get("ExpectedLogs") else 0.0

    def walk(node: Any) -> float:
        if isinstance(node, dict):
            return sum(
                float(v) if k in _SECONDS_KEYS and isinstance(v, int | float) else walk(v)
                for k, v in node.items()
            )
        if isinstance(node, list):
            return sum(walk(v) for v in node)
        return 0.0

    return total + walk(data)


def discover(root: Path | None = None) -> list[Selected]:
    """Every requirement id under ``root`` (``<suite>/<id>.yaml``; by default the tree the
    validator package ships), in id order."""
    import yaml

    if root is None:
        from aws_durable_execution_conformance_tests import config

        root = Path(config.TESTS_DIR)
    found: list[Selected] = []
    for path in root.glob("*/*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        found.append(
            Selected(
                id=path.stem,
                suite=path.parent.name,
                yaml_path=str(path),
                description=str(data.get("description", "")).strip(),
                estimate=estimate_seconds(data),
            )
        )
    return sorted(found, key=lambda s: requirement_sort_key(s.id))


def select(
    all_ids: Sequence[Selected], suites: Sequence[str], ids: Sequence[str]
) -> list[Selected]:
    """The ids named by ``--suite`` and ``--id`` (all of them when neither is given)."""
    known_suites = {s.suite for s in all_ids}
    known_ids = {s.id for s in all_ids}
    unknown = [s for s in suites if s not in known_suites] + [i for i in ids if i not in known_ids]
    if unknown:
        raise SystemExit(
            f"conformance: unknown suite or id: {', '.join(unknown)}"
            f" (suites: {', '.join(sorted(known_suites))})"
        )
    if not suites and not ids:
        return list(all_ids)
    return [s for s in all_ids if s.suite in suites or s.id in ids]
