"""Deterministic operation ids: a per-context counter hashed with the parent's id.

The scheme is the official Python SDK's, so histories of both stay comparable.
Ids follow program order within each context (never task start order), and
depend on nothing else: every execution's root context has the same ids, and
every replay asks for them again, in order. So the ids are memoised, and the
cache holds a long execution's worth: a replay scans its ids in a cycle, and a
least-recently-used cache smaller than the scan evicts each id just before it
is asked for again (with 1,024 entries, a replay of 3,000 operations hashed
every id on every invocation). Bounded: about 2.3 MB when full.
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import blake2b


@lru_cache(maxsize=8192)
def operation_id(parent_id: str | None, counter: int) -> str:
    """The id of the ``counter``-th (1-based) operation of the context ``parent_id``."""
    key = f"{parent_id}-{counter}" if parent_id else str(counter)
    return blake2b(key.encode()).hexdigest()[:64]
