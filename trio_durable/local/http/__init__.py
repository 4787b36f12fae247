"""The local service's HTTP API: botocore's ``lambda`` REST routes over hypercorn on Trio.

Every request is translated, nothing more: routed by method and path, its URI
labels, query string, headers and JSON body checked against the botocore input
shape, the matching ``LocalService`` method called, and its answer (or
``ServiceError``) written back in the rest-json form boto3 parses. It also
serves the web console: ``GET /`` and ``GET /console/{file}`` (static files) and
the console's reads beyond AWS's API (``GET /local/...``, ``local/console/``),
with the same error treatment. Bodies are bounded per route (a
``Content-Length`` over the bound is refused before anything is read), and in
time; before any of this, ``Admission`` (``local/admission.py``) checks the
Host and Origin headers and bounds the requests in progress.

- ``routes.py``: method and path to the botocore operation and its body bound (sans-IO)
- ``messages.py``: request pieces, validation, response shapes (sans-IO)
- ``api.py``: ``HttpApi``, the ASGI app: admission, body reading, one method per operation
- ``server.py``: the socket and ``serve`` (hypercorn on Trio)

Only ``local/`` callers and the command line import this package.
"""

from trio_durable.local.http.api import HttpApi
from trio_durable.local.http.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    AddressInUseError,
    bind_socket,
    endpoint_of,
    serve,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "AddressInUseError",
    "HttpApi",
    "bind_socket",
    "endpoint_of",
    "serve",
]
