"""Running the installed ``trio-durable`` console script in tests."""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

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
    """A command running in the background. Its stdout and stderr are read only when a
    test asks for a line (so a test can also leave a pipe unread on purpose), and no
    read ever outlasts the test's deadline."""

    process: subprocess.Popen[bytes]
    _lines: dict[str, list[str]] = field(default_factory=lambda: {"stdout": [], "stderr": []})
    _partial: dict[str, bytes] = field(default_factory=lambda: {"stdout": b"", "stderr": b""})
    _ended: set[str] = field(default_factory=set)

    def lines(self, stream: str = "stderr") -> list[str]:
        """The complete lines of ``stream`` read so far."""
        return list(self._lines[stream])

    def assert_banner_first(self) -> None:
        """``serve``'s banner is the first thing on stdout, whole: no log line before
        it or cutting into it."""
        self.wait_for_line(r"^  web console: ", stream="stdout")
        lines = self._lines["stdout"]
        assert lines[0].startswith("trio-durable service listening on http://"), lines[:8]
        end = next(i for i, line in enumerate(lines) if line.startswith("  web console: "))
        assert all(line.startswith("  ") for line in lines[1:end]), lines[: end + 1]

    def wait_for_line(self, pattern: str, stream: str = "stderr") -> re.Match[str]:
        """The first line (so far or to come) of ``stream`` matching ``pattern``;
        an AssertionError after WAIT seconds, or when the stream ends, without one."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + WAIT
        checked = 0
        while True:
            for line in self._lines[stream][checked:]:
                if (found := regex.search(line)) is not None:
                    return found
            checked = len(self._lines[stream])
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                problem = f"no line matching {pattern!r} in {stream} within {WAIT:.0f} s"
                break
            if not self._read(stream, remaining):
                problem = f"{stream} ended without a line matching {pattern!r}"
                break
        raise AssertionError(f"{problem}:\n{''.join(self._lines[stream])}")

    def _read(self, stream: str, timeout: float) -> bool:
        """Read what both streams have within ``timeout`` seconds (draining the other
        one too, so the command never blocks on a full pipe while the test waits);
        False once ``stream`` has ended."""
        sources = {
            name: source
            for name in ("stdout", "stderr")
            if name not in self._ended and (source := getattr(self.process, name)) is not None
        }
        if stream not in sources:
            return False
        readable, _, _ = select.select(list(sources.values()), [], [], timeout)
        for name, source in sources.items():
            if source in readable:
                chunk = os.read(source.fileno(), 65536)
                self._absorb(name, chunk, end=not chunk)
                if not chunk:
                    self._ended.add(name)
        return stream not in self._ended

    def _absorb(self, stream: str, chunk: bytes, *, end: bool = False) -> None:
        *complete, self._partial[stream] = (self._partial[stream] + chunk).split(b"\n")
        self._lines[stream] += [line.decode(errors="replace") + "\n" for line in complete]
        if end and self._partial[stream]:
            self._lines[stream].append(self._partial[stream].decode(errors="replace"))
            self._partial[stream] = b""

    def finish(self) -> tuple[int, str, str]:
        """Wait for the command to end: its status, its whole stdout and stderr."""
        out, err = self.process.communicate(timeout=WAIT)
        self._absorb("stdout", out, end=True)
        self._absorb("stderr", err, end=True)
        return (
            self.process.returncode,
            "".join(self._lines["stdout"]),
            "".join(self._lines["stderr"]),
        )


@contextmanager
def background(args: Sequence[str], env: dict[str, str] | None = None) -> Iterator[Running]:
    """Start ``trio-durable ARGS`` (``env``: additions to the environment); killed
    at the end if still running."""
    process = subprocess.Popen(
        [str(CLI), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        env={**os.environ, **(env or {})},
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
