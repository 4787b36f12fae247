"""Checkpoint cost of the local engine as an execution grows.

Fills one execution with N operations (steps started and succeeded, 250 updates
per call), then times checkpoints that each start and succeed one more step, and
reports the median and 95th percentile per checkpoint for N = 100, 1,000 and
10,000, with the in-memory store and with the SQLite store. The cost must stay
flat: no checkpoint rescans or rewrites what the execution already holds.

    .venv/bin/python bench/engine_checkpoint_cost.py [--samples 300]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from trio_durable.local.engine import Engine
from trio_durable.local.sqlite_store import SQLiteStore
from trio_durable.local.store import MemoryStore, Store
from trio_durable.wire import OperationAction, OperationType, OperationUpdate

SIZES = (100, 1_000, 10_000)
PAYLOAD = '{"order": 12345, "status": "reserved", "items": [1, 2, 3]}'


def _step(op_id: str) -> list[OperationUpdate]:
    return [
        OperationUpdate(op_id, OperationType.STEP, OperationAction.START, name="work"),
        OperationUpdate(op_id, OperationType.STEP, OperationAction.SUCCEED, payload=PAYLOAD),
    ]


def measure(make_store: Callable[[], Store], size: int, samples: int) -> tuple[float, float]:
    """Median and p95 microseconds per checkpoint once the execution holds ``size`` ops."""
    store = make_store()
    engine = Engine(store=store, clock=time.time)
    engine.functions.add("bench")
    arn = engine.start_execution("bench", None).arn
    token = engine.take_invocations()[0].event["CheckpointToken"]
    made = 0
    while made < size:
        batch: list[OperationUpdate] = []
        while made < size and len(batch) < 250:
            batch.extend(_step(f"fill-{made}"))
            made += 1
        token = engine.checkpoint(arn, token, batch).checkpoint_token
    timings = []
    for i in range(samples):
        updates = _step(f"probe-{i}")
        start = time.perf_counter()
        token = engine.checkpoint(arn, token, updates).checkpoint_token
        timings.append((time.perf_counter() - start) * 1e6)
    store.close()
    timings.sort()
    return statistics.median(timings), timings[int(len(timings) * 0.95)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        counter = iter(range(1_000_000))
        stores: dict[str, Callable[[], Store]] = {
            "memory": MemoryStore,
            "sqlite": lambda: SQLiteStore(Path(folder) / f"bench-{next(counter)}.db"),
        }
        print(f"{'store':8} {'operations':>10} {'median us':>10} {'p95 us':>10}")
        for name, make_store in stores.items():
            for size in SIZES:
                median, p95 = measure(make_store, size, args.samples)
                print(f"{name:8} {size:>10,} {median:>10.1f} {p95:>10.1f}")


if __name__ == "__main__":
    main()
