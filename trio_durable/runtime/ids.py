"""Deterministic operation ids: a per-context counter hashed with the parent's id.

The scheme is the official Python SDK's, so histories of both stay comparable.
Ids follow program order within each context (never task start order). Every
replay asks for the same ids again, so the latest thousand are memoised
(bounded: about 0.3 MB).
"""

from __future__ import annotations

from functools import lru_cache
from hashlib import blake2b


@lru_cache(maxsize=1024)
def operation_id(parent_id: str | None, counter: int) -> str:
    """The id of the ``counter``-th (1-based) operation of the context ``parent_id``."""
    key = f"{parent_id}-{counter}" if parent_id else str(counter)
    return blake2b(key.encode()).hexdigest()[:64]
