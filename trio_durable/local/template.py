"""The durable functions of an AWS SAM / CloudFormation template, for ``serve --template``.

``parse_template(text, ...)`` is sans-IO: it takes the template's text (YAML with
the short intrinsic tags, or JSON) and returns a ``Template``: one
``FunctionSpec`` for every ``AWS::Serverless::Function`` with a ``DurableConfig``
and a Python runtime, and a warning for everything it does not apply, so that
nothing is ignored silently. ``load_template`` reads the files around it.

What a function takes from the template: its logical id as its name; Handler and
CodeUri (with ``Globals.Function``); Runtime (a Python one); Environment
Variables, with ``!Ref``, ``!Sub``, ``!Join`` and ``!GetAtt F.Arn`` of the
template's functions resolved to local values; Timeout (Lambda's default, 3 s,
when absent); DurableConfig; TenancyConfig. Parameters take their Default or a
``--parameter-overrides`` value; ``--env-vars`` overrides variables the way
``sam local`` does (a ``Parameters`` object for every function, one object per
logical id, only variables the template declares).
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from trio_durable.errors import ValidationError
from trio_durable.local.engine import MAX_RETENTION_DAYS
from trio_durable.local.invokers import MAX_INVOCATION_TIMEOUT_SECONDS
from trio_durable.local.template_values import (
    NO_VALUE,
    SERVERLESS_FUNCTION,
    Scope,
    TemplateLoader,
    Unresolvable,
    parameter_values,
    text_of,
)
from trio_durable.local.validation import MAX_EXECUTION_TIMEOUT_SECONDS

__all__ = [
    "DEFAULT_TIMEOUT_SECONDS",
    "FunctionSpec",
    "Template",
    "load_template",
    "parse_env_vars",
    "parse_parameter_overrides",
    "parse_template",
    "shared_environment",
]

DEFAULT_TIMEOUT_SECONDS = 3
"""Lambda's function timeout when the template gives none."""
SUPPORTED_PROPERTIES = frozenset(
    {"Handler", "CodeUri", "Runtime", "Environment", "Timeout", "DurableConfig", "TenancyConfig"}
)
_PYTHON_RUNTIME = re.compile(r"python3\.\d+")


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """One durable function of a template, with everything resolved."""

    name: str
    handler: str
    code_dir: Path
    runtime: str
    environment: Mapping[str, str]
    timeout_seconds: int
    execution_timeout_seconds: int
    retention_period_days: int | None
    """None: the service's retention (AWS's default: 14 days)."""
    tenant_isolation_mode: str | None = None

    @property
    def target(self) -> str:
        """The handler as a trio-durable target: ``app.handler`` loads the file
        ``CODE_DIR/app.py`` (so two functions may each have their own ``app.py``);
        ``pkg.mod.handler`` imports ``pkg.mod``, with ``code_dir`` on the import path."""
        module, _, attr = self.handler.rpartition(".")
        module = module.replace("/", ".")
        if "." in module:
            return f"{module}:{attr}"
        return f"{self.code_dir / module}.py:{attr}"


@dataclass(frozen=True, slots=True)
class Template:
    """The durable functions of a template and the warnings about what it did not apply."""

    functions: tuple[FunctionSpec, ...]
    warnings: tuple[str, ...]

    def function(self, name: str) -> FunctionSpec:
        """The function called ``name``; the error lists the ones there are."""
        for spec in self.functions:
            if spec.name == name:
                return spec
        raise ValidationError(
            f"the template has no durable function {name!r}; it has: {_names(self.functions)}"
        )


def load_template(
    path: Path,
    *,
    parameter_overrides: Mapping[str, str] | None = None,
    env_vars_file: Path | None = None,
    region: str = "us-east-1",
    account: str = "123456789012",
) -> Template:
    """Read ``path`` (and ``env_vars_file``, a ``sam local --env-vars`` JSON file)."""
    text = _read(path, "template")
    env_vars = None if env_vars_file is None else parse_env_vars(_read(env_vars_file, "--env-vars"))
    return parse_template(
        text,
        base_dir=path.resolve().parent,
        source=str(path),
        parameter_overrides=parameter_overrides,
        env_vars=env_vars,
        region=region,
        account=account,
    )


