"""Errors in AWS's JSON form: boto3 raises the modeled exception for every code."""

from __future__ import annotations

import pytest
from botocore.parsers import RestJSONParser
from local_service_harness import lambda_client

from trio_durable.errors import ServiceError
from trio_durable.local.http.messages import error_response


@pytest.mark.parametrize("code", sorted(ServiceError.HTTP_STATUS))
def test_every_service_error_parses_as_its_modeled_exception(code: str) -> None:
    client = lambda_client("http://127.0.0.1:9")
    response = error_response(ServiceError(code, f"what went wrong: {code}"))
    parsed = RestJSONParser().parse(
        {
            "status_code": response.status,
            "headers": {k.decode(): v.decode() for k, v in response.headers},
            "body": response.body,
        },
        client.meta.service_model.operation_model("GetDurableExecution").output_shape,
    )
    assert parsed["Error"]["Code"] == code
    assert parsed["Error"]["Message"] == f"what went wrong: {code}"
    assert response.status == ServiceError.HTTP_STATUS[code]
    modeled = client.exceptions.from_code(code)
    assert modeled is getattr(client.exceptions, code)
