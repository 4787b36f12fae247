"""The JSON report of a conformance run, and the docs table generated from it."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["PASSED", "FAILED", "NOT_IMPLEMENTED", "NOT_RUN"]


@dataclass(frozen=True)
class Outcome:
    """What happened to one requirement id."""

    id: str
    suite: str
    status: Status
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    function: str | None = None
    handler: str | None = None
    reason: str | None = None
    execution_arn: str | None = None
    description: str = ""


@dataclass(frozen=True)
class Report:
    """A whole run: outcomes in requirement order, and the wall-clock time taken."""

    outcomes: list[Outcome]
    run_seconds: float

    def counts(self) -> Counter[str]:
        return Counter(o.status for o in self.outcomes)

    def summary_line(self) -> str:
        c = self.counts()
        return (
            f"conformance: {c['PASSED']} passed, {c['FAILED']} failed,"
            f" {c['NOT_IMPLEMENTED']} not implemented"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "run_seconds": round(self.run_seconds, 2),
            "counts": dict(self.counts()),
            "requirements": [asdict(o) for o in self.outcomes],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Report:
        return cls(
            outcomes=[Outcome(**o) for o in data["requirements"]],
            run_seconds=float(data["run_seconds"]),
        )

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def read(cls, path: Path) -> Report:
        return cls.from_json(json.loads(path.read_text(encoding="utf-8")))


def requirement_sort_key(rid: str) -> tuple[int, ...]:
    """``"3-12"`` sorts after ``"3-2"``."""
    return tuple(int(part) for part in rid.split("-"))


def render_markdown(report: Report, command: str) -> str:
    """The docs table: every requirement id, its status, and what answers it."""
    c = report.counts()
    lines = [
        "# Conformance with AWS's published durable-execution requirements",
        "",
        "Generated from a run's report; do not edit by hand. Regenerate with:",
        "",
        "```",
        command,
        "```",
        "",
        f"Run time: {report.run_seconds:.0f} s. {report.summary_line()}"
        + (f", {c['NOT_RUN']} not run." if c["NOT_RUN"] else "."),
        "",
        "| Id | Suite | Requirement | Status | Handler or reason |",
        "|----|-------|-------------|--------|-------------------|",
    ]
    for o in report.outcomes:
        answer = f"`{o.handler}`" if o.handler else (o.reason or "")
        description = o.description.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {o.id} | {o.suite} | {description} | {o.status} | {answer} |")
    failed = [o for o in report.outcomes if o.status == "FAILED"]
    if failed:
        lines += ["", "## Failures", ""]
        for o in failed:
            lines.append(f"- **{o.id}**: " + "; ".join(_first_lines(o.errors, 3)))
    return "\n".join(lines) + "\n"


def _first_lines(errors: list[str], count: int) -> list[str]:
    """The first ``count`` validator errors, one line each, for the docs."""
    flat = [e.splitlines()[0] for e in errors if e and not e.startswith("validator output:")]
    more = len(flat) - count
    return [f"`{e}`" for e in flat[:count]] + ([f"and {more} more"] if more > 0 else [])
