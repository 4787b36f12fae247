"""The web console: static pages served at the service's root URL, and the few
JSON reads it needs beyond AWS's API.

The console (``static/``: hand-written HTML, CSS and JavaScript, no build step)
runs in the browser and only calls the service's HTTP API, the same routes boto3
uses, plus the reads below, which AWS's API has no form for. ``local/http/``
routes ``GET /``, ``GET /console/{file}`` and ``GET /local/...`` here and
translates query strings; these functions hold what the reads mean.

- ``list_functions``: every function served or holding executions.
- ``list_executions``: executions across functions, newest first, filtered by
  function, statuses and a case-insensitive part of the name, in pages.
- ``execution_logs``: the ``ctx.logger`` records the service kept for one
  execution (``local/logbook.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources
from typing import TYPE_CHECKING, Any

from trio_durable.local.validation import MAX_PAGE_ITEMS, offset_marker, page_limit

if TYPE_CHECKING:
    from trio_durable.local.service import LocalService

__all__ = ["execution_logs", "list_executions", "list_functions", "static_file"]

DEFAULT_PAGE_ITEMS = 100

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}


def static_file(name: str) -> tuple[bytes, str] | None:
    """The console file ``name`` (``index.html`` for the root) and its content
    type, or None when the console has no such file."""
    suffix = name[name.rfind(".") :] if "." in name else ""
    if suffix not in _CONTENT_TYPES or "/" in name or name.startswith("."):
        return None
    resource = resources.files(__package__).joinpath("static", name)
    if not resource.is_file():
        return None
    return resource.read_bytes(), _CONTENT_TYPES[suffix]


def list_functions(service: LocalService) -> dict[str, Any]:
    """``{"Functions": [{"FunctionName", "Registered"}]}``, sorted by name."""
    served = service.engine.functions
    return {
        "Functions": [
            {"FunctionName": name, "Registered": name in served}
            for name in service.function_names()
        ]
    }


def list_executions(
    service: LocalService,
    *,
    function_name: str | None = None,
    statuses: Sequence[str] | None = None,
    name_contains: str | None = None,
    marker: str | None = None,
    max_items: int | None = None,
) -> dict[str, Any]:
    """Executions of every function (or of ``function_name``), newest first:
    ``{"DurableExecutions": [...], "Count": matching, "NextMarker"?}``; each item
    is a ``ListDurableExecutionsByFunction`` item. ``Count`` counts every match,
    not just this page."""
    limit = page_limit(max_items, DEFAULT_PAGE_ITEMS)
    names = [function_name] if function_name is not None else service.function_names()
    needle = name_contains.casefold() if name_contains else None
    found: list[dict[str, Any]] = []
    for name in names:
        page_marker: str | None = None
        while True:
            page = service.list_executions(
                name,
                statuses=statuses,
                reverse_order=True,
                marker=page_marker,
                max_items=MAX_PAGE_ITEMS,
            )
            found.extend(
                item
                for item in page["DurableExecutions"]
                if needle is None or needle in item["DurableExecutionName"].casefold()
            )
            page_marker = page.get("NextMarker")
            if page_marker is None:
                break
    found.sort(key=lambda item: item["StartTimestamp"], reverse=True)
    start = offset_marker(marker, len(found))
    items = found[start : start + limit]
    out: dict[str, Any] = {"DurableExecutions": items, "Count": len(found)}
    if start + len(items) < len(found):
        out["NextMarker"] = str(start + len(items))
    return out


def execution_logs(service: LocalService, arn: str) -> dict[str, Any]:
    """``{"Records": [...]}``: what the execution logged, oldest first (see
    ``LogEntry.to_json``); ``ResourceNotFoundException`` for an unknown execution."""
    service.get_execution(arn, include_execution_data=False)
    return {"Records": [entry.to_json() for entry in service.logs.records(arn)]}
