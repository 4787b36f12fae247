"""The determinism analysis of one module's source (sans-IO: text in, findings out).

It finds the module's *workflow code*: functions decorated with
``@durable_execution``, functions with a parameter annotated ``DurableContext``,
the functions a workflow hands to ``run_in_child_context``, ``map`` and
``parallel``, and the module's functions it calls. It finds *step bodies*: what
a workflow hands to ``step``, ``wait_for_callback`` and ``wait_for_condition``.
Workflow code must replay alike (TD001-TD004, TD006, TD008); step bodies must
not call durable operations or mutate what they capture (TD005, TD007).

The analysis knows names, not types: it follows the module's imports, its
functions by name, and the parameters a context is passed to.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass

from trio_durable.lint import rules, syntax
from trio_durable.lint.rules import Rule
from trio_durable.lint.syntax import FunctionNode

__all__ = ["Finding", "check_source"]


MUTATING_METHODS = frozenset(
    {
        "append",
        "appendleft",
        "extend",
        "insert",
        "pop",
        "popleft",
        "popitem",
        "remove",
        "clear",
        "update",
        "add",
        "discard",
        "setdefault",
        "sort",
        "reverse",
    }
)

_STEP_BODY_OPERATIONS = {"step": 0, "wait_for_callback": 1, "wait_for_condition": None}
"""Operation -> how many leading parameters of its body precede the call's extra
arguments (``submitter(callback_id, *args)``); None: the body takes no arguments."""

_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,\s*[A-Z]+[0-9]+)*))?", re.I)


@dataclass(frozen=True, slots=True, order=True)
class Finding:
    """One problem: where (1-based line and column) and which rule."""

    path: str
    line: int
    column: int
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column}: {self.code} {self.message}"


def check_source(source: str, path: str = "<string>") -> list[Finding]:
    """The findings in ``source`` (sorted, ``# noqa`` honoured); a file that does
    not parse gives one TD000 finding."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        message = f"cannot parse: {exc.msg}"
        return [Finding(path, exc.lineno or 1, exc.offset or 1, rules.PARSE_ERROR.code, message)]
    found = _Analysis(tree).run()
    suppressed = _noqa_lines(source)
    return sorted(
        Finding(path, line, column, rule.code, message)
        for (line, column, rule, message) in found
        if not (line in suppressed and rule.code in suppressed[line])
    )


class _AnyCode:
    """What a bare ``# noqa`` suppresses: every code."""

    def __contains__(self, code: object) -> bool:
        return True


def _noqa_lines(source: str) -> dict[int, frozenset[str] | _AnyCode]:
    """Line -> the codes its ``# noqa`` comment suppresses."""
    lines: dict[int, frozenset[str] | _AnyCode] = {}
    try:
        for token in tokenize.generate_tokens(io.StringIO(source).readline):
            if token.type != tokenize.COMMENT:
                continue
            match = _NOQA.search(token.string)
            if match is None:
                continue
            codes = match.group("codes")
            lines[token.start[0]] = (
                _AnyCode()
                if codes is None
                else frozenset(c.strip().upper() for c in codes.split(","))
            )
    except (tokenize.TokenError, SyntaxError):
        pass  # ast parsed it; a tokenizer quirk only loses suppressions
    return lines


# --- the analysis ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Work:
    """A function to analyse as workflow code, with the names that hold a context."""

    fn: FunctionNode
    contexts: frozenset[str]


class _Analysis:
    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.imports: dict[str, str] = {}
        self.functions: dict[str, FunctionNode] = {}
        self.module_names: set[str] = set()
        self.module_lists: dict[str, ast.List | ast.Tuple] = {}
        self.enclosing: dict[int, tuple[FunctionNode, ...]] = {}
        self.local_defs: dict[int, dict[str, FunctionNode]] = {}
        self.step_bodies: set[int] = set()
        self.found: set[tuple[int, int, Rule, str]] = set()
        self.queue: list[_Work] = []
        self.done: set[tuple[int, frozenset[str]]] = set()
        self._index_module()

    # -- module facts -----------------------------------------------------------------

    def _index_module(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.imports[alias.asname] = alias.name
                    else:
                        top = alias.name.split(".")[0]
                        self.imports[top] = top
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                for alias in node.names:
                    if alias.name != "*":
                        self.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        for stmt in self.tree.body:
            if isinstance(stmt, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions[stmt.name] = stmt
            for target in syntax.assigned(stmt):
                self.module_names.add(target)
            if (
                isinstance(stmt, ast.Assign)
                and len(stmt.targets) == 1
                and isinstance(stmt.targets[0], ast.Name)
                and isinstance(stmt.value, ast.List | ast.Tuple)
            ):
                self.module_lists[stmt.targets[0].id] = stmt.value
        self._index_scopes(self.tree, ())

    def _index_scopes(self, node: ast.AST, chain: tuple[FunctionNode, ...]) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
                self.enclosing[id(child)] = chain
                if chain and not isinstance(child, ast.Lambda):
                    self.local_defs.setdefault(id(chain[-1]), {})[child.name] = child
                self._index_scopes(child, (*chain, child))
            else:
                self._index_scopes(child, chain)

    def qualified(self, node: ast.expr) -> str | None:
        """The dotted name an expression refers to, through the module's imports."""
        if isinstance(node, ast.Name):
            if node.id in self.imports:
                return self.imports[node.id]
            if node.id in self.functions or node.id in self.module_names:
                return None
            return node.id
        if isinstance(node, ast.Attribute):
            base = self.qualified(node.value)
            return None if base is None else f"{base}.{node.attr}"
        return None

    def resolve(self, node: ast.expr, scope: FunctionNode | None) -> FunctionNode | None:
        """The function an expression names: a lambda, or a def visible from ``scope``."""
        if isinstance(node, ast.Lambda):
            return node
        if not isinstance(node, ast.Name):
            return None
        chain = () if scope is None else (*self.enclosing.get(id(scope), ()), scope)
        for fn in reversed(chain):
            found = self.local_defs.get(id(fn), {}).get(node.id)
            if found is not None:
                return found
        return self.functions.get(node.id)

    def report(self, node: ast.AST, rule: Rule, detail: str) -> None:
        line = getattr(node, "lineno", 1)
        column = getattr(node, "col_offset", 0) + 1
        self.found.add((line, column, rule, f"{detail}: {rule.summary}; {rule.advice}"))

    # -- the work list ------------------------------------------------------------------

    def run(self) -> set[tuple[int, int, Rule, str]]:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                contexts = syntax.annotated_contexts(node)
                if self._is_durable_handler(node):
                    params = syntax.positional(node)
                    contexts |= {params[1]} if len(params) > 1 else set()
                if contexts or self._is_durable_handler(node):
                    self.enqueue(node, contexts)
            elif isinstance(node, ast.Call) and self._is_durable_decorator(node.func):
                for arg in node.args[:1]:
                    fn = self.resolve(arg, None)
                    if fn is not None:
                        params = syntax.positional(fn)
                        self.enqueue(fn, set(params[1:2]))
        while self.queue:
            work = self.queue.pop()
            _WorkflowVisitor(self, work).run()
        return self.found

    def enqueue(self, fn: FunctionNode, contexts: Iterable[str]) -> None:
        key = (id(fn), frozenset(contexts))
        if key not in self.done:
            self.done.add(key)
            self.queue.append(_Work(fn, key[1]))

    def _is_durable_handler(self, fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        return any(self._is_durable_decorator(d) for d in fn.decorator_list)

    def _is_durable_decorator(self, node: ast.expr) -> bool:
        target = node.func if isinstance(node, ast.Call) else node
        name = self.qualified(target)
        return name is not None and name.split(".")[-1] == "durable_execution"


# --- workflow code ---------------------------------------------------------------------


class _WorkflowVisitor(ast.NodeVisitor):
    """Walks one function as workflow code; queues what it hands on."""

    def __init__(self, analysis: _Analysis, work: _Work) -> None:
        self.a = analysis
        self.fn = work.fn
        self.contexts = work.contexts

    def run(self) -> None:
        fn = self.fn
        body: list[ast.AST] = [fn.body] if isinstance(fn, ast.Lambda) else list(fn.body)
        # Operations first: a def that is handed to ctx.step may precede the call.
        for stmt in body:
            for node in (stmt, *syntax.walk_shallow(stmt)):
                if isinstance(node, ast.Call) and self.operation_name(node) is not None:
                    self._operation(node)
        for stmt in body:
            self.visit(stmt)

    def is_context(self, node: ast.expr) -> bool:
        return isinstance(node, ast.Name) and node.id in self.contexts

    def operation_name(self, node: ast.Call) -> str | None:
        """``op`` when ``node`` calls ``ctx.op`` (a durable operation) on a context."""
        func = node.func
        if (
            isinstance(func, ast.Attribute)
            and self.is_context(func.value)
            and func.attr in rules.OPERATIONS
        ):
            return func.attr
        return None

    def nested_contexts(self, fn: FunctionNode) -> set[str]:
        """The contexts a function defined in this one sees through its closure."""
        if self.a.enclosing.get(id(fn), ())[-1:] != (self.fn,):
            return set()
        return set(self.contexts - syntax.params(fn))

    # -- nested functions: workflow code too, unless they are step bodies ------------

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._nested(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._nested(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._nested(node)

    def _nested(self, fn: FunctionNode) -> None:
        if id(fn) not in self.a.step_bodies:
            self.a.enqueue(fn, self.nested_contexts(fn) | syntax.annotated_contexts(fn))

    # -- names read ---------------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load) and self.a.qualified(node) in rules.ENVIRONMENT_NAMES:
            self.a.report(node, rules.ENVIRONMENT, self.a.qualified(node) or "")
            return
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load) and node.id in self.a.imports:
            name = self.a.imports[node.id]
            if name in rules.ENVIRONMENT_NAMES:
                self.a.report(node, rules.ENVIRONMENT, name)

    # -- calls ----------------------------------------------------------------------------

    def visit_Call(self, node: ast.Call) -> None:
        if self.operation_name(node) is None:
            self._spawn(node)
            self._nondeterministic(node)
            self._direct_call(node)
        self.generic_visit(node)

    def _nondeterministic(self, node: ast.Call) -> None:
        name = self.a.qualified(node.func)
        if name is None:
            if isinstance(node.func, ast.Attribute) and node.func.attr in rules.IO_METHODS:
                self.a.report(node, rules.IO, f".{node.func.attr}()")
            return
        shown = f"{name}()"
        if name in rules.CLOCK_CALLS:
            self.a.report(node, rules.CLOCK, shown)
        elif name in rules.RANDOM_CALLS or (
            syntax.in_modules(name, rules.RANDOM_MODULES)
            and not (name == "random.Random" and (node.args or node.keywords))
        ):
            self.a.report(node, rules.RANDOM, shown)
        elif name in rules.IO_CALLS or syntax.in_modules(name, rules.IO_MODULES):
            self.a.report(node, rules.IO, shown)
        elif isinstance(node.func, ast.Attribute) and node.func.attr in rules.IO_METHODS:
            self.a.report(node, rules.IO, f".{node.func.attr}()")

    def _operation(self, node: ast.Call) -> None:
        """Check the step bodies a durable operation is handed; queue its workflow code."""
        operation = self.operation_name(node)
        args = node.args
        if operation in _STEP_BODY_OPERATIONS and args:
            body, leading = syntax.unwrap_partial(args[0])
            fn = self.a.resolve(body, self.fn)
            if fn is not None:
                offset = _STEP_BODY_OPERATIONS[operation]
                passed = [*leading, *args[1:]] if offset is not None else []
                self._step_body(fn, passed, offset or 0)
        elif operation == "run_in_child_context" and args:
            self._workflow_function(args[0], args[1:])
        elif operation == "map" and len(args) > 1:
            self._workflow_function(args[1], [])
        elif operation == "parallel" and args:
            branches = args[0]
            if isinstance(branches, ast.Name) and branches.id in self.a.module_lists:
                branches = self.a.module_lists[branches.id]
            if isinstance(branches, ast.List | ast.Tuple):
                for branch in branches.elts:
                    call = branch if isinstance(branch, ast.Call) else None
                    if call and call.args and syntax.last(call.func) == "ParallelBranch":
                        branch = call.args[0]
                    self._workflow_function(branch, [])

    def _step_body(self, fn: FunctionNode, passed: list[ast.expr], offset: int) -> None:
        """Check a step body; ``passed`` are the arguments it receives from offset on."""
        contexts = self.nested_contexts(fn) | syntax.annotated_contexts(fn)
        aliases: dict[str, str] = {}
        params = syntax.positional(fn)
        for index, arg in enumerate(passed):
            if offset + index >= len(params) or not isinstance(arg, ast.Name):
                continue
            if self.is_context(arg):
                contexts.add(params[offset + index])
            else:
                aliases[params[offset + index]] = arg.id
        self.a.step_bodies.add(id(fn))
        _StepVisitor(self.a, fn, contexts, aliases).run()

    def _workflow_function(self, node: ast.expr, extra: list[ast.expr]) -> None:
        """Queue a function that receives a child context as its first argument."""
        body, leading = syntax.unwrap_partial(node)
        fn = self.a.resolve(body, self.fn)
        if fn is None:
            return
        params = syntax.positional(fn)
        contexts = self.nested_contexts(fn) | syntax.annotated_contexts(fn) | set(params[:1])
        for index, arg in enumerate([*leading, *extra], start=1):
            if self.is_context(arg) and index < len(params):
                contexts.add(params[index])
        self.a.enqueue(fn, contexts)

    def _direct_call(self, node: ast.Call) -> None:
        """Queue a function of this module that workflow code calls: it is workflow code."""
        fn = self.a.resolve(node.func, self.fn) if isinstance(node.func, ast.Name) else None
        if fn is None or id(fn) in self.a.step_bodies:
            return
        params = syntax.positional(fn)
        contexts = self.nested_contexts(fn) | syntax.annotated_contexts(fn)
        for index, arg in enumerate(node.args):
            if self.is_context(arg) and index < len(params):
                contexts.add(params[index])
        self.a.enqueue(fn, contexts)

    # -- other tasks and threads --------------------------------------------------------

    def _spawn(self, node: ast.Call) -> None:
        """A call that runs a callable in another task or thread: does it take a
        context along, or call durable operations there?"""
        started = self._started(node)
        if started is None:
            return
        thread, target, passed = started
        direct = syntax.context_method(target, self.contexts)
        if direct is not None:
            operation = target.attr in rules.OPERATIONS  # type: ignore[attr-defined]
            rule = (
                rules.OPERATION_IN_TASK if operation and not thread else rules.CONTEXT_IN_OTHER_TASK
            )
            self.a.report(node, rule, direct)
            return
        body, leading = syntax.unwrap_partial(target)
        passed = [*leading, *passed]
        handed = [arg.id for arg in passed if isinstance(arg, ast.Name) and arg.id in self.contexts]
        fn = self.a.resolve(body, self.fn)
        operations: list[str] = []
        if fn is not None:
            params = syntax.positional(fn)
            contexts = self.nested_contexts(fn) | syntax.annotated_contexts(fn)
            for index, arg in enumerate(passed[: len(params)]):
                if self.is_context(arg):
                    contexts.add(params[index])
            operations = _operations_in(fn, contexts)
            handed += sorted(syntax.names_read(fn) & self.nested_contexts(fn))
        label = ast.unparse(body)
        if operations and not thread:
            self.a.report(node, rules.OPERATION_IN_TASK, f"{label} calls {operations[0]}")
        elif operations or handed:
            self.a.report(
                node, rules.CONTEXT_IN_OTHER_TASK, f"{label} uses {(operations or handed)[0]}"
            )

    def _started(self, node: ast.Call) -> tuple[bool, ast.expr, list[ast.expr]] | None:
        """(in a thread?, the callable, its arguments) if ``node`` starts a task or thread."""
        func = node.func
        name = self.a.qualified(func)
        if name in rules.THREAD_FUNCTIONS:
            if name == "threading.Thread":
                kw = {k.arg: k.value for k in node.keywords}
                target = kw.get("target")
                extra = kw.get("args")
                passed = list(extra.elts) if isinstance(extra, ast.Tuple | ast.List) else []
                return None if target is None else (True, target, passed)
            return (True, node.args[0], node.args[1:]) if node.args else None
        if name in rules.TASK_FUNCTIONS or (
            isinstance(func, ast.Attribute) and func.attr == "create_task"
        ):
            for coro in node.args:
                if isinstance(coro, ast.Call):
                    return (False, coro.func, list(coro.args))
            return None
        if isinstance(func, ast.Attribute) and not self.is_context(func.value):
            if func.attr in rules.SPAWN_METHODS and node.args:
                return (False, node.args[0], node.args[1:])
            if func.attr == "submit" and node.args:
                return (True, node.args[0], node.args[1:])
            if func.attr == "run_in_executor" and len(node.args) > 1:
                return (True, node.args[1], node.args[2:])
        return None


def _operations_in(fn: FunctionNode, contexts: set[str]) -> list[str]:
    """``ctx.op`` spellings of the durable operations ``fn`` calls on ``contexts``."""
    found = []
    for node in syntax.body_nodes(fn):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in contexts
            and node.func.attr in rules.OPERATIONS
        ):
            found.append(f"{node.func.value.id}.{node.func.attr}")
    return found


# --- step bodies -------------------------------------------------------------------------


class _StepVisitor:
    """Checks one step body: no durable operations, no mutation of captured names."""

    def __init__(
        self, analysis: _Analysis, fn: FunctionNode, contexts: set[str], aliases: dict[str, str]
    ) -> None:
        self.a = analysis
        self.fn = fn
        self.contexts = contexts
        self.aliases = aliases  # parameter -> the workflow's name passed to it

    def run(self) -> None:
        fn = self.fn
        local = syntax.bound_in(fn)
        declared: set[str] = set()
        outside = set(self.a.module_names)
        for enclosing in self.a.enclosing.get(id(fn), ()):
            outside |= syntax.bound_in(enclosing)
        for node in syntax.body_nodes(fn):
            if isinstance(node, ast.Nonlocal | ast.Global):
                declared.update(node.names)

        def captured(name: ast.Name | None) -> bool:
            if name is None:
                return False
            return name.id in self.aliases or (name.id not in local and name.id in outside)

        def shown(name: ast.Name) -> str:
            alias = self.aliases.get(name.id)
            return name.id if alias is None else f"{name.id} (the workflow's {alias})"

        for node in syntax.body_nodes(fn):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                receiver = node.func.value
                if (
                    isinstance(receiver, ast.Name)
                    and receiver.id in self.contexts
                    and node.func.attr in rules.OPERATIONS
                ):
                    self.a.report(node, rules.OPERATION_IN_STEP, f"{receiver.id}.{node.func.attr}")
                elif node.func.attr in MUTATING_METHODS and captured(syntax.root_name(receiver)):
                    name = syntax.root_name(receiver)
                    assert name is not None
                    self.a.report(
                        node, rules.CAPTURED_MUTATION, f"{shown(name)}.{node.func.attr}()"
                    )
            for target in syntax.mutated_targets(node):
                if isinstance(target, ast.Name):
                    if target.id in declared and target.id in outside:
                        self.a.report(target, rules.CAPTURED_MUTATION, target.id)
                elif captured(syntax.root_name(target)):
                    name = syntax.root_name(target)
                    assert name is not None
                    self.a.report(target, rules.CAPTURED_MUTATION, shown(name))
