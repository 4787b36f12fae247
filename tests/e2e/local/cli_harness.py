"""Running the installed ``trio-durable`` console script in tests."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from local_service_harness import WAIT

CLI = Path(sys.executable).parent / "trio-durable"


def cli(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run one command to its end."""
    return subprocess.run(
        [str(CLI), *args],
        capture_output=True,
        text=True,
        timeout=WAIT,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


@dataclass
class Running:
    """A command running in the background, its stderr and stdout read line by line."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def wait_for_line(self, pattern: str, stream: str = "stderr") -> re.Match[str]:
        """The first line (so far or to come) of ``stream`` matching ``pattern``."""
        source: IO[str] | None = getattr(self.process, stream)
        assert source is not None
        regex = re.compile(pattern)
        deadline = time.monotonic() + WAIT
        for line in self.lines:
            if (found := regex.search(line)) is not None:
                return found
        while time.monotonic() < deadline:
            line = source.readline()
            if not line:
                break
            self.lines.append(line)
            if (found := regex.search(line)) is not None:
                return found
        raise AssertionError(f"no line matching {pattern!r} in {stream}:\n{''.join(self.lines)}")

    def finish(self) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=WAIT)
        return self.process.returncode, out, "".join(self.lines) + err


@contextmanager
def background(args: Sequence[str]) -> Iterator[Running]:
    """Start ``trio-durable ARGS``; killed at the end if still running."""
    process = subprocess.Popen(
        [str(CLI), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        yield Running(process)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(WAIT)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
