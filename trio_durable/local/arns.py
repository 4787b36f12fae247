"""ARNs and unguessable identifiers of the local service.

Execution ARNs follow the shape of the service model's ``DurableExecutionArn``:
``arn:aws:lambda:REGION:ACCOUNT:function:NAME:$LATEST/durable-execution/EXEC/ID``.
Checkpoint tokens and callback ids carry at least 128 random bits from
``secrets``; a callback id is base32 text, which fits the model's
``CallbackId`` pattern and needs no escaping in a URL path.
"""

from __future__ import annotations

import base64
import re
import secrets
import uuid

from trio_durable.errors import invalid_parameter

_FUNCTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
_FUNCTION_ARN = re.compile(
    r"arn:[a-zA-Z0-9-]+:lambda:[a-zA-Z0-9-]+:\d{12}:function:([a-zA-Z0-9_-]+)(?::[^:/]+)?"
)
_QUALIFIED_NAME = re.compile(r"([a-zA-Z0-9_-]+):(?:\$LATEST|[0-9]+|[a-zA-Z0-9_-]+)")
EXECUTION_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
TENANT_ID = re.compile(r"[a-zA-Z0-9._:/=+\-@ ]{1,256}")
"""Invoke's TenantId (botocore's pattern and length)."""


def function_arn(region: str, account: str, function_name: str) -> str:
    return f"arn:aws:lambda:{region}:{account}:function:{function_name}:$LATEST"


def execution_arn(
    region: str, account: str, function_name: str, execution_name: str, execution_id: str
) -> str:
    return (
        f"{function_arn(region, account, function_name)}"
        f"/durable-execution/{execution_name}/{execution_id}"
    )


def function_name_of(value: str) -> str:
    """The bare function name of a name, ``name:qualifier`` or function ARN."""
    for pattern in (_FUNCTION_ARN, _QUALIFIED_NAME, _FUNCTION_NAME):
        match = pattern.fullmatch(value)
        if match is not None:
            return match.group(1) if pattern is not _FUNCTION_NAME else value
    raise invalid_parameter(
        f"FunctionName: {value!r} is not a function name (letters, digits, '-', '_'),"
        " a name:qualifier or a function ARN"
    )


def new_execution_id() -> str:
    return uuid.uuid4().hex


def new_execution_name() -> str:
    return str(uuid.uuid4())


def new_request_id() -> str:
    return str(uuid.uuid4())


def new_checkpoint_token() -> str:
    return secrets.token_urlsafe(32)


def new_callback_id() -> str:
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")
