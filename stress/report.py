"""What a stress run checked: named counters and the violations it found.

Every check either passes silently (and counts) or records a violation with
enough detail to find it again (the seed of the run, the operation id). A run
prints its counts and violations; ``python -m stress`` exits non-zero when any
run found one.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import TextIO

MAX_SHOWN_VIOLATIONS = 20


@dataclass
class Report:
    """Counters and violations of one stress run."""

    name: str
    counts: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def count(self, what: str, n: int = 1) -> None:
        self.counts[what] += n

    def check(self, ok: bool, what: str, detail: str) -> bool:
        """Count ``what`` as checked; record ``detail`` as a violation if not ``ok``."""
        self.counts[f"checked: {what}"] += 1
        if not ok:
            self.violations.append(f"{what}: {detail}")
        return ok

    @property
    def passed(self) -> bool:
        return not self.violations

    def print(self, out: TextIO = sys.stdout) -> None:
        verdict = "ok" if self.passed else f"FAILED ({len(self.violations)} violations)"
        print(f"== {self.name}: {verdict}", file=out)
        for key in sorted(self.counts):
            print(f"   {key}: {self.counts[key]}", file=out)
        for violation in self.violations[:MAX_SHOWN_VIOLATIONS]:
            print(f"   VIOLATION {violation}", file=out)
        if len(self.violations) > MAX_SHOWN_VIOLATIONS:
            print(f"   ... and {len(self.violations) - MAX_SHOWN_VIOLATIONS} more", file=out)
        out.flush()
