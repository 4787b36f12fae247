"""Which plugins a handler runs: factories (one plugin per invocation), the
DURABLE_EXECUTION_PLUGINS selection through real installed entry points, and
exclusive groups; every bad configuration fails at decoration, naming itself."""

from __future__ import annotations

import logging
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sdk_fakes import FakeService, drive

from trio_durable import (
    DurableContext,
    InvocationEndInfo,
    InvocationStartInfo,
    Plugin,
    PluginLoadError,
    durable_execution,
)
from trio_durable.plugin_registry import ENVIRONMENT_VARIABLE, configured_names, plugin_registry


class Counting(Plugin):
    """One instance per invocation when made by ``Factory``: counts its own hooks."""

    def __init__(self, log: list[tuple[int, str]]) -> None:
        self.log = log
        self.hooks = 0

    def on_invocation_start(self, info: InvocationStartInfo) -> None:
        self.hooks += 1
        self.log.append((id(self), f"start first={info.is_first_invocation}"))

    def on_invocation_end(self, info: InvocationEndInfo) -> None:
        self.hooks += 1
        self.log.append((id(self), f"end {info.status.value} hooks={self.hooks}"))


class Factory:
    def __init__(self) -> None:
        self.log: list[tuple[int, str]] = []
        self.infos: list[InvocationStartInfo] = []

    def create_plugin(self, info: InvocationStartInfo) -> Plugin:
        self.infos.append(info)
        return Counting(self.log)


async def workflow(event: Any, ctx: DurableContext) -> str:
    await ctx.wait(1, name="pause")
    return "done"


async def test_a_factory_makes_one_plugin_per_invocation() -> None:
    factory = Factory()
    shared = Counting([])
    handler = durable_execution(plugins=[factory, shared])(workflow)
    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert [a["Status"] for a in answers] == ["PENDING", "SUCCEEDED"]
    first, second = factory.log[0][0], factory.log[2][0]
    assert first != second  # a fresh plugin for the second invocation
    assert factory.log == [
        (first, "start first=True"),
        (first, "end PENDING hooks=2"),
        (second, "start first=False"),
        (second, "end SUCCEEDED hooks=2"),
    ]
    assert [i.is_first_invocation for i in factory.infos] == [True, False]
    assert shared.hooks == 4  # a plain instance serves every invocation


async def test_a_failing_factory_leaves_its_plugin_out_of_that_invocation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    class Broken:
        def create_plugin(self, info: InvocationStartInfo) -> Plugin:
            raise RuntimeError("no exporter")

    class Wrong:
        def create_plugin(self, info: InvocationStartInfo) -> Any:
            return "not a plugin"

    factory = Factory()
    handler = durable_execution(plugins=[Broken(), Wrong(), factory])(workflow)
    service = FakeService()
    service.start()
    with caplog.at_level(logging.ERROR, logger="trio_durable.plugins"):
        answers = await drive(handler, service)
    assert answers[-1] == {"Status": "SUCCEEDED", "Result": '"done"'}
    assert len(factory.log) == 4
    messages = [r.getMessage() for r in caplog.records]
    assert (
        messages.count("plugin factory Broken raised in create_plugin (no plugin this invocation)")
        == 2
    )
    assert (
        messages.count(
            "plugin factory Wrong returned str, not a Plugin (no plugin this invocation)"
        )
        == 2
    )


def test_registration_refuses_what_is_neither_plugin_nor_factory() -> None:
    class NeedsSelf:
        def create_plugin(self, info: InvocationStartInfo) -> Plugin:
            return Plugin()

    with pytest.raises(PluginLoadError, match=r"plugins\[1\] .*NeedsSelf \(a class\)"):
        plugin_registry([Plugin(), NeedsSelf])  # type: ignore[list-item]
    with pytest.raises(PluginLoadError, match=r"plugins\[0\] .*an instance of int"):
        plugin_registry([3])  # type: ignore[list-item]
    with pytest.raises(PluginLoadError, match="must be a list"):
        plugin_registry(Factory())  # type: ignore[arg-type]
    assert plugin_registry([], environ={}) is None


