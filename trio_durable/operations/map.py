"""The map operation: run ``fn(item_ctx, item, index)`` for every item as one batch.

Each item's operation is named by ``MapConfig.item_namer(item, index)``
(default ``map-item-<index>``). The batch core is ``operations/concurrency.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from trio_durable.config import MapConfig
from trio_durable.errors import ValidationError
from trio_durable.operations.batch import BatchResult
from trio_durable.operations.concurrency import BatchKind, Branch, branch_name, run_batch
from trio_durable.operations.protocols import OperationScope

KIND = BatchKind(sub_type="Map", branch_sub_type="MapIteration", branch_prefix="map-item-")
_DEFAULT_CONFIG = MapConfig()

MapFn = Callable[[Any, Any, int], Awaitable[Any]]
"""``await fn(item_ctx, item, index)`` with the item's ``DurableContext``."""


async def run_map(
    ctx: OperationScope,
    items: Sequence[Any],
    fn: MapFn,
    *,
    name: str | None,
    config: MapConfig | None,
) -> BatchResult[Any]:
    """Validate, then run one branch per item as one batch."""
    if config is None:
        config = _DEFAULT_CONFIG
    elif not isinstance(config, MapConfig):
        raise ValidationError(f"config must be a MapConfig, got {type(config).__name__}")
    if isinstance(items, str | bytes | Mapping) or not isinstance(items, Sequence):
        raise ValidationError(f"map needs a sequence of items, got {type(items).__name__}")
    if not callable(fn):
        raise ValidationError(f"map needs a callable, got {type(fn).__name__}")
    namer = config.item_namer
    batch = [
        Branch(
            functools.partial(_call, fn, item, index),
            f"{KIND.branch_prefix}{index}"
            if namer is None
            else branch_name(namer(item, index), index),
        )
        for index, item in enumerate(items)
    ]
    return await run_batch(ctx, KIND, batch, name=name, config=config)


async def _call(fn: MapFn, item: Any, index: int, item_ctx: OperationScope) -> Any:
    return await fn(item_ctx.context, item, index)
