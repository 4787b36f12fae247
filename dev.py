"""The project's two commands: ``python3 dev.py demo`` and ``python3 dev.py test``.

Both create (or reuse) the virtual environment ``.venv`` next to this file and
install what they need into it, so a fresh machine with Python 3.11, pip and git
is enough. Only the standard library is used here.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"

# The conformance validator declares Python >= 3.14 but runs on 3.11; its own
# needs (boto3, packaging, pyyaml) come with the dev extra.
CONFORMANCE_VALIDATOR = "aws-durable-execution-conformance-tests==1.0.0"
# The conformance repository's main branch (read-only test data of the steering checkout).
CONFORMANCE_MAIN = ROOT.parent / "shared" / "conformance-main"
# The tracing suites (python -m conformance --tracing); same: declared for 3.14, run
# on 3.11 (its S3 collector backend, which needs 3.14, is not used).
CONFORMANCE_OTEL = "aws-durable-execution-conformance-tests-otel==0.2.0"
# The deploy test (tests/e2e/local/test_deploy.py) runs `sam validate` and `sam build`.
# aws-sam-cli pins its own boto3 and more, so it gets an environment of its own.
SAM_CLI = "aws-sam-cli==1.170.0"
SAM_VENV = ROOT / ".venv-sam"


def run(*cmd: str | Path, check: bool = True) -> int:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], cwd=ROOT, check=check).returncode


def ensure_venv() -> None:
    if not PYTHON.exists():
        print(f"creating virtual environment {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)


def install(extra: str) -> None:
    """Install the project (editable) with ``extra``, quietly, once per change."""
    stamp = VENV / f".installed-{extra}"
    inputs = ROOT / "pyproject.toml"
    if stamp.exists() and stamp.stat().st_mtime >= inputs.stat().st_mtime:
        return
    run(PYTHON, "-m", "pip", "install", "--quiet", "--upgrade", "pip")
    run(PYTHON, "-m", "pip", "install", "--quiet", "-e", f".[{extra}]")
    if extra == "dev":
        run(
            PYTHON, "-m", "pip", "install", "--quiet", "--no-deps",
            "--ignore-requires-python", CONFORMANCE_VALIDATOR, CONFORMANCE_OTEL,
        )  # fmt: skip
    stamp.touch()


def ensure_chromium() -> None:
    """The web console's browser tests drive Debian's ``chromium`` (Playwright's own
    browser download is not used): install it when it is missing and this machine
    can (root, with apt-get)."""
    if shutil.which("chromium") or not shutil.which("apt-get"):
        return
    if getattr(os, "geteuid", lambda: -1)() != 0:
        print("dev.py: chromium is missing (apt-get install chromium as root);"
              " the console's browser tests are skipped", flush=True)  # fmt: skip
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        print("+", " ".join(cmd), flush=True)
        subprocess.run(cmd, check=False, env=env)


def install_sam_cli() -> None:
    """aws-sam-cli in ``.venv-sam``, once per version."""
    stamp = SAM_VENV / f".installed-{SAM_CLI}"
    if stamp.exists():
        return
    venv.EnvBuilder(with_pip=True, clear=True).create(SAM_VENV)
    run(SAM_VENV / BIN.name / "python", "-m", "pip", "install", "--quiet", SAM_CLI)
    stamp.touch()


def demo(_: argparse.Namespace) -> int:
    ensure_venv()
    install("local")
    return run(PYTHON, "examples/order_workflow.py", check=False)


def conformance_main() -> list[tuple[str, list[str | Path]]]:
    """The requirement files of the conformance repository's main branch (171, the
    released 155 among them), when the steering checkout beside this one has them."""
    if not CONFORMANCE_MAIN.is_dir():
        print(f"dev.py: {CONFORMANCE_MAIN} is not here: the main-branch conformance"
              " requirements (10-8 to 10-23) are not run", flush=True)  # fmt: skip
        return []
    return [
        (
            "conformance main",
            [
                PYTHON,
                "-m",
                "conformance",
                "--requirements",
                CONFORMANCE_MAIN,
                "--report",
                ".conformance/report-main.json",
            ],
        )
    ]


def test(args: argparse.Namespace) -> int:
    ensure_venv()
    install("dev")
    ensure_chromium()
    install_sam_cli()
    steps: list[tuple[str, list[str | Path]]] = [
        ("ruff", [BIN / "ruff", "check", "."]),
        ("ruff format", [BIN / "ruff", "format", "--check", "."]),
        ("mypy", [BIN / "mypy"]),
        # The determinism lint (trio-durable check) over the project's own workflows.
        (
            "determinism lint",
            [PYTHON, "-m", "trio_durable.lint", "examples", "conformance/handlers"],
        ),
        ("conformance", [PYTHON, "-m", "conformance"]),
        *conformance_main(),
        ("conformance tracing", [PYTHON, "-m", "conformance", "--tracing"]),
        ("stress", [PYTHON, "-m", "stress", "--quick"]),
        ("bench", [PYTHON, "-m", "bench", "--quick"]),
        # Last, so that pytest's summary closes the output.
        ("pytest", [PYTHON, "-m", "pytest", *args.pytest_args]),
    ]
    failed = [name for name, cmd in steps if run(*cmd, check=False) != 0]
    if failed:
        print(f"dev.py test: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("demo", help="run the example order workflow locally").set_defaults(
        func=demo
    )
    test_parser = commands.add_parser("test", help="install everything and run every check")
    test_parser.add_argument("pytest_args", nargs="*", help="extra arguments for pytest")
    test_parser.set_defaults(func=test)
    args = parser.parse_args()
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
