"""The modules of trio_durable import one another in one direction only.

Every import counts, typing-only (``if TYPE_CHECKING:``) and function-local
ones included: a cycle closed by a typing-only import is still two modules
that cannot be understood apart. A new cycle fails here with its path.
"""

from __future__ import annotations

import ast
from pathlib import Path

import trio_durable

PACKAGE = Path(trio_durable.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the trio_durable modules it imports (a package import means its ``__init__``)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = name.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, base] if base else anchor)
                for alias in node.names:
                    submodule = f"{base}.{alias.name}"
                    targets.add(submodule if submodule in modules else base)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path ``[a, b, ..., a]``, or ``None``."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for target in sorted(graph[node]):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done:
                found = visit(target)
                if found is not None:
                    return found
        on_path.discard(path.pop())
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done:
            found = visit(start)
            if found is not None:
                return found
    return None


def test_the_graph_sees_typing_only_and_relative_imports() -> None:
    graph = import_graph()
    # A typing-only import (under TYPE_CHECKING) is an edge.
    assert "trio_durable.batcher.batcher" in graph["trio_durable.operations.protocols"]
    # ``from trio_durable.local import arns`` names the module, not the package.
    assert "trio_durable.local.arns" in graph["trio_durable.local.service"]


def test_find_cycle_reports_a_cycle_it_is_given() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_trio_durable_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_operations_reach_the_context_only_through_their_protocol() -> None:
    graph = import_graph()
    for name, targets in graph.items():
        if name.startswith("trio_durable.operations."):
            assert "trio_durable.runtime.context" not in targets, name
            assert "trio_durable.runtime.invocation" not in targets, name


def test_invokers_and_the_service_do_not_name_each_other() -> None:
    graph = import_graph()
    invoker_side = {
        "trio_durable.local.invokers",
        "trio_durable.local.client",
        "trio_durable.local.subprocess_invoker",
    }
    for name in invoker_side:
        assert "trio_durable.local.service" not in graph[name], name
    assert not invoker_side & graph["trio_durable.local.service"]
