"""A SAM / CloudFormation template's values (sans-IO): parameter values, the
intrinsic functions the local service can resolve (``Ref`` of parameters, pseudo
parameters and functions; ``Fn::GetAtt F.Arn``; ``Fn::Sub``; ``Fn::Join``) and
the YAML loader that reads CloudFormation's short tags (``!Ref``, ``!Sub``...).
``local/template.py`` reads the template's functions with them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from trio_durable.errors import ValidationError

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Unresolvable(Exception):
    """A value the local service cannot know (the message says why)."""


class _NoValue:
    """``AWS::NoValue``: the variable is left out."""


NO_VALUE: Any = _NoValue()


def parameter_values(
    declared: Mapping[str, Any], overrides: Mapping[str, str], source: str
) -> dict[str, str]:
    """Each declared parameter's value: its ``--parameter-overrides`` value, else its
    Default; checked against its AllowedValues."""
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
            value = (
                ",".join(map(text_of, default)) if isinstance(default, list) else text_of(default)
            )
        else:
            raise ValidationError(
                f"{source}: parameter {key} has no Default: give it with"
                f" --parameter-overrides {key}=VALUE"
            )
        allowed = spec.get("AllowedValues")
        if isinstance(allowed, list) and value not in [text_of(a) for a in allowed]:
            raise ValidationError(
                f"parameter {key}: {value!r} is not one of its AllowedValues:"
                f" {', '.join(map(text_of, allowed))}"
            )
        values[key] = value
    return values


@dataclass(frozen=True, slots=True)
class Scope:
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
        except Unresolvable as exc:
            raise ValidationError(f"{where}: {exc}") from None
        return None if resolved is NO_VALUE else resolved

    def resolve(self, value: Any) -> Any:
        """A string (or ``NO_VALUE``); raises ``Unresolvable``."""
        if isinstance(value, str | int | float | bool):
            return text_of(value)
        if isinstance(value, dict) and len(value) == 1:
            ((function, argument),) = value.items()
            if function == "Ref":
                return self._ref(argument)
            if function == "Fn::GetAtt":
                parts = argument.split(".", 1) if isinstance(argument, str) else argument
                if not (isinstance(parts, list) and len(parts) == 2):
                    raise Unresolvable(f"bad !GetAtt {argument!r}")
                return self._get_att(str(parts[0]), str(parts[1]))
            if function == "Fn::Sub":
                return self._sub(argument)
            if function == "Fn::Join" and isinstance(argument, list) and len(argument) == 2:
                delimiter, items = argument
                if isinstance(items, list):
                    return text_of(delimiter).join(self.resolve(item) for item in items)
            raise Unresolvable(f"{_tag(function)} is not supported locally")
        raise Unresolvable(f"{value!r} is not a single value")

    def _ref(self, name: Any) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": "local",
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        resource = self.resources.get(name)
        if isinstance(resource, dict) and resource.get("Type") == SERVERLESS_FUNCTION:
            return str(name)  # a function's Ref is its name; locally the logical id
        if resource is not None:
            raise Unresolvable(f"!Ref {name}: a {resource.get('Type')}, not created locally")
        raise Unresolvable(f"!Ref {name}: no such parameter or resource")

    def _get_att(self, name: str, attribute: str) -> str:
        resource = self.resources.get(name)
        if not isinstance(resource, dict):
            raise Unresolvable(f"!GetAtt {name}.{attribute}: no such resource")
        if resource.get("Type") == SERVERLESS_FUNCTION and attribute == "Arn":
            return f"arn:aws:lambda:{self.region}:{self.account}:function:{name}"
        raise Unresolvable(
            f"!GetAtt {name}.{attribute}: only the Arn of the template's functions is known locally"
        )

    def _sub(self, argument: Any) -> str:
        variables: Mapping[str, Any] = {}
        if isinstance(argument, list) and len(argument) == 2 and isinstance(argument[1], dict):
            argument, variables = argument
        if not isinstance(argument, str):
            raise Unresolvable(f"bad !Sub {argument!r}")

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
            if value is NO_VALUE:
                raise Unresolvable(f"!Sub ${{{name}}}: AWS::NoValue in a string")
            return str(value)

        return _SUB_VARIABLE.sub(replace, argument)


class TemplateLoader(yaml.SafeLoader):  # type: ignore[misc]
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


TemplateLoader.add_multi_constructor("!", _construct_tag)


def text_of(value: Any) -> str:
    """A template scalar as the text CloudFormation makes of it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _tag(function: str) -> str:
    return "!" + function.removeprefix("Fn::")