def parse_template(
    text: str,
    *,
    base_dir: Path,
    source: str = "template",
    parameter_overrides: Mapping[str, str] | None = None,
    env_vars: Mapping[str, Mapping[str, str]] | None = None,
    region: str = "us-east-1",
    account: str = "123456789012",
) -> Template:
    """The durable functions of the template ``text``; CodeUri is relative to ``base_dir``."""
    try:
        document = yaml.load(text, Loader=TemplateLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValidationError(f"{source}: not a valid YAML or JSON template: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise ValidationError(f"{source}: not a template (no Resources section)")
    resources: dict[str, Any] = document["Resources"]
    warnings: list[str] = []
    scope = Scope(
        parameters=parameter_values(
            document.get("Parameters") or {}, parameter_overrides or {}, source
        ),
        resources=resources,
        region=region,
        account=account,
    )
    function_globals = _mapping(document.get("Globals"), f"{source}: Globals").get("Function")
    function_globals = _mapping(function_globals, f"{source}: Globals.Function")
    unapplied: dict[str, list[str]] = {}
    specs: list[FunctionSpec] = []
    not_durable: list[str] = []
    for logical_id, resource in resources.items():
        kind = resource.get("Type") if isinstance(resource, dict) else None
        properties = (resource.get("Properties") or {}) if isinstance(resource, dict) else {}
        if kind == "AWS::Lambda::Function" and "DurableConfig" in properties:
            warnings.append(
                f"{logical_id}: not served: AWS::Lambda::Function resources are not read"
                " (describe it as an AWS::Serverless::Function)"
            )
        if kind != SERVERLESS_FUNCTION:
            continue
        properties = _merge(
            function_globals, _mapping(properties, f"{source}: {logical_id}: Properties")
        )
        if "DurableConfig" not in properties:
            not_durable.append(logical_id)
            continue
        if "Condition" in resource:
            warnings.append(
                f"{logical_id}: its Condition {resource['Condition']!r} is not evaluated:"
                " the function is served"
            )
        where = f"{source}: {logical_id}"
        runtime = scope.scalar(properties.get("Runtime"), f"{where}: Runtime")
        if runtime is None or not _PYTHON_RUNTIME.fullmatch(runtime):
            warnings.append(
                f"{logical_id}: not served: Runtime {runtime!r} is not a Python runtime"
            )
            continue
        for name in properties:
            if name not in SUPPORTED_PROPERTIES:
                unapplied.setdefault(name, []).append(logical_id)
        specs.append(
            _function_spec(
                logical_id, properties, runtime, scope, base_dir, env_vars, warnings, where
            )
        )
    if not_durable:
        warnings.append(f"not served (no DurableConfig): {', '.join(not_durable)}")
    for name, functions in sorted(unapplied.items()):
        warnings.append(f"property {name} is not applied locally ({_list(functions)})")
    warnings.extend(_unused_env_vars(env_vars or {}, specs, resources))
    if not specs:
        raise ValidationError(
            f"{source}: no durable function to serve (an AWS::Serverless::Function with a"
            f" DurableConfig and a Python Runtime){_warnings_tail(warnings)}"
        )
    return Template(functions=tuple(specs), warnings=tuple(warnings))


def parse_parameter_overrides(items: Iterable[str]) -> dict[str, str]:
    """``--parameter-overrides`` as ``sam`` takes them: ``Key=Value`` or
    ``ParameterKey=Key,ParameterValue=Value`` pairs, several in one argument
    separated by spaces (quote a value that has spaces)."""
    overrides: dict[str, str] = {}
    for item in items:
        for pair in shlex.split(item):
            long_form = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", pair)
            if long_form is not None:
                key, value = long_form.groups()
            else:
                key, sep, value = pair.partition("=")
                if not sep or not key:
                    raise ValidationError(
                        f"bad --parameter-overrides {pair!r}: use Key=Value"
                        " or ParameterKey=Key,ParameterValue=Value"
                    )
            overrides[key] = value
    return overrides


def parse_env_vars(text: str) -> dict[str, dict[str, str]]:
    """A ``sam local --env-vars`` file: ``{"Parameters": {...}, "LogicalId": {...}}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(f"--env-vars: not valid JSON: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ValidationError(
            '--env-vars: expected {"Parameters": {"NAME": "value"}, "Function": {...}}'
        )
    out: dict[str, dict[str, str]] = {}
    for key, variables in data.items():
        out[key] = {}
        for name, value in variables.items():
            if isinstance(value, dict | list) or value is None:
                raise ValidationError(f"--env-vars: {key}.{name} must be a string or number")
            out[key][name] = text_of(value)
    return out


def shared_environment(functions: Sequence[FunctionSpec]) -> dict[str, str]:
    """The one environment that serves every function in one process (the
    in-process invoker: ``os.environ`` is the process's). A variable that two
    functions set to different values cannot be served that way: the error says so."""
    merged: dict[str, str] = {}
    owner: dict[str, str] = {}
    for spec in functions:
        for name, value in spec.environment.items():
            if name in merged and merged[name] != value:
                raise ValidationError(
                    f"environment variable {name} is {merged[name]!r} in {owner[name]} and"
                    f" {value!r} in {spec.name}: one process has one environment, so serve"
                    " this template with --invoker subprocess (a process per function)"
                )
            merged[name] = value
            owner[name] = spec.name
    return merged


# --- functions ------------------------------------------------------------------------


def _function_spec(
    name: str,
    properties: Mapping[str, Any],
    runtime: str,
    scope: Scope,
    base_dir: Path,
    env_vars: Mapping[str, Mapping[str, str]] | None,
    warnings: list[str],
    where: str,
) -> FunctionSpec:
    handler = scope.scalar(properties.get("Handler"), f"{where}: Handler")
    if handler is None or "." not in handler.strip(".") or " " in handler:
        raise ValidationError(f"{where}: Handler {handler!r} is not 'module.function'")
    code_uri = properties.get("CodeUri", ".")
    if not isinstance(code_uri, str):
        raise ValidationError(
            f"{where}: CodeUri must be a local folder, not {code_uri!r} (build the project"
            " locally, or serve the template that `sam build` wrote)"
        )
    code_dir = (base_dir / code_uri).resolve()
    if not code_dir.is_dir():
        raise ValidationError(f"{where}: CodeUri folder {str(code_dir)!r} does not exist")
    timeout = _whole(
        scope, properties.get("Timeout"), f"{where}: Timeout", most=MAX_INVOCATION_TIMEOUT_SECONDS
    )
    durable = properties["DurableConfig"]
    if not isinstance(durable, dict):
        raise ValidationError(f"{where}: DurableConfig must be a mapping")
    for key in durable:
        if key not in ("ExecutionTimeout", "RetentionPeriodInDays"):
            warnings.append(f"{name}: DurableConfig.{key} is not applied locally")
    execution_timeout = _whole(
        scope, durable.get("ExecutionTimeout"), f"{where}: DurableConfig.ExecutionTimeout",
        most=MAX_EXECUTION_TIMEOUT_SECONDS,
    )  # fmt: skip
    if execution_timeout is None:
        raise ValidationError(f"{where}: DurableConfig.ExecutionTimeout is required")
    retention = _whole(
        scope, durable.get("RetentionPeriodInDays"),
        f"{where}: DurableConfig.RetentionPeriodInDays",
        most=MAX_RETENTION_DAYS,
    )  # fmt: skip
    return FunctionSpec(
        name=name,
        handler=handler,
        code_dir=code_dir,
        runtime=runtime,
        environment=MappingProxyType(
            _environment(name, properties.get("Environment"), scope, env_vars, warnings)
        ),
        timeout_seconds=DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout,
        execution_timeout_seconds=execution_timeout,
        retention_period_days=retention,
        tenant_isolation_mode=_tenancy(name, properties.get("TenancyConfig"), scope),
    )


def _environment(
    name: str,
    environment: Any,
    scope: Scope,
    env_vars: Mapping[str, Mapping[str, str]] | None,
    warnings: list[str],
) -> dict[str, str]:
    if environment is None:
        return {}
    if not isinstance(environment, dict) or not isinstance(environment.get("Variables", {}), dict):
        raise ValidationError(f"{name}: Environment must be {{Variables: {{NAME: value}}}}")
    for key in environment:
        if key != "Variables":
            warnings.append(f"{name}: Environment.{key} is not applied locally")
    overrides = {**(env_vars or {}).get("Parameters", {}), **(env_vars or {}).get(name, {})}
    out: dict[str, str] = {}
    for variable, raw in (environment.get("Variables") or {}).items():
        if variable in overrides:
            out[variable] = overrides[variable]
            continue
        try:
            value = scope.resolve(raw)
        except Unresolvable as exc:
            warnings.append(
                f"{name}: environment variable {variable} is not set: {exc}"
                " (give it a value with --env-vars)"
            )
            continue
        if value is not NO_VALUE:
            out[variable] = value
    return out


def _tenancy(name: str, config: Any, scope: Scope) -> str | None:
    if config is None:
        return None
    mode = scope.scalar(config.get("TenantIsolationMode") if isinstance(config, dict) else None, "")
    if mode != "PER_TENANT":
        raise ValidationError(
            f"{name}: TenancyConfig.TenantIsolationMode must be PER_TENANT, got {mode!r}"
        )
    return mode


def _unused_env_vars(
    env_vars: Mapping[str, Mapping[str, str]],
    specs: Sequence[FunctionSpec],
    resources: Mapping[str, Any],
) -> list[str]:
    """Warnings for ``--env-vars`` entries that set nothing."""
    out: list[str] = []
    served = {spec.name: spec for spec in specs}
    for key, variables in env_vars.items():
        if key == "Parameters":
            continue
        spec = served.get(key)
        if spec is None:
            what = "a function that is not served" if key in resources else "no function"
            out.append(f"--env-vars: {key!r} names {what}: its variables are not used")
            continue
        undeclared = [variable for variable in variables if variable not in spec.environment]
        if undeclared:
            out.append(
                f"--env-vars: {key}: {', '.join(undeclared)} not declared in the template's"
                " Environment: not set (as with sam local)"
            )
    return out


# --- small helpers --------------------------------------------------------------------


def _merge(defaults: Any, properties: Any) -> Any:
    """SAM's Globals rule for what is read here: maps merge (the resource wins on a
    key); anything else comes from the resource."""
    if isinstance(defaults, dict) and isinstance(properties, dict):
        merged = dict(defaults)
        for key, value in properties.items():
            merged[key] = _merge(defaults[key], value) if key in defaults else value
        return merged
    return properties


def _mapping(value: Any, where: str) -> dict[str, Any]:
    """A section or Properties that must be a mapping (empty when absent)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError(f"{where} must be a mapping, not {type(value).__name__}")
    return value


def _whole(scope: Scope, value: Any, where: str, *, most: int) -> int | None:
    """A whole-number property from 1 to ``most``, or None when absent."""
    text = scope.scalar(value, where)
    if text is None:
        return None
    try:
        number = int(text)
    except ValueError:
        raise ValidationError(f"{where}: {text!r} is not a whole number") from None
    if not 1 <= number <= most:
        raise ValidationError(f"{where}: {number} is not from 1 to {most}")
    return number


def _names(functions: Sequence[FunctionSpec]) -> str:
    return ", ".join(spec.name for spec in functions) or "none"


def _list(names: Sequence[str], limit: int = 5) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])} and {len(names) - limit} more"


def _warnings_tail(warnings: Sequence[str]) -> str:
    return "".join(f"\n  {warning}" for warning in warnings)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise ValidationError(f"cannot read {what} {str(path)!r}: {exc.strerror}") from None
