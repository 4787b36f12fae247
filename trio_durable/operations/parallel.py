"""The parallel operation: run branch functions concurrently as one batch.

Each branch is ``await fn(branch_ctx)``, a plain async callable or a
``ParallelBranch`` naming its operation (default ``parallel-branch-<index>``).
The batch core is ``operations/concurrency.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from trio_durable.config import ParallelConfig
from trio_durable.errors import ValidationError
from trio_durable.operations.batch import BatchResult
from trio_durable.operations.concurrency import BatchKind, Branch, BranchFn, branch_name, run_batch
from trio_durable.operations.protocols import OperationScope

KIND = BatchKind(
    sub_type="Parallel", branch_sub_type="ParallelBranch", branch_prefix="parallel-branch-"
)
_DEFAULT_CONFIG = ParallelConfig()
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ParallelBranch(Generic[T]):
    """A branch of ``ctx.parallel`` (``await fn(branch_ctx)`` returning a ``T``) with
    the name its operation is recorded under."""

    fn: Callable[[Any], Awaitable[T]]
    name: str


async def run_parallel(
    ctx: OperationScope,
    branches: Sequence[BranchFn | ParallelBranch[Any]],
    *,
    name: str | None,
    config: ParallelConfig | None,
) -> BatchResult[Any]:
    """Validate, then run the branches as one batch."""
    if config is None:
        config = _DEFAULT_CONFIG
    elif not isinstance(config, ParallelConfig):
        raise ValidationError(f"config must be a ParallelConfig, got {type(config).__name__}")
    if isinstance(branches, str) or not isinstance(branches, Sequence):
        raise ValidationError(
            f"parallel needs a sequence of branch functions, got {type(branches).__name__}"
        )
    batch = [_branch(entry, index) for index, entry in enumerate(branches)]
    return await run_batch(ctx, KIND, batch, name=name, config=config)


def _branch(entry: BranchFn | ParallelBranch[Any], index: int) -> Branch:
    if isinstance(entry, ParallelBranch):
        fn, name = entry.fn, branch_name(entry.name, index)
    else:
        fn, name = entry, f"{KIND.branch_prefix}{index}"
    if not callable(fn):
        raise ValidationError(f"branch {index} of parallel is not callable: {fn!r}")
    return Branch(functools.partial(_call, fn), name)


async def _call(fn: BranchFn, branch: OperationScope) -> Any:
    return await fn(branch.context)
