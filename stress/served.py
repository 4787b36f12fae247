"""A real ``trio-durable serve`` process, for the suites that fault it from outside
(a full disk, floods of connections): started on a loopback port from the
project's root (so ``stress.workflows`` targets load), its stderr kept, stopped
with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

CLI = Path(sys.executable).parent / "trio-durable"
ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 60


@dataclass
class Served:
    """A running service: its process, endpoint and what it printed on stderr."""

    process: subprocess.Popen[str]
    endpoint: str
    stderr: list[str] = field(default_factory=list)

    @property
    def address(self) -> tuple[str, int]:
        url = urlsplit(self.endpoint)
        assert url.hostname is not None and url.port is not None
        return url.hostname, url.port

    @property
    def netloc(self) -> str:
        return urlsplit(self.endpoint).netloc

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self) -> int:
        """SIGTERM, then the exit status (killed after a minute)."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(START_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _drain(stream: IO[str], into: list[str]) -> None:
    for line in stream:
        into.append(line)


@contextmanager
def served(*args: str) -> Iterator[Served]:
    """``trio-durable serve --port 0 ARGS`` on 127.0.0.1 until the block ends."""
    process = subprocess.Popen(
        [str(CLI), "serve", "--host", "127.0.0.1", "--port", "0", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None and process.stderr is not None
    stderr: list[str] = []
    threading.Thread(target=_drain, args=(process.stderr, stderr), daemon=True).start()
    try:
        endpoint = _endpoint(process.stdout, stderr)
        threading.Thread(target=_drain, args=(process.stdout, []), daemon=True).start()
        yield Served(process, endpoint, stderr)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _endpoint(stdout: IO[str], stderr: list[str]) -> str:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        line = stdout.readline()
        if not line:
            break
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return found.group(1)
    time.sleep(0.5)  # let stderr's reader catch the reason
    raise RuntimeError(f"trio-durable serve did not start: {''.join(stderr)}")