def test_exclusive_groups_allow_one_member() -> None:
    class TracerA(Plugin):
        exclusive_group = "tracing"

    class TracerB(Plugin):
        exclusive_group = "tracing"

    class TracerFactory:
        exclusive_group = "tracing"

        def create_plugin(self, info: InvocationStartInfo) -> Plugin:
            return TracerA()

    class Bad(Plugin):
        exclusive_group = " "

    assert plugin_registry([TracerA(), Plugin()], environ={}) is not None
    with pytest.raises(PluginLoadError, match=r"TracerA and .*TracerB are mutually exclusive"):
        plugin_registry([TracerA(), TracerB()], environ={})
    with pytest.raises(PluginLoadError, match="exclusive group 'tracing'"):
        plugin_registry([TracerFactory(), TracerB()], environ={})
    with pytest.raises(PluginLoadError, match="registered twice"):
        plugin_registry([TracerA(), TracerA()], environ={})
    with pytest.raises(PluginLoadError, match="exclusive_group must be None or a non-empty"):
        plugin_registry([Bad()], environ={})


def test_the_variable_lists_names_separated_by_commas() -> None:
    assert configured_names({}) == []
    assert configured_names({ENVIRONMENT_VARIABLE: "  "}) == []
    assert configured_names({ENVIRONMENT_VARIABLE: " tracing , audit"}) == ["tracing", "audit"]
    with pytest.raises(PluginLoadError, match="non-empty and separated by commas"):
        configured_names({ENVIRONMENT_VARIABLE: "tracing,,audit"})
    with pytest.raises(PluginLoadError, match="names plugin 'audit' twice"):
        configured_names({ENVIRONMENT_VARIABLE: "audit,tracing,audit"})


@pytest.fixture
def installed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A distribution installed in a folder on sys.path: its module and its
    dist-info (METADATA, entry_points.txt), as pip lays them out."""
    (tmp_path / "td_test_plugins.py").write_text(
        textwrap.dedent(
            """
            from trio_durable import Plugin

            class Audit(Plugin):
                made = 0

                def __init__(self):
                    Audit.made += 1
                    self.starts = []

                def on_invocation_start(self, info):
                    self.starts.append(info.is_first_invocation)

            class AuditFactory:
                def create_plugin(self, info):
                    return Audit()

            audit = AuditFactory()
            shared = Audit()
            not_a_plugin = 42

            class Tracer(Plugin):
                exclusive_group = "tracing"

            tracer = Tracer()
            """
        )
    )
    info = tmp_path / "td_test_plugins-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: td-test-plugins\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[aws_durable_execution.plugins]\n"
        "audit = td_test_plugins:audit\n"
        "shared = td_test_plugins:shared\n"
        "broken = td_test_plugins:not_a_plugin\n"
        "missing = td_test_plugins_gone:factory\n"
        "tracer = td_test_plugins:tracer\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "td_test_plugins", raising=False)  # fresh per test
    yield tmp_path
    sys.modules.pop("td_test_plugins", None)


async def test_the_variable_selects_installed_entry_points(
    installed: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import td_test_plugins  # type: ignore[import-not-found]

    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "shared, audit")
    factory = Factory()
    handler = durable_execution(plugins=[factory])(workflow)
    service = FakeService()
    service.start()
    answers = await drive(handler, service)
    assert answers[-1]["Status"] == "SUCCEEDED"
    assert td_test_plugins.shared.starts == [True, False]  # one instance, both invocations
    assert td_test_plugins.Audit.made == 1 + 2  # the shared one, then one per invocation
    assert len(factory.log) == 4  # explicit plugins keep working beside them
    registry = plugin_registry([factory])
    assert registry is not None
    assert registry.entries == (factory, td_test_plugins.shared, td_test_plugins.audit)


def test_selection_errors_name_the_plugin(installed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def decorate(names: str) -> None:
        monkeypatch.setenv(ENVIRONMENT_VARIABLE, names)
        durable_execution(workflow)

    with pytest.raises(PluginLoadError, match=r"names plugin 'nope', but no installed .*audit"):
        decorate("audit,nope")
    with pytest.raises(
        PluginLoadError, match=r"'broken' from 'td_test_plugins:not_a_plugin' .*int"
    ):
        decorate("broken")
    with pytest.raises(PluginLoadError, match=r"'missing' failed to load .*td-test-plugins"):
        decorate("missing")

    class OtherTracer(Plugin):
        exclusive_group = "tracing"

    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "tracer")
    with pytest.raises(PluginLoadError, match="mutually exclusive"):
        durable_execution(plugins=[OtherTracer()])(workflow)


def test_a_plugin_both_passed_and_selected_registers_once(
    installed: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import td_test_plugins

    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "shared")
    with caplog.at_level(logging.WARNING, logger="trio_durable.plugins"):
        registry = plugin_registry([td_test_plugins.shared])
    assert registry is not None and registry.entries == (td_test_plugins.shared,)
    assert "already registered by plugins=" in caplog.text
