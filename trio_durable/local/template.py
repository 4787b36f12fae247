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
SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SUPPORTED_PROPERTIES = frozenset(
    {"Handler", "CodeUri", "Runtime", "Environment", "Timeout", "DurableConfig", "TenancyConfig"}
)
_PYTHON_RUNTIME = re.compile(r"python3\.\d+")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


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
        document = yaml.load(text, Loader=_TemplateLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ValidationError(f"{source}: not a valid YAML or JSON template: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("Resources"), dict):
        raise ValidationError(f"{source}: not a template (no Resources section)")
    resources: dict[str, Any] = document["Resources"]
    warnings: list[str] = []
    scope = _Scope(
        parameters=_parameters(document.get("Parameters") or {}, parameter_overrides or {}, source),
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
            out[key][name] = _text(value)
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
    scope: _Scope,
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
    scope: _Scope,
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
        except _Unresolvable as exc:
            warnings.append(
                f"{name}: environment variable {variable} is not set: {exc}"
                " (give it a value with --env-vars)"
            )
            continue
        if value is not _NO_VALUE:
            out[variable] = value
    return out


def _tenancy(name: str, config: Any, scope: _Scope) -> str | None:
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


# --- parameters and intrinsic functions ---------------------------------------------


class _Unresolvable(Exception):
    """A value the local service cannot know (the message says why)."""


class _NoValue:
    """``AWS::NoValue``: the variable is left out."""


_NO_VALUE: Any = _NoValue()


def _parameters(
    declared: Mapping[str, Any], overrides: Mapping[str, str], source: str
) -> dict[str, str]:
    unknown = [key for key in overrides if key not in declared]
    if unknown:
        raise ValidationError(
            f"--parameter-overrides: {source} has no parameter {', '.join(unknown)}"
            f" (it has: {', '.join(declared) or 'none'})"
        )
    values: dict[str, str] = {}
    for key, spec in declared.items():
        spec = spec if isinstance(spec, dict) else {}
        if key in overrides:
            value = overrides[key]
        elif "Default" in spec:
            default = spec["Default"]
            value = ",".join(map(_text, default)) if isinstance(default, list) else _text(default)
        else:
            raise ValidationError(
                f"{source}: parameter {key} has no Default: give it with"
                f" --parameter-overrides {key}=VALUE"
            )
        allowed = spec.get("AllowedValues")
        if isinstance(allowed, list) and value not in [_text(a) for a in allowed]:
            raise ValidationError(
                f"parameter {key}: {value!r} is not one of its AllowedValues:"
                f" {', '.join(map(_text, allowed))}"
            )
        values[key] = value
    return values


@dataclass(frozen=True, slots=True)
class _Scope:
    """What ``Ref`` and ``GetAtt`` resolve against."""

    parameters: Mapping[str, str]
    resources: Mapping[str, Any]
    region: str
    account: str

    def scalar(self, value: Any, where: str) -> str | None:
        """A property that must resolve to one value (None when absent)."""
        if value is None:
            return None
        try:
            resolved = self.resolve(value)
        except _Unresolvable as exc:
            raise ValidationError(f"{where}: {exc}") from None
        return None if resolved is _NO_VALUE else resolved

    def resolve(self, value: Any) -> Any:
        """A string (or ``_NO_VALUE``); raises ``_Unresolvable``."""
        if isinstance(value, str | int | float | bool):
            return _text(value)
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::GetAtt":
                parts = argument.split(".", 1) if isinstance(argument, str) else argument
                if not (isinstance(parts, list) and len(parts) == 2):
                    raise _Unresolvable(f"bad !GetAtt {argument!r}")
                return self._get_att(str(parts[0]), str(parts[1]))
            if function == "Fn::Sub":
                return self._sub(argument)
            if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
                delimiter, items = argument
                if isinstance(items, list):
                    return _text(delimiter).join(self.resolve(item) for item in items)
            raise _Unresolvable(f"{_tag(function)} is not supported locally")
        raise _Unresolvable(f"{value!r} is not a single value")

    def _ref(self, name: Any) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "local",
        }
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        resource = self.resources.get(name)
        if isinstance(resource, dict) and resource.get("Type") == SERVERLESS_FUNCTION:
            return str(name)  # a function's Ref is its name; locally the logical id
        if resource is not None:
            raise _Unresolvable(f"!Ref {name}: a {resource.get('Type')}, not created locally")
        raise _Unresolvable(f"!Ref {name}: no such parameter or resource")

    def _get_att(self, name: str, attribute: str) -> str:
        resource = self.resources.get(name)
        if not isinstance(resource, dict):
            raise _Unresolvable(f"!GetAtt {name}.{attribute}: no such resource")
        if resource.get("Type") == SERVERLESS_FUNCTION and attribute == "Arn":
            return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        raise _Unresolvable(
            f"!GetAtt {name}.{attribute}: only the Arn of the template's functions is known locally"
        )

    def _sub(self, argument: Any) -> str:
        variables: Mapping[str, Any] = {}
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            argument, variables = argument
        if not isinstance(argument, str):
            raise _Unresolvable(f"bad !Sub {argument!r}")

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                value = self.resolve(variables[name])
            elif "." in name and not name.startswith("AWS::"):
                value = self._get_att(*name.split(".", 1))
            else:
                value = self._ref(name)
            if value is _NO_VALUE:
                raise _Unresolvable(f"!Sub ${{{name}}}: AWS::NoValue in a string")
            return str(value)

        return _SUB_VARIABLE.sub(replace, argument)


class _TemplateLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML with CloudFormation's short tags: ``!Ref X`` -> ``{"Ref": "X"}``,
    ``!GetAtt A.B`` -> ``{"Fn::GetAtt": ["A", "B"]}``, ``!Name v`` -> ``{"Fn::Name": v}``."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _construct_tag)


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


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _whole(scope: _Scope, value: Any, where: str, *, most: int) -> int | None:
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


def _tag(function: str) -> str:
    return "!" + function.removeprefix("Fn::")


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
