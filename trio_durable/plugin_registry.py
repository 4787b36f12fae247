"""Which plugins a handler runs: the ones passed to ``@durable_execution(plugins=...)``,
then the ones the environment variable ``DURABLE_EXECUTION_PLUGINS`` names.

A registered plugin is a ``Plugin`` instance (one shared by every invocation) or
a factory (an object with ``create_plugin(info)``: one plugin per invocation).
``DURABLE_EXECUTION_PLUGINS="tracing, audit"`` selects, in that order, the
entry points of that name in the group ``aws_durable_execution.plugins`` of the
installed distributions; each must resolve to a factory or a plugin instance.
A blank or unset variable selects none. Everything is checked when the handler
is decorated, so a bad configuration fails the cold start, naming the problem:
an empty or repeated name, a name no installed distribution provides (listing
those that are), one provided twice, an entry point that fails to import or
resolves to something else, and two plugins of one ``exclusive_group``.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from trio_durable.errors import PluginLoadError
from trio_durable.plugins import (
    PLUGIN_LOGGER,
    InvocationStartInfo,
    Plugin,
    PluginFactory,
    PluginRunner,
)

if TYPE_CHECKING:
    from importlib import metadata

ENVIRONMENT_VARIABLE = "DURABLE_EXECUTION_PLUGINS"
ENTRY_POINT_GROUP = "aws_durable_execution.plugins"

Registered = Plugin | PluginFactory


class PluginRegistry:
    """A handler's registered plugins and factories, in order; ``start`` makes
    the plugins of one invocation (calling each factory once)."""

    __slots__ = ("entries",)

    def __init__(self, entries: tuple[Registered, ...]) -> None:
        self.entries = entries

    def start(self, info: InvocationStartInfo, replayed: frozenset[str]) -> PluginRunner:
        """The runner of one invocation. A factory that raises, or returns no
        ``Plugin``, is logged and left out of this invocation."""
        plugins: list[Plugin] = []
        for entry in self.entries:
            if isinstance(entry, Plugin):
                plugins.append(entry)
                continue
            try:
                plugin = entry.create_plugin(info)
            except Exception:
                PLUGIN_LOGGER.exception(
                    "plugin factory %s raised in create_plugin (no plugin this invocation)",
                    type(entry).__name__,
                    extra={"execution_arn": info.execution_arn},
                )
                continue
            if not isinstance(plugin, Plugin):
                PLUGIN_LOGGER.error(
                    "plugin factory %s returned %s, not a Plugin (no plugin this invocation)",
                    type(entry).__name__,
                    type(plugin).__name__,
                    extra={"execution_arn": info.execution_arn},
                )
                continue
            plugins.append(plugin)
        return PluginRunner(tuple(plugins), info.execution_arn, replayed)


def plugin_registry(
    plugins: Iterable[Registered] | None, environ: Mapping[str, str] | None = None
) -> PluginRegistry | None:
    """The registry of ``plugins`` and the ones ``environ`` (by default
    ``os.environ``) selects, checked; ``None`` when there are none."""
    entries = _explicit(plugins)
    for name, entry in _from_environment(os.environ if environ is None else environ):
        if any(entry is known for known in entries):
            PLUGIN_LOGGER.warning(
                "%s names plugin %r, already registered by plugins=: registered once",
                ENVIRONMENT_VARIABLE,
                name,
            )
            continue
        entries.append(entry)
    _check_exclusive_groups(entries)
    return PluginRegistry(tuple(entries)) if entries else None


def _explicit(plugins: Iterable[Registered] | None) -> list[Registered]:
    if plugins is None:
        return []
    if isinstance(plugins, Plugin) or is_factory(plugins) or not isinstance(plugins, Iterable):
        raise PluginLoadError("plugins must be a list of Plugin instances or plugin factories")
    checked = list(plugins)
    for index, entry in enumerate(checked):
        if not (isinstance(entry, Plugin) or is_factory(entry)):
            raise PluginLoadError(
                f"plugins[{index}] must be a Plugin instance or a plugin factory (an object"
                f" with create_plugin(info)), got {_describe(entry)}"
            )
    return checked


def is_factory(value: object) -> bool:
    """Whether ``value`` is a plugin factory: ``create_plugin`` callable with one
    argument (a factory *class* whose ``create_plugin`` needs ``self`` is not)."""
    create = getattr(value, "create_plugin", None)
    if not callable(create):
        return False
    try:
        inspect.signature(create).bind(None)
    except TypeError:
        return False
    except ValueError:  # no signature to read (a builtin): take it as it is
        return True
    return not (isinstance(value, type) and inspect.isfunction(create))


def _describe(value: object) -> str:
    if isinstance(value, type):
        kind = "a plugin class: pass an instance" if issubclass(value, Plugin) else "a class"
        return f"{value.__module__}.{value.__qualname__} ({kind})"
    return f"an instance of {type(value).__qualname__}"


def configured_names(environ: Mapping[str, str]) -> list[str]:
    """The plugin names ``DURABLE_EXECUTION_PLUGINS`` lists (comma-separated,
    spaces around names ignored); none when it is unset or blank."""
    text = environ.get(ENVIRONMENT_VARIABLE)
    if text is None or not text.strip():
        return []
    names = [name.strip() for name in text.split(",")]
    if not all(names):
        raise PluginLoadError(
            f"{ENVIRONMENT_VARIABLE}={text!r}: plugin names must be non-empty and separated"
            " by commas"
        )
    for index, name in enumerate(names):
        if name in names[:index]:
            raise PluginLoadError(f"{ENVIRONMENT_VARIABLE} names plugin {name!r} twice")
    return names


def _from_environment(environ: Mapping[str, str]) -> list[tuple[str, Registered]]:
    names = configured_names(environ)
    if not names:
        return []
    from importlib import metadata  # only to read entry points (a cold start's 10 ms)

    found: dict[str, list[metadata.EntryPoint]] = {}
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry_point.name, []).append(entry_point)
    selected: list[tuple[str, Registered]] = []
    for name in names:
        candidates = found.get(name, [])
        if not candidates:
            installed = ", ".join(sorted(found)) or "none"
            raise PluginLoadError(
                f"{ENVIRONMENT_VARIABLE} names plugin {name!r}, but no installed distribution"
                f" provides it in the entry-point group {ENTRY_POINT_GROUP!r} (installed:"
                f" {installed})"
            )
        if len(candidates) > 1:
            raise PluginLoadError(
                f"plugin {name!r} is provided by more than one installed distribution: "
                + ", ".join(_distribution(c) for c in candidates)
            )
        selected.append((name, _load(name, candidates[0])))
    return selected


def _load(name: str, entry_point: metadata.EntryPoint) -> Registered:
    where = f"{entry_point.value!r} ({_distribution(entry_point)})"
    try:
        value = entry_point.load()
    except Exception as exc:
        raise PluginLoadError(f"plugin {name!r} failed to load from {where}: {exc!r}") from exc
    if isinstance(value, Plugin) or is_factory(value):
        return value  # type: ignore[no-any-return]
    raise PluginLoadError(
        f"plugin {name!r} from {where} must be a plugin factory (an object with"
        f" create_plugin(info)) or a Plugin instance, got {_describe(value)}"
    )


def _distribution(entry_point: metadata.EntryPoint) -> str:
    dist = entry_point.dist
    return "an unknown distribution" if dist is None else f"distribution {dist.name}"


def _check_exclusive_groups(entries: list[Registered]) -> None:
    """At most one registered plugin (or factory) per ``exclusive_group``."""
    seen: dict[str, Any] = {}
    for entry in entries:
        kind = entry if isinstance(entry, type) else type(entry)
        group = getattr(kind, "exclusive_group", None)
        if group is None:
            continue
        if not isinstance(group, str) or not group.strip():
            raise PluginLoadError(
                f"{kind.__qualname__}.exclusive_group must be None or a non-empty string,"
                f" got {group!r}"
            )
        other = seen.get(group)
        if other is kind:
            raise PluginLoadError(
                f"plugin {kind.__qualname__} (exclusive group {group!r}) is registered twice"
            )
        if other is not None:
            raise PluginLoadError(
                f"plugins {other.__qualname__} and {kind.__qualname__} are mutually exclusive"
                f" (exclusive group {group!r}): register only one of them"
            )
        seen[group] = kind
