"""Reading SAM templates: trio_durable.local.template (sans-IO, on template text)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trio_durable.errors import ValidationError
from trio_durable.local.template import (
    FunctionSpec,
    Template,
    load_template,
    parse_env_vars,
    parse_parameter_overrides,
    parse_template,
    shared_environment,
)

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage:
    Type: String
    Default: dev
    AllowedValues: [dev, prod]
  Suffix:
    Type: String
    Default: x
Globals:
  Function:
    Runtime: python3.13
    Timeout: 30
    MemorySize: 256
    Environment:
      Variables:
        STAGE: !Ref Stage
Resources:
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: orders/
      Handler: app.handler
      Timeout: 60
      DurableConfig:
        ExecutionTimeout: 3600
        RetentionPeriodInDays: 7
      Environment:
        Variables:
          TARGET: !Ref Payments
          TARGET_ARN: !GetAtt Payments.Arn
          WHERE: !Sub "${AWS::Region}/${AWS::AccountId}/${Stage}-${Suffix}/${!Literal}"
          PSEUDO: !Sub "${AWS::Partition} ${AWS::URLSuffix} ${AWS::StackName}"
          LONG_SUB: !Sub
            - "${Name}:${Payments.Arn}"
            - Name: !Ref Stage
          JOINED: !Join ["-", [a, !Ref Stage, 3]]
          FLAG: true
      Policies: [AWSLambdaBasicExecutionRole]
  Payments:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: payments
      Handler: pay.flows.main.handler
      DurableConfig:
        ExecutionTimeout: 60
      TenancyConfig:
        TenantIsolationMode: PER_TENANT
  Plain:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: orders/
      Handler: app.plain
  Table:
    Type: AWS::DynamoDB::Table
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    for folder in ("orders", "payments"):
        (tmp_path / folder).mkdir()
    return tmp_path


def _parse(text: str, project: Path, **options: object) -> Template:
    return parse_template(text, base_dir=project, source="template.yaml", **options)  # type: ignore[arg-type]


def test_durable_functions_with_globals_and_intrinsics(project: Path) -> None:
    template = _parse(TEMPLATE, project)
    assert [spec.name for spec in template.functions] == ["Orders", "Payments"]
    orders = template.function("Orders")
    assert orders.code_dir == project / "orders"
    assert orders.runtime == "python3.13"  # from Globals
    assert orders.timeout_seconds == 60  # the function's own wins over Globals
    assert orders.execution_timeout_seconds == 3600
    assert orders.retention_period_days == 7
    assert orders.tenant_isolation_mode is None
    assert dict(orders.environment) == {
        "STAGE": "dev",  # Globals' variables merge with the function's
        "TARGET": "Payments",
        "TARGET_ARN": "arn:aws:lambda:us-east-1:123456789012:function:Payments",
        "WHERE": "us-east-1/123456789012/dev-x/${Literal}",
        "PSEUDO": "aws amazonaws.com local",
        "LONG_SUB": "dev:arn:aws:lambda:us-east-1:123456789012:function:Payments",
        "JOINED": "a-dev-3",
        "FLAG": "true",
    }
    payments = template.function("Payments")
    assert payments.timeout_seconds == 30  # Globals
    assert payments.retention_period_days is None  # the service's (14 days by default)
    assert payments.tenant_isolation_mode == "PER_TENANT"
    assert dict(payments.environment) == {"STAGE": "dev"}


def test_handler_targets(project: Path) -> None:
    template = _parse(TEMPLATE, project)
    # A top-level module loads as a file, so each CodeUri may have its own app.py.
    assert template.function("Orders").target == f"{project / 'orders' / 'app.py'}:handler"
    assert template.function("Payments").target == "pay.flows.main:handler"


def test_warnings_name_what_is_not_applied(project: Path) -> None:
    warnings = _parse(TEMPLATE, project).warnings
    assert "not served (no DurableConfig): Plain" in warnings
    assert "property MemorySize is not applied locally (Orders, Payments)" in warnings
    assert "property Policies is not applied locally (Orders)" in warnings


def test_region_and_account_shape_arns(project: Path) -> None:
    template = _parse(TEMPLATE, project, region="eu-west-1", account="000000000001")
    env = template.function("Orders").environment
    assert env["TARGET_ARN"] == "arn:aws:lambda:eu-west-1:000000000001:function:Payments"


def test_parameter_overrides(project: Path) -> None:
    one_argument = parse_parameter_overrides(["Stage=prod ParameterKey=Suffix,ParameterValue=y"])
    assert one_argument == {"Stage": "prod", "Suffix": "y"}
    overrides = parse_parameter_overrides(["Stage=prod", "ParameterKey=Suffix,ParameterValue=y"])
    assert overrides == {"Stage": "prod", "Suffix": "y"}
    env = _parse(TEMPLATE, project, parameter_overrides=overrides).function("Orders").environment
    assert env["WHERE"] == "us-east-1/123456789012/prod-y/${Literal}"
    quoted = parse_parameter_overrides(["Suffix='a b' Stage=dev"])
    assert quoted == {"Suffix": "a b", "Stage": "dev"}


def test_parameter_errors(project: Path) -> None:
    with pytest.raises(ValidationError, match="bad --parameter-overrides 'Stage'"):
        parse_parameter_overrides(["Stage"])
    with pytest.raises(ValidationError, match=r"no parameter Nope \(it has: Stage, Suffix\)"):
        _parse(TEMPLATE, project, parameter_overrides={"Nope": "1"})
    with pytest.raises(ValidationError, match="'test' is not one of its AllowedValues: dev, prod"):
        _parse(TEMPLATE, project, parameter_overrides={"Stage": "test"})
    no_default = TEMPLATE.replace("    Default: x\n", "")
    with pytest.raises(ValidationError, match="parameter Suffix has no Default"):
        _parse(no_default, project)


def test_env_vars_override_like_sam_local(project: Path) -> None:
    env_vars = parse_env_vars(
        json.dumps(
            {
                "Parameters": {"STAGE": "local", "UNDECLARED_GLOBAL": "1"},
                "Orders": {"TARGET": "Other", "EXTRA": 5},
                "Plain": {"X": "1"},
                "Ghost": {"X": "1"},
            }
        )
    )
    template = _parse(TEMPLATE, project, env_vars=env_vars)
    orders = template.function("Orders").environment
    assert orders["STAGE"] == "local"  # Parameters: every function
    assert orders["TARGET"] == "Other"  # the function's own object wins
    assert "EXTRA" not in orders and "UNDECLARED_GLOBAL" not in orders  # as sam local
    assert template.function("Payments").environment["STAGE"] == "local"
    warnings = template.warnings
    assert (
        "--env-vars: Orders: EXTRA not declared in the template's Environment:"
        " not set (as with sam local)"
    ) in warnings
    assert (
        "--env-vars: 'Plain' names a function that is not served: its variables are not used"
        in (warnings)
    )
    assert "--env-vars: 'Ghost' names no function: its variables are not used" in warnings


def test_env_vars_file_errors() -> None:
    with pytest.raises(ValidationError, match="--env-vars: not valid JSON"):
        parse_env_vars("{")
    with pytest.raises(ValidationError, match="--env-vars: expected"):
        parse_env_vars('{"Parameters": 1}')
    with pytest.raises(ValidationError, match=r"Orders.X must be a string or number"):
        parse_env_vars('{"Orders": {"X": [1]}}')


UNRESOLVABLE = """
Resources:
  Flow:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      DurableConfig: {ExecutionTimeout: 60}
      Environment:
        Variables:
          TABLE: !Ref Table
          TABLE_ARN: !GetAtt Table.Arn
          IMPORTED: !ImportValue shared-bucket
          GONE: !Ref AWS::NoValue
          KEPT: plain
  Table:
    Type: AWS::DynamoDB::Table
