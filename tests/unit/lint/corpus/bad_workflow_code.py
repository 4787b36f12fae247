"""Workflow code that would not replay alike: TD001-TD004 (each marked line)."""

import datetime as dt
import os
import random
import secrets
import socket
import subprocess
import time
import uuid
from datetime import date, datetime
from os import environ, getenv
from pathlib import Path
from random import randint
from time import monotonic as clock

import boto3
import httpx
import requests
import trio

from trio_durable import DurableContext, durable_execution


def fetch(url: str) -> str:
    return url


@durable_execution
async def handler(event: dict, ctx: DurableContext) -> dict:
    started = time.time()  # expect: TD001
    now = datetime.now()  # expect: TD001
    today = date.today()  # expect: TD001
    later = dt.datetime.utcnow()  # expect: TD001
    tick = clock()  # expect: TD001
    loop_now = trio.current_time()  # expect: TD001
    roll = random.random()  # expect: TD002
    pick = randint(1, 6)  # expect: TD002
    ident = uuid.uuid4()  # expect: TD002
    noise = os.urandom(8)  # expect: TD002
    region = os.environ["AWS_REGION"]  # expect: TD003
    stage = os.environ.get("STAGE")  # expect: TD003
    home = getenv("HOME")  # expect: TD003
    copy = dict(environ)  # expect: TD003
    with open("config.json") as file:  # expect: TD004
        config = file.read()
    text = Path("notes.txt").read_text()  # expect: TD004
    page = httpx.get("https://example.com")  # expect: TD004
    token = secrets.token_hex(8)  # expect: TD002
    listing = subprocess.run(["ls"], capture_output=True)  # expect: TD004
    conn = socket.create_connection(("example.com", 80))  # expect: TD004
    client = boto3.client("s3")  # expect: TD004
    body = requests.get("https://example.com").text  # expect: TD004
    result = await ctx.step(fetch, "https://example.com")
    summary = summarise(result)
    return {
        "values": [started, now, today, later, tick, loop_now, roll, pick, ident, noise],
        "env": [region, stage, home, copy],
        "io": [config, text, page, summary, token, listing, conn, client, body],
    }


def summarise(result: str) -> str:
    """Called by the workflow, so it is workflow code too."""
    return f"{result} at {time.monotonic()}"  # expect: TD001


async def item_price(item_ctx: DurableContext, sku: str, index: int) -> float:
    """A map function: workflow code."""
    discount = random.choice([0, 5, 10])  # expect: TD002
    price: float = await item_ctx.step(fetch, sku)
    return price * (100 - discount) / 100


async def stock_branch(branch_ctx: DurableContext) -> str:
    return await branch_ctx.step(fetch, os.getenv("STOCK_URL", ""))  # expect: TD003


async def child_body(child_ctx, sku):  # no annotation: found through run_in_child_context
    return time.time_ns()  # expect: TD001


@durable_execution
async def fan_out(event: dict, ctx: DurableContext) -> list:
    prices = await ctx.map(event["skus"], item_price)
    checks = await ctx.parallel([stock_branch])
    inner = await ctx.run_in_child_context(child_body, "A1")

    async def nested(child: DurableContext) -> float:
        return random.uniform(0, 1)  # expect: TD002

    value = await ctx.run_in_child_context(nested)
    return [prices, checks, inner, value]


async def unannotated(event, ctx):
    return datetime.today()  # expect: TD001


handler_two = durable_execution(unannotated)
