"""Findings suppressed by ``# noqa``: only the unsuppressed one remains."""

import os
import random
import time

from trio_durable import DurableContext, durable_execution


@durable_execution
async def handler(event: dict, ctx: DurableContext) -> list:
    a = time.time()  # noqa: TD001
    b = random.random()  # noqa: TD001, TD002
    c = os.getenv("X")  # noqa
    d = time.time()  # noqa: TD002  expect: TD001
    return [a, b, c, d]
