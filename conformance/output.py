"""Per-thread capture of what the validator prints.

The validator reports progress with ``print`` (and problems on stderr); with
several requirements validated at once on worker threads, their lines would
interleave. While ``routed_output`` is active, each capturing thread's stdout
and stderr go to that thread's own buffer (kept with the requirement's result)
and every other thread writes through.
"""

from __future__ import annotations

import io
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO


class ThreadRouter:
    """The buffers of the threads that are capturing their output right now."""

    def __init__(self) -> None:
        self._buffers: dict[int, io.StringIO] = {}
        self._lock = threading.Lock()

    def buffer_of_current_thread(self) -> io.StringIO | None:
        with self._lock:
            return self._buffers.get(threading.get_ident())

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


class _RoutedStream(io.TextIOBase):
    """A text stream writing to the current thread's buffer, or else to ``passthrough``."""

    def __init__(self, router: ThreadRouter, passthrough: TextIO) -> None:
        self._router = router
        self._passthrough = passthrough

    def write(self, text: str) -> int:
        buffer = self._router.buffer_of_current_thread()
        if buffer is None:
            return self._passthrough.write(text)
        return buffer.write(text)

    def flush(self) -> None:
        self._passthrough.flush()


@contextmanager
def routed_output() -> Iterator[ThreadRouter]:
    """Route ``sys.stdout`` and ``sys.stderr`` per thread for the block."""
    router = ThreadRouter()
    original = sys.stdout, sys.stderr
    sys.stdout = _RoutedStream(router, original[0])
    sys.stderr = _RoutedStream(router, original[1])
    try:
        yield router
    finally:
        sys.stdout, sys.stderr = original
