"""A minimal Lambda ``Invoke`` endpoint hosting one sync handler, for AWS's web runner.

AWS's ``WebRunner`` drives an execution by calling ``Invoke`` on a Lambda
endpoint (normally ``sam local``). This stands in for it inside the benchmark
process: ``POST /2015-03-31/functions/{name}/invocations`` runs the handler on
the JSON body and answers with its JSON result, nothing more.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

SyncHandler = Callable[[Any, Any], Any]


class LambdaEndpoint:
    """Serve ``handler`` on 127.0.0.1 in a background thread; use as a context manager."""

    def __init__(self, handler: SyncHandler, make_context: Callable[[], Any]) -> None:
        endpoint = self

        class _Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                if not self.path.split("?")[0].endswith("/invocations"):
                    self._answer(404, {"message": f"no route {self.path}"})
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                event = json.loads(body or b"{}")
                endpoint.invocations += 1
                self._answer(200, handler(event, make_context()))

            def _answer(self, status: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.invocations = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Request)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
