"""The determinism rules: their codes, and the names each one recognises.

A durable execution re-runs its code on every invocation and matches operations
by their order, so workflow code (outside step bodies) must take the same path
every time. Names here are fully qualified (``time.time``); the analysis
resolves a module's imports to them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RULES", "Rule"]


@dataclass(frozen=True, slots=True)
class Rule:
    """One finding kind: its code, a one-line summary, and the advice it gives."""

    code: str
    summary: str
    advice: str


PARSE_ERROR = Rule(
    "TD000",
    "file could not be parsed",
    "fix it, then check again",
)
CLOCK = Rule(
    "TD001",
    "clock read outside a step",
    "a replay reads another time; read it in a step",
)
RANDOM = Rule(
    "TD002",
    "random value outside a step",
    "a replay draws another value; draw it in a step",
)
ENVIRONMENT = Rule(
    "TD003",
    "environment read outside a step",
    "a replay may see another environment; read it in a step",
)
IO = Rule(
    "TD004",
    "file or network I/O outside a step",
    "a replay repeats it and may see other data; do it in a step",
)
OPERATION_IN_STEP = Rule(
    "TD005",
    "durable operation inside a step body",
    "a replay skips the step body; call it from the workflow or a child context",
)
OPERATION_IN_TASK = Rule(
    "TD006",
    "durable operation in a task of a raw nursery or task group",
    "its id would depend on scheduling; use ctx.parallel or ctx.map",
)
CAPTURED_MUTATION = Rule(
    "TD007",
    "variable captured from outside a step and mutated inside it",
    "a replay skips the body and the change; return the value from the step",
)
CONTEXT_IN_OTHER_TASK = Rule(
    "TD008",
    "context used from another task or thread",
    "a context belongs to the task that runs it; use ctx.parallel or ctx.map",
)

RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        PARSE_ERROR,
        CLOCK,
        RANDOM,
        ENVIRONMENT,
        IO,
        OPERATION_IN_STEP,
        OPERATION_IN_TASK,
        CAPTURED_MUTATION,
        CONTEXT_IN_OTHER_TASK,
    )
}

# --- what the workflow-code rules match (fully qualified call names) ------------

CLOCK_CALLS = frozenset(
    {
        "time.time",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "time.process_time",
        "time.localtime",
        "time.gmtime",
        "time.ctime",
        "time.asctime",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "datetime.date.today",
        "trio.current_time",
        "anyio.current_time",
    }
)

RANDOM_CALLS = frozenset(
    {
        "uuid.uuid1",
        "uuid.uuid4",
        "os.urandom",
        "os.getrandom",
        "random.SystemRandom",
    }
)
"""Besides these, every function of ``random`` (but a seeded ``random.Random(x)``),
``secrets`` and ``numpy.random``."""

RANDOM_MODULES = ("random", "secrets", "numpy.random")

ENVIRONMENT_NAMES = frozenset({"os.environ", "os.environb", "os.getenv", "os.getenvb"})

IO_CALLS = frozenset(
    {
        "open",
        "io.open",
        "os.open",
        "os.system",
        "os.popen",
        "os.listdir",
        "os.scandir",
        "os.walk",
        "os.remove",
        "os.unlink",
        "os.rename",
        "os.replace",
        "os.mkdir",
        "os.makedirs",
        "os.stat",
        "os.path.exists",
        "os.path.isfile",
        "os.path.isdir",
        "os.path.getsize",
        "os.path.getmtime",
        "glob.glob",
        "glob.iglob",
        "sqlite3.connect",
        "boto3.client",
        "boto3.resource",
        "trio.open_file",
        "trio.open_tcp_stream",
        "trio.open_ssl_over_tcp_stream",
        "trio.run_process",
        "anyio.open_file",
        "anyio.connect_tcp",
        "anyio.run_process",
        "asyncio.open_connection",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
    }
)
"""Besides these, every function of the modules below."""

IO_MODULES = (
    "socket",
    "ssl",
    "subprocess",
    "shutil",
    "tempfile",
    "urllib.request",
    "http.client",
    "requests",
    "httpx",
    "aiohttp",
    "aiofiles",
)

IO_METHODS = frozenset({"read_text", "write_text", "read_bytes", "write_bytes"})
"""``pathlib.Path`` methods, matched on any receiver (the analysis knows no types)."""

# --- durable operations and tasks ----------------------------------------------

OPERATIONS = frozenset(
    {
        "step",
        "wait",
        "run_in_child_context",
        "create_callback",
        "wait_for_callback",
        "invoke",
        "wait_for_condition",
        "parallel",
        "map",
        "patched",
    }
)
"""The methods of ``DurableContext`` that record an operation."""

SPAWN_METHODS = frozenset({"start_soon", "start", "create_task"})
"""Methods of a nursery / task group (any receiver) that start a task."""

TASK_FUNCTIONS = frozenset({"asyncio.create_task", "asyncio.ensure_future", "asyncio.gather"})
"""Functions that run the coroutines they are given in tasks of their own."""

THREAD_FUNCTIONS = frozenset(
    {
        "trio.to_thread.run_sync",
        "anyio.to_thread.run_sync",
        "asyncio.to_thread",
        "threading.Thread",
    }
)
"""Functions that run a callable (first argument or ``target=``) in another thread."""

THREAD_METHODS = frozenset({"submit", "run_in_executor"})
"""Executor and event-loop methods that run a callable in another thread."""