"""


def test_unresolvable_variables_are_warned_and_left_unset(project: Path) -> None:
    template = _parse(UNRESOLVABLE, project)
    flow = template.function("Flow")
    assert dict(flow.environment) == {"KEPT": "plain"}
    assert flow.timeout_seconds == 3  # Lambda's default timeout
    assert flow.code_dir == project  # no CodeUri: the template's folder
    hint = " (give it a value with --env-vars)"
    assert (
        "Flow: environment variable TABLE is not set:"
        " !Ref Table: a AWS::DynamoDB::Table, not created locally" + hint
    ) in template.warnings
    assert (
        "Flow: environment variable TABLE_ARN is not set: !GetAtt Table.Arn: only the Arn of"
        " the template's functions is known locally" + hint
    ) in template.warnings
    assert (
        "Flow: environment variable IMPORTED is not set: !ImportValue is not supported locally"
        + hint
    ) in template.warnings
    # --env-vars supplies what the template cannot: no warning then.
    given = _parse(UNRESOLVABLE, project, env_vars={"Flow": {"TABLE": "orders-local"}})
    assert given.function("Flow").environment["TABLE"] == "orders-local"
    assert not any("TABLE is not set" in warning for warning in given.warnings)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("Timeout: 901", "Flow: Timeout: 901 is not from 1 to 900"),
        ("Timeout: soon", "Flow: Timeout: 'soon' is not a whole number"),
        ("Handler: app", "Flow: Handler 'app' is not 'module.function'"),
        ("CodeUri: missing/", "Flow: CodeUri folder '.*missing' does not exist"),
        ("CodeUri: {Bucket: b, Key: k}", "Flow: CodeUri must be a local folder"),
        ("TenancyConfig: {TenantIsolationMode: SHARED}", "must be PER_TENANT, got 'SHARED'"),
        ("Runtime: !Ref Nope", "Flow: Runtime: !Ref Nope: no such parameter or resource"),
    ],
)
def test_bad_properties(project: Path, change: str, message: str) -> None:
    key = change.split(":", 1)[0]
    lines = [line for line in SMALL.splitlines() if not line.strip().startswith(f"{key}:")]
    text = "\n".join(lines) + f"\n      {change}\n"
    with pytest.raises(ValidationError, match=message):
        _parse(text, project)


SMALL = """
Resources:
  Flow:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Handler: app.handler
      Timeout: 10
      DurableConfig: {ExecutionTimeout: 60}
