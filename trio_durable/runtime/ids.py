"""Deterministic operation ids: a per-context counter hashed with the parent's id.

The scheme is the official Python SDK's, so histories of both stay comparable.
Ids follow program order within each context (never task start order), and
depend on nothing else: every execution's root context has the same ids, and
every replay asks for them again, in order. So the ids are memoised, and the
cache holds a long execution's worth: a replay scans its ids in a cycle, and a
least-recently-used cache smaller than the scan evicts each id just before it
is asked for again (with 1,024 entries, a replay of 3,000 operations hashed
every id on every invocation). Bounded: about 2.3 MB when full.

The root context's ids, every execution's, are kept in a list instead
(``known_ids(None)``): a replayed operation reads the next id by index, a
fraction of a call to the cache. Not in the cache as well: a first replay
never reads an id's entry again, and making it was a sixth of the id's cost.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache
from hashlib import blake2b

MAX_KNOWN_ROOT_IDS = 8192
"""How many of the root context's ids ``known_ids(None)`` keeps (about 1 MB)."""

_root_ids: list[str] = []  # _root_ids[k - 1]: the root's k-th id; only ever appended to
_root_ids_lock = threading.Lock()  # invocations on several threads compute ids at once


def operation_id(parent_id: str | None, counter: int) -> str:
    """The id of the ``counter``-th (1-based) operation of the context ``parent_id``."""
    if parent_id is None and 0 < counter <= MAX_KNOWN_ROOT_IDS:
        if len(_root_ids) < counter:
            with _root_ids_lock:  # the list stays every root id up to the highest asked for
                while len(_root_ids) < counter:
                    _root_ids.append(_hashed(None, len(_root_ids) + 1))
        return _root_ids[counter - 1]
    return cached_id(parent_id, counter)


@lru_cache(maxsize=8192)
def cached_id(parent_id: str | None, counter: int) -> str:
    """``operation_id`` of the contexts whose ids no list keeps, memoised."""
    return _hashed(parent_id, counter)


def _hashed(parent_id: str | None, counter: int) -> str:
    key = f"{parent_id}-{counter}" if parent_id else str(counter)
    return blake2b(key.encode()).digest()[:32].hex()  # hexdigest()[:64], hexing half


def known_ids(parent_id: str | None) -> Sequence[str]:
    """Ids of the context ``parent_id`` that need no hashing: ``ids[k - 1]`` is its
    ``k``-th, as far as ``len(ids)`` goes; ``operation_id`` answers the others.
    The root's, in the order a first execution computed them; none for other
    contexts. The sequence grows (only by appending) while it is held."""
    return _root_ids if parent_id is None else ()
