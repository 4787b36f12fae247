"""The X-Ray header Lambda hands each invocation of a function (sans-IO).

Lambda records every invocation as a segment of its own, under the parent the
header it was invoked with names (a chained invoke's ``XAmznTraceId``, an
Invoke's ``X-Amzn-Trace-Id``), and hands the function that header with the
segment as the ``Parent``: the same trace (``Root``) and sampling decision, so
the function's spans join the caller's trace under Lambda's segment, never
directly under the caller's span (AWS's tracing requirements check this).
The local service exports no segments of its own: a trace viewer shows such a
parent as missing, while the execution's ``TraceHeader`` still names the
caller's span.
"""

from __future__ import annotations

import hashlib


def segment_id(request_id: str) -> str:
    """The id (16 hex digits, never zero) of the segment of invocation ``request_id``."""
    digest = hashlib.blake2b(f"segment:{request_id}".encode(), digest_size=8).hexdigest()
    return digest if int(digest, 16) else "0000000000000001"


def invocation_header(header: str, request_id: str) -> str:
    """``header`` as invocation ``request_id`` receives it: its ``Parent`` is that
    invocation's segment. A header without a ``Root`` names no trace to join and
    is handed over as it is."""
    fields = [field.strip() for field in header.split(";") if field.strip()]
    keys = [field.partition("=")[0] for field in fields]
    if "Root" not in keys:
        return header
    parent = f"Parent={segment_id(request_id)}"
    if "Parent" in keys:
        fields[keys.index("Parent")] = parent
    else:
        fields.insert(keys.index("Root") + 1, parent)
    return ";".join(fields)
