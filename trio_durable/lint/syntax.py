"""Pure questions about Python syntax trees that the determinism analysis asks: which
names a function binds, reads or mutates, the shallow walk that stops at nested
functions, ``partial(...)`` unwrapping. No rules and no state live here.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda


def positional(fn: FunctionNode) -> list[str]:
    return [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]


def annotated_contexts(fn: FunctionNode) -> set[str]:
    """Parameters annotated ``DurableContext`` (by any spelling of the name)."""
    args = fn.args
    names = set()
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs):
        if arg.annotation is not None and annotation_name(arg.annotation) == "DurableContext":
            names.add(arg.arg)
    return names


def annotation_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.strip().split(".")[-1]
    return None


def params(fn: FunctionNode) -> set[str]:
    args = fn.args
    every = (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
    return {a.arg for a in every if a is not None}


def assigned(stmt: ast.AST) -> Iterator[str]:
    """Names a statement binds by assignment (not defs, classes or imports)."""
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, ast.AnnAssign | ast.AugAssign):
        targets = [stmt.target]
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                yield node.id


def bound_in(fn: FunctionNode) -> set[str]:
    """Every name bound anywhere inside ``fn`` (nested functions included), but those
    ``fn`` itself declares ``nonlocal`` or ``global``."""
    bound = set(params(fn))
    declared: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
            bound.add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node is not fn:
                bound.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
    for node in walk_shallow(fn):
        if isinstance(node, ast.Nonlocal | ast.Global):
            declared.update(node.names)
    return bound - declared


def root_name(node: ast.expr) -> ast.Name | None:
    """The name at the root of ``a.b[c].d``."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node if isinstance(node, ast.Name) else None


def walk_shallow(node: ast.AST) -> Iterator[ast.AST]:
    """``ast.walk`` that does not enter nested functions."""
    stack = list(ast.iter_child_nodes(node))
    while stack:
        child = stack.pop()
        yield child
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(child))


def body_nodes(fn: FunctionNode) -> Iterator[ast.AST]:
    """Every node of a function's body (not its decorators, defaults or annotations)."""
    body: list[ast.AST] = [fn.body] if isinstance(fn, ast.Lambda) else list(fn.body)
    for stmt in body:
        yield from ast.walk(stmt)


def context_method(node: ast.expr, contexts: frozenset[str]) -> str | None:
    """``ctx.attr`` when ``node`` is an attribute of a context."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id in contexts
    ):
        return f"{node.value.id}.{node.attr}"
    return None


def in_modules(name: str, modules: tuple[str, ...]) -> bool:
    return any(name.startswith(module + ".") for module in modules)


def last(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def unwrap_partial(node: ast.expr) -> tuple[ast.expr, list[ast.expr]]:
    """``partial(f, a, b)`` -> (f, [a, b]); anything else -> (node, [])."""
    if isinstance(node, ast.Call) and last(node.func) == "partial" and node.args:
        return node.args[0], list(node.args[1:])
    return node, []


def names_read(fn: FunctionNode) -> set[str]:
    return {
        node.id
        for node in body_nodes(fn)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    } - bound_in(fn)


def mutated_targets(node: ast.AST) -> list[ast.expr]:
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        targets = [node.target]
    elif isinstance(node, ast.Delete):
        targets = node.targets
    else:
        return []
    flat: list[ast.expr] = []
    for target in targets:
        if isinstance(target, ast.Tuple | ast.List):
            flat.extend(target.elts)
        else:
            flat.append(target)
    return flat
