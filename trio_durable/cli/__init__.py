"""The ``trio-durable`` command line.

``run`` runs one execution against an embedded service and prints a live
timeline; ``serve`` runs the HTTP service; the other commands are clients of a
running service (boto3 with ``--endpoint``, which defaults to
``AWS_ENDPOINT_URL_LAMBDA`` or the local default port).

What lives here:

- ``app``: the parser and ``main`` (the console script's entry), which turns
  errors into one line and an exit status;
- ``commands/``: one module per command or command group, each with a
  ``register(commands)`` that adds its parser; ``commands/__init__.py`` lists them;
- ``options``: ``CliError``, argument types and the option groups commands share;
- ``client``: the helpers of commands that talk to a running service (boto3,
  paging, the service's ``GET /local/...`` reads, finding an EXECUTION);
- ``hosting``: stores and invokers for the commands that host a service (run, serve);
- ``render``: one line per history event, times in UTC, JSON output;
- ``tree``: where an event sits among its execution's operations (nesting, item
  indexes, batch summaries), for ``run``'s timeline and ``history``;
- ``timeline``: ``run``'s live timeline.

Nothing else in ``trio_durable`` imports this package; it imports the rest.
"""

from __future__ import annotations

from trio_durable.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
