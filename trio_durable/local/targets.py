"""Load a handler named on the command line: ``package.module:attr`` or ``path/to/file.py:attr``.

Every way this can go wrong (no colon, a missing file or module, an import that
raises, a missing or non-callable attribute) becomes one ``ValidationError``
whose message names the target and the cause, so the command line can print it
as is.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from trio_durable.errors import ValidationError


def split_target(target: str) -> tuple[str, str]:
    """``"pkg.mod:attr.sub"`` -> ``("pkg.mod", "attr.sub")``; the colon is the last one."""
    module, sep, attr = target.rpartition(":")
    if not sep or not module or not attr:
        raise ValidationError(
            f"bad target {target!r}: expected 'package.module:function'"
            " or 'path/to/file.py:function'"
        )
    return module, attr


def load_target(target: str) -> Any:
    """Import the module (or file) of ``target`` and return the callable it names."""
    module_part, attr = split_target(target)
    module = _load_module(target, module_part)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValidationError(
                f"bad target {target!r}: {module_part!r} has no attribute {attr!r}"
            ) from None
    if not callable(obj):
        raise ValidationError(
            f"bad target {target!r}: {attr!r} is a {type(obj).__name__}, not a callable"
        )
    return obj


def _load_module(target: str, module_part: str) -> ModuleType:
    if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
        return _load_file(target, Path(module_part))
    try:
        return importlib.import_module(module_part)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_part.startswith(exc.name):
            raise ValidationError(
                f"bad target {target!r}: no module named {exc.name!r}"
                " (is it installed, or on PYTHONPATH?)"
            ) from None
        raise _import_failed(target, exc) from exc
    except Exception as exc:
        raise _import_failed(target, exc) from exc


def _load_file(target: str, path: Path) -> ModuleType:
    path = path.resolve()
    if not path.is_file():
        raise ValidationError(f"bad target {target!r}: file {str(path)!r} does not exist")
    name = f"_trio_durable_target_{path.stem}_{abs(hash(str(path))):x}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValidationError(f"bad target {target!r}: cannot import {str(path)!r}")
    module = importlib.util.module_from_spec(spec)
    # The file's own folder goes on sys.path so that it can import its siblings.
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:
        del sys.modules[name]
        if not isinstance(exc, Exception):
            raise
        raise _import_failed(target, exc) from exc
    return module


def _import_failed(target: str, exc: BaseException) -> ValidationError:
    return ValidationError(
        f"bad target {target!r}: importing it raised {type(exc).__name__}: {exc}"
    )
