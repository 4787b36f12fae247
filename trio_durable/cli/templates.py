"""``--template``: what ``run`` and ``serve`` take from a SAM template.

``hosted_functions`` reads the template named on the command line, prints its
warnings, and returns one ``HostedFunction`` per function (the template's and
``--function``'s): its target, the environment of its workers, its timeouts.

Environment variables need care in one process: ``os.environ`` is process-wide
and invocations run concurrently, so the in-process invoker gets one environment
for every function (``shared_environment``: a variable two functions set
differently is refused, with a pointer to ``--invoker subprocess``, whose worker
processes each get their function's own).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, TextIO

from trio_durable.cli.hosting import InvokerOptions, parse_functions, start_invokers
from trio_durable.cli.options import CliError
from trio_durable.local.invokers import Invoker
from trio_durable.local.template import (
    FunctionSpec,
    load_template,
    parse_parameter_overrides,
    shared_environment,
)

if TYPE_CHECKING:
    from trio_durable.local.service import LocalService


@dataclass(frozen=True, slots=True)
class HostedFunction:
    """A function a hosting command registers, with its own settings."""

    name: str
    target: str
    invocation_timeout_seconds: float
    execution_timeout_seconds: int | None = None
    retention_period_days: int | None = None
    worker_environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    tenant_isolation_mode: str | None = None

    def describe(self, invoker: str) -> str:
        """How ``serve`` lists it."""
        settings = f"{invoker}, timeout {self.invocation_timeout_seconds:g} s"
        if self.execution_timeout_seconds is not None:
            settings += f", execution timeout {self.execution_timeout_seconds} s"
        if self.tenant_isolation_mode is not None:
            settings += f", tenancy {self.tenant_isolation_mode}"
        return f"function {self.name} -> {self.target} ({settings})"


def template_options(sub: argparse.ArgumentParser) -> None:
    """``--template``, ``--parameter-overrides`` and ``--env-vars``."""
    sub.add_argument(
        "--template",
        metavar="TEMPLATE",
        help="serve the durable functions of this SAM template (template.yaml)",
    )
    sub.add_argument(
        "--parameter-overrides",
        nargs="+",
        action="extend",
        default=[],
        metavar="KEY=VALUE",
        help="template parameters, as sam takes them (Key=Value or"
        " ParameterKey=Key,ParameterValue=Value)",
    )
    sub.add_argument(
        "--env-vars",
        metavar="FILE",
        help='environment overrides, as sam local takes them: {"Parameters": {...},'
        ' "Function": {...}}',
    )


def hosted_functions(
    args: argparse.Namespace, *, out: TextIO = sys.stderr
) -> dict[str, HostedFunction]:
    """The functions of ``--template`` and ``--function``, by name."""
    hosted = {function.name: function for function in _template_functions(args, out)}
    for name, target in parse_functions(args.function).items():
        if name in hosted:
            raise CliError(f"--function {name!r} is also a function of the template")
        hosted[name] = HostedFunction(name, target, args.invocation_timeout)
    return hosted


async def start_hosted(
    stack: AsyncExitStack, functions: Mapping[str, HostedFunction], options: InvokerOptions, *,
    endpoint: str, region: str,
) -> dict[str, Invoker]:  # fmt: skip
    """``start_invokers`` for ``functions``, each worker with its function's environment."""
    return await start_invokers(
        stack,
        {name: function.target for name, function in functions.items()},
        options,
        endpoint=endpoint,
        region=region,
        environments={name: f.worker_environment for name, f in functions.items()},
    )


def register_hosted(
    service: LocalService, invokers: Mapping[str, Invoker], hosted: Mapping[str, HostedFunction]
) -> None:
    """Register each function with its own invoker and timeouts."""
    for name, invoker in invokers.items():
        function = hosted[name]
        service.register_function(
            name,
            invoker,
            invocation_timeout_seconds=function.invocation_timeout_seconds,
            execution_timeout_seconds=function.execution_timeout_seconds,
            retention_period_days=function.retention_period_days,
            tenant_isolation_mode=function.tenant_isolation_mode,
        )


def _template_functions(args: argparse.Namespace, out: TextIO) -> list[HostedFunction]:
    """The template's functions (none without ``--template``), prepared for
    ``args.invoker``; warnings go to ``out``."""
    if args.template is None:
        if args.parameter_overrides or args.env_vars:
            raise CliError("--parameter-overrides and --env-vars need --template")
        return []
    template = load_template(
        Path(args.template),
        parameter_overrides=parse_parameter_overrides(args.parameter_overrides),
        env_vars_file=None if args.env_vars is None else Path(args.env_vars),
        region=args.region,
    )
    for warning in template.warnings:
        print(f"trio-durable: warning: {warning}", file=out, flush=True)
    isolated = [spec.name for spec in template.functions if spec.tenant_isolation_mode]
    if isolated and args.invoker != "subprocess":
        print(
            f"trio-durable: warning: {', '.join(isolated)}: TenancyConfig PER_TENANT:"
            " each invoke must name its tenant, but --invoker inprocess runs every"
            " tenant in this one process (no isolation); --invoker subprocess gives"
            " each tenant worker processes of its own",
            file=out,
            flush=True,
        )
    if args.invoker == "subprocess":
        return [_hosted(spec, _worker_environment(spec)) for spec in template.functions]
    _prepare_this_process(template.functions)
    return [_hosted(spec, {}) for spec in template.functions]


def _hosted(spec: FunctionSpec, environment: Mapping[str, str]) -> HostedFunction:
    return HostedFunction(
        name=spec.name,
        target=spec.target,
        invocation_timeout_seconds=spec.timeout_seconds,
        execution_timeout_seconds=spec.execution_timeout_seconds,
        retention_period_days=spec.retention_period_days,
        worker_environment=MappingProxyType(dict(environment)),
        tenant_isolation_mode=spec.tenant_isolation_mode,
    )


def _prepare_this_process(functions: Sequence[FunctionSpec]) -> None:
    """One process for every function: their variables (which must agree) go into
    ``os.environ`` before any handler loads, their code folders on ``sys.path``."""
    os.environ.update(shared_environment(functions))
    for spec in functions:
        if str(spec.code_dir) not in sys.path:
            sys.path.insert(0, str(spec.code_dir))


def _worker_environment(spec: FunctionSpec) -> dict[str, str]:
    """A worker process's own environment: the function's variables, its code folder
    on ``PYTHONPATH``, and the variables Lambda sets for every function."""
    python_path = os.environ.get("PYTHONPATH")
    return {
        "AWS_LAMBDA_FUNCTION_NAME": spec.name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(spec.timeout_seconds),
        "LAMBDA_TASK_ROOT": str(spec.code_dir),
        "_HANDLER": spec.handler,
        **spec.environment,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(spec.code_dir), python_path])),
    }
