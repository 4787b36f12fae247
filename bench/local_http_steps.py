"""1,000 sequential steps over HTTP against trio-durable's local service, per store.

Usage: ``.venv/bin/python -m bench.local_http_steps [N]``. For each store
(memory, SQLite) and each SDK (trio-durable, AWS's), runs the HTTP workload of
``bench/http_side.py`` (handler in a ``SubprocessInvoker`` worker, checkpoints
over boto3, one warm-up execution first) and prints seconds per execution.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import trio

from bench.http_side import OURS_TARGET, THEIRS_TARGET, run_over_http
from trio_durable.local.sqlite_store import SQLiteStore
from trio_durable.local.store import MemoryStore, Store

TARGETS = {"trio-durable": OURS_TARGET, "aws-sdk": THEIRS_TARGET}


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    print(f"{n} sequential steps, handler in a worker process, checkpoints over HTTP (boto3)")
    for sdk, target in TARGETS.items():
        for store_name in ("memory", "sqlite"):
            with tempfile.TemporaryDirectory() as folder:
                store: Store = (
                    MemoryStore()
                    if store_name == "memory"
                    else SQLiteStore(Path(folder) / "state.db")
                )
                try:
                    seconds = trio.run(run_over_http, target, n, store)
                finally:
                    store.close()
            print(f"  {sdk:<13} {store_name:<7} {seconds:7.3f} s", flush=True)


if __name__ == "__main__":
    main()