"""


def test_durable_config_checks(project: Path) -> None:
    no_timeout = SMALL.replace("{ExecutionTimeout: 60}", "{RetentionPeriodInDays: 3}")
    with pytest.raises(ValidationError, match=r"Flow: DurableConfig.ExecutionTimeout is required"):
        _parse(no_timeout, project)
    too_long = SMALL.replace(
        "{ExecutionTimeout: 60}", "{ExecutionTimeout: 60, RetentionPeriodInDays: 91}"
    )
    with pytest.raises(ValidationError, match="RetentionPeriodInDays: 91 is not from 1 to 90"):
        _parse(too_long, project)
    extra = SMALL.replace("{ExecutionTimeout: 60}", "{ExecutionTimeout: 60, Mode: fast}")
    assert "Flow: DurableConfig.Mode is not applied locally" in _parse(extra, project).warnings
    kms = SMALL + "      Environment: {Variables: {A: b}, KMSKeyArn: k}\n"
    assert "Flow: Environment.KMSKeyArn is not applied locally" in _parse(kms, project).warnings


def test_functions_that_are_not_served(project: Path) -> None:
    text = (
        SMALL
        + """
  Node:
    Type: AWS::Serverless::Function
    Properties: {Runtime: nodejs22.x, Handler: index.handler, DurableConfig: {ExecutionTimeout: 9}}
  Raw:
    Type: AWS::Lambda::Function
    Properties: {Runtime: python3.12, Handler: a.b, DurableConfig: {ExecutionTimeout: 9}}
