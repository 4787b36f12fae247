"""``python -m conformance``: AWS's validator, unchanged, against the local service.

Selects requirement ids (``--suite``/``--id``) from the validator's own tree or from
``--requirements DIR`` (e.g. the conformance repository's main branch), starts the
local service with the mapped functions, points the validator library at it (endpoint URL, dummy
credentials, the Invoker's function map, a short poll interval, duck-typed logs
clients over the captured handler logs), validates the requirements on a bounded
pool of threads, and writes the JSON report (and optionally the docs table).
The last line printed is ``conformance: P passed, F failed, N not implemented``;
the exit status is 1 when any requirement FAILED.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import sys
import tempfile
import time
import traceback
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from types import MappingProxyType
from typing import Any

from conformance import logcapture
from conformance.handlers.support import STATE_DIR_ENV_VAR
from conformance.mapping import BY_ID, NOT_IMPLEMENTED, Requirement
from conformance.output import ThreadRouter, routed_output
from conformance.report import Outcome, Report, render_markdown, requirement_sort_key
from conformance.selection import Selected, discover, select

REGION = "us-east-1"
STACK_NAME = "trio-durable-local"
# The validator sleeps this long between history polls of an asynchronous requirement.
POLL_INTERVAL_SECONDS = 0.25
DEFAULT_JOBS = 24
VALIDATOR = "aws-durable-execution-conformance-tests==1.0.0"
DOCS_COMMAND = "python -m conformance --docs docs/conformance.md"


def point_boto3_at(endpoint: str) -> None:
    """Send this process's (and its children's) Lambda calls to ``endpoint``, with dummy
    credentials, the way botocore is configured for any endpoint."""
    os.environ.update(
        {
            "AWS_ENDPOINT_URL_LAMBDA": endpoint,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
        }
    )
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.pop("AWS_PROFILE", None)


def lambda_client(jobs: int, *, attempts: int = 1) -> Any:
    """A boto3 Lambda client, reaching the endpoint named by ``AWS_ENDPOINT_URL_LAMBDA``.

    The read timeout covers a synchronous invoke, which answers only once the
    execution is terminal (the slowest requirement takes about 20 s), and bounds
    a run whose execution never ends. One attempt for the Invoke client, since
    Invoke starts a new execution; the validator's polls get ``attempts``: a
    pooled connection the service closes as idle (``--idle-timeout``, 60 s) just
    as a poll reuses it is then retried instead of failing the requirement.
    """
    import boto3
    from botocore.config import Config

    session = boto3.Session(region_name=REGION)
    config = Config(
        read_timeout=120,
        connect_timeout=10,
        retries={"total_max_attempts": attempts, "mode": "standard"},
        max_pool_connections=2 * jobs,
    )
    return session.client("lambda", config=config)


def validate_one(
    selected: Selected,
    requirement: Requirement,
    invoker: Any,
    clients: Any,
    workdir: Path,
    routed: ThreadRouter,
) -> Outcome:
    """Run the validator on one requirement; its printed lines are kept on failure."""
    from aws_durable_execution_conformance_tests import validate

    started = time.monotonic()
    with routed.capture() as printed:
        try:
            result = validate.validate_description(
                function_name=requirement.function,
                description_id=selected.id,
                test_file=selected.yaml_path,
                invoker=invoker,
                tmp_dir=str(workdir),
                region=REGION,
                aws_clients=clients,
                output_dir=str(workdir / "histories"),
            )
            passed, errors, arn = result.passed, list(result.errors), result.execution_arn
        except Exception:
            passed, errors, arn = False, [traceback.format_exc()], None
    if not passed and printed.getvalue().strip():
        errors.append("validator output:\n" + printed.getvalue().rstrip())
    return Outcome(
        id=selected.id,
        suite=selected.suite,
        status="PASSED" if passed else "FAILED",
        seconds=round(time.monotonic() - started, 2),
        errors=errors,
        function=requirement.function,
        handler=requirement.handler,
        execution_arn=arn,
        description=selected.description,
    )


def not_implemented(s: Selected) -> Outcome:
    return Outcome(
        id=s.id,
        suite=s.suite,
        status="NOT_IMPLEMENTED",
        reason=NOT_IMPLEMENTED[s.suite],
        description=s.description,
    )


def docs_report(report: Report, published: Sequence[Selected]) -> Report:
    """``report`` completed with every published id it lacks (declared or NOT_RUN)."""
    have = {o.id for o in report.outcomes}
    extra = [
        not_implemented(s)
        if s.suite in NOT_IMPLEMENTED
        else Outcome(id=s.id, suite=s.suite, status="NOT_RUN", description=s.description)
        for s in published
        if s.id not in have
    ]
    outcomes = sorted([*report.outcomes, *extra], key=lambda o: requirement_sort_key(o.id))
    return Report(outcomes=outcomes, run_seconds=report.run_seconds)


def run(selected: Sequence[Selected], jobs: int, workdir: Path) -> list[Outcome]:
    """Outcomes for ``selected``: NOT_IMPLEMENTED ones at once, the rest validated."""
    outcomes: list[Outcome] = []
    to_run: list[tuple[Selected, Requirement]] = []
    for s in selected:
        requirement = BY_ID.get(s.id)
        if requirement is not None:
            to_run.append((s, requirement))
        elif s.suite in NOT_IMPLEMENTED:
            outcomes.append(not_implemented(s))
        else:
            unmapped = Outcome(
                id=s.id,
                suite=s.suite,
                status="FAILED",
                errors=["no handler is mapped to this requirement in conformance/mapping.py"],
                description=s.description,
            )
            outcomes.append(unmapped)
            _print_outcome(unmapped)
    if to_run:
        outcomes.extend(_validate_all(to_run, jobs, workdir))
    return sorted(outcomes, key=lambda o: requirement_sort_key(o.id))


def _validate_all(
    to_run: Sequence[tuple[Selected, Requirement]], jobs: int, workdir: Path
) -> list[Outcome]:
    from aws_durable_execution_conformance_tests import cloudwatch, sam, validate
    from aws_durable_execution_conformance_tests.clients import AwsClients

    from conformance.endpoint import serving

    validate.POLL_INTERVAL_SECONDS = POLL_INTERVAL_SECONDS
    # The captured logs are complete once the execution is terminal: one read is enough.
    cloudwatch.CloudWatchLogRetriever.EVENT_POLL_TIMEOUT_SECONDS = 0.0
    requirements = [r for _, r in to_run]
    outcomes: list[Outcome] = []
    with serving(requirements, REGION) as endpoint:
        point_boto3_at(endpoint)
        client = lambda_client(jobs)
        clients = AwsClients(
            MappingProxyType(
                {
                    "lambda": lambda_client(jobs, attempts=4),
                    "cloudformation": logcapture.LocalFunctionsStack(),
                    "logs": logcapture.CapturedLogsClient(workdir / "logs"),
                }
            )
        )
        invoker = sam.Invoker(stack_name=STACK_NAME, region=REGION, lambda_client=client)
        invoker._function_map = {r.function: r.function for r in requirements}
        with routed_output() as routed, ThreadPoolExecutor(max_workers=jobs) as pool:
            futures: dict[Future[Outcome], str] = {
                pool.submit(validate_one, s, r, invoker, clients, workdir, routed): s.id
                for s, r in sorted(to_run, key=lambda pair: -pair[0].estimate)
            }
            for future in as_completed(futures):
                outcome = future.result()
                outcomes.append(outcome)
                _print_outcome(outcome)
    return outcomes


def _print_outcome(outcome: Outcome) -> None:
    print(f"{outcome.status:<8} {outcome.id:<5} {outcome.seconds:6.1f}s  {outcome.function}")
    for error in outcome.errors:
        if not error.startswith("validator output:"):
            print("    " + error.replace("\n", "\n    "))
    sys.stdout.flush()


def write_docs(path: Path, report: Report, published: Sequence[Selected]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_markdown(docs_report(report, published), DOCS_COMMAND), "utf-8")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description="Run AWS's durable-execution conformance requirements against the "
        "local service, with this SDK's handlers.",
    )
    parser.add_argument("--suite", action="append", default=[], nargs="+", help="suite name(s)")
    parser.add_argument("--id", action="append", default=[], nargs="+", help="requirement id(s)")
    parser.add_argument(
        "--report",
        type=Path,
        default=Path(".conformance/report.json"),
        help="JSON report path (default: %(default)s)",
    )
    parser.add_argument(
        "--requirements",
        type=Path,
        metavar="DIR",
        help="run the requirement files of DIR (<suite>/<id>.yaml) instead of the validator's own"
        " (e.g. ../shared/conformance-main)",
    )
    parser.add_argument("--docs", type=Path, help="also write the markdown table here")
    parser.add_argument(
        "--from-report",
        action="store_true",
        help="do not run: regenerate --docs from the existing --report",
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="run the tracing suites (aws-durable-execution-conformance-tests-otel) instead;"
        " --id selects among them",
    )
    parser.add_argument("--jobs", type=int, default=DEFAULT_JOBS, help="requirements at once")
    parser.add_argument(
        "--keep", type=Path, help="keep histories, logs and event files in this folder"
    )
    args = parser.parse_args(argv)
    args.suite = [s for group in args.suite for s in group]
    args.id = [i for group in args.id for i in group]
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.from_report and args.docs is None:
        parser.error("--from-report needs --docs")
    if args.requirements is not None and not args.requirements.is_dir():
        parser.error(f"--requirements: {args.requirements} is not a directory")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if importlib.util.find_spec("aws_durable_execution_conformance_tests") is None:
        raise SystemExit(
            "conformance: AWS's validator is not installed; `python3 dev.py test` installs it, or\n"
            f"  pip install --no-deps --ignore-requires-python {VALIDATOR} boto3 packaging pyyaml"
        )
    if args.tracing:
        return main_tracing(args)
    published = discover(args.requirements)
    if not published:
        raise SystemExit(
            f"conformance: no <suite>/<id>.yaml requirement files in {args.requirements}"
        )
    if args.from_report:
        if not args.report.is_file():
            raise SystemExit(f"conformance: no report at {args.report} (run without --from-report)")
        report = Report.read(args.report)
        write_docs(args.docs, report, published)
        print(report.summary_line())
        return 1 if report.counts()["FAILED"] else 0

    selected = select(published, args.suite, args.id)
    with tempfile.TemporaryDirectory(prefix="trio-durable-conformance-") as tmp:
        workdir = args.keep or Path(tmp)
        (workdir / "logs").mkdir(parents=True, exist_ok=True)
        # Handler processes (this one, and the subprocess invoker's) capture logs here.
        os.environ[logcapture.ENV_VAR] = str((workdir / "logs").resolve())
        # ... and keep state across invocations (handlers.support.first_time) here.
        os.environ[STATE_DIR_ENV_VAR] = str((workdir / "state").resolve())
        logcapture.install_from_env()
        started = time.monotonic()
        try:
            outcomes = run(selected, args.jobs, workdir)
        finally:
            logcapture.uninstall()
        report = Report(outcomes=outcomes, run_seconds=time.monotonic() - started)
    report.write(args.report)
    if args.docs is not None:
        write_docs(args.docs, report, published)
    print(f"run time: {report.run_seconds:.1f} s; report: {shlex.quote(str(args.report))}")
    print(report.summary_line())
    return 1 if report.counts()["FAILED"] else 0


def main_tracing(args: argparse.Namespace) -> int:
    """``--tracing``: the tracing suites (``conformance/tracing.py``)."""
    if importlib.util.find_spec("aws_durable_execution_conformance_tests_otel") is None:
        raise SystemExit(
            "conformance: the tracing suites are not installed; `python3 dev.py test` installs"
            " them, or\n  pip install --no-deps --ignore-requires-python"
            " aws-durable-execution-conformance-tests-otel==0.2.0"
        )
    from conformance.tracing import run_tracing

    with tempfile.TemporaryDirectory(prefix="trio-durable-tracing-") as tmp:
        workdir = args.keep or Path(tmp)
        started = time.monotonic()
        outcomes = run_tracing(args.id, args.jobs, workdir)
        report = Report(outcomes=outcomes, run_seconds=time.monotonic() - started)
    report.write(args.report.with_name("tracing-report.json"))
    print(f"run time: {report.run_seconds:.1f} s")
    counts = report.counts()
    print(f"conformance: {counts['PASSED']} passed, {counts['FAILED']} failed")
    return 1 if counts["FAILED"] else 0
