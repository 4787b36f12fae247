"""Per-thread capture of what the validator prints.

The validator reports progress with ``print``; with several requirements
validated at once on worker threads, their lines would interleave. While a
``ThreadRoutedStdout`` is installed, each worker thread's output goes to its own
buffer (kept with the requirement's result) and every other thread writes through.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class ThreadRoutedStdout(io.TextIOBase):
    """A stdout that sends each capturing thread's writes to that thread's buffer."""

    def __init__(self, passthrough: TextIO) -> None:
        self._passthrough = passthrough
        self._buffers: dict[int, io.StringIO] = {}
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            buffer = self._buffers.get(threading.get_ident())
        if buffer is None:
            return self._passthrough.write(text)
        return buffer.write(text)

    def flush(self) -> None:
        self._passthrough.flush()

    @contextmanager
    def capture(self) -> Iterator[io.StringIO]:
        """Route the calling thread's writes into the yielded buffer until exit."""
        buffer = io.StringIO()
        ident = threading.get_ident()
        with self._lock:
            self._buffers[ident] = buffer
        try:
            yield buffer
        finally:
            with self._lock:
                del self._buffers[ident]


@contextmanager
def routed_stdout() -> Iterator[ThreadRoutedStdout]:
    """Install a ``ThreadRoutedStdout`` as ``sys.stdout`` for the block."""
    original = sys.stdout
    routed = ThreadRoutedStdout(original)
    sys.stdout = routed
    try:
        yield routed
    finally:
        sys.stdout = original