"""
    )
    template = _parse(text, project)
    assert [spec.name for spec in template.functions] == ["Flow"]
    assert "Node: not served: Runtime 'nodejs22.x' is not a Python runtime" in template.warnings
    assert (
        "Raw: not served: AWS::Lambda::Function resources are not read"
        " (describe it as an AWS::Serverless::Function)"
    ) in template.warnings
    with pytest.raises(ValidationError, match="has no durable function 'Node'; it has: Flow"):
        template.function("Node")


def test_not_a_template(project: Path) -> None:
    with pytest.raises(ValidationError, match=r"template.yaml: not a valid YAML or JSON template"):
        _parse("Resources: [", project)
    with pytest.raises(ValidationError, match=r"template.yaml: not a template"):
        _parse("- 1", project)
    with pytest.raises(ValidationError, match=r"template.yaml: Globals must be a mapping"):
        _parse("Globals: [1]\n" + SMALL, project)
    with pytest.raises(
        ValidationError, match=r"template.yaml: Flow: Properties must be a mapping, not list"
    ):
        _parse(SMALL.replace("    Properties:", "    Properties: [1]\n    Other:"), project)
    only_plain = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties: {}\n"
    with pytest.raises(ValidationError, match=r"no durable function to serve(.|\n)*F"):
        _parse(only_plain, project)


def test_json_templates_and_long_form_intrinsics(project: Path) -> None:
    document = {
        "Resources": {
            "A": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "Runtime": "python3.11",
                    "Handler": "app.handler",
                    "DurableConfig": {"ExecutionTimeout": {"Ref": "Limit"}},
                    "Environment": {
                        "Variables": {"SELF": {"Fn::GetAtt": "A.Arn"}, "N": {"Fn::Sub": "${A}"}}
                    },
                },
            }
        },
        "Parameters": {"Limit": {"Type": "Number", "Default": 120}},
    }
    spec = _parse(json.dumps(document), project).function("A")
    assert spec.execution_timeout_seconds == 120
    assert dict(spec.environment) == {
        "SELF": "arn:aws:lambda:us-east-1:123456789012:function:A",
        "N": "A",
    }


def test_resource_condition_is_warned(project: Path) -> None:
    text = SMALL.replace(
        "    Type: AWS::Serverless::Function",
        "    Type: AWS::Serverless::Function\n    Condition: IsProd",
    )
    warnings = _parse(text, project).warnings
    assert "Flow: its Condition 'IsProd' is not evaluated: the function is served" in warnings


def _spec(name: str, **environment: str) -> FunctionSpec:
    return FunctionSpec(
        name=name,
        handler="app.handler",
        code_dir=Path("."),
        runtime="python3.12",
        environment=environment,
        timeout_seconds=3,
        execution_timeout_seconds=60,
        retention_period_days=14,
    )


def test_shared_environment() -> None:
    assert shared_environment([_spec("A", X="1", Y="2"), _spec("B", X="1", Z="3")]) == {
        "X": "1",
        "Y": "2",
        "Z": "3",
    }
    with pytest.raises(ValidationError, match=r"X is '1' in A and '2' in B.*--invoker subprocess"):
        shared_environment([_spec("A", X="1"), _spec("B", X="2")])


def test_load_template_reads_files(project: Path) -> None:
    (project / "template.yaml").write_text(
        SMALL.replace("Timeout: 10", "Timeout: 10\n      Environment: {Variables: {V: t}}")
    )
    (project / "env.json").write_text('{"Flow": {"V": "from-file"}}')
    template = load_template(project / "template.yaml", env_vars_file=project / "env.json")
    assert template.function("Flow").environment == {"V": "from-file"}
    assert template.function("Flow").code_dir == project
    with pytest.raises(ValidationError, match=r"cannot read template '.*nope.yaml'"):
        load_template(project / "nope.yaml")
