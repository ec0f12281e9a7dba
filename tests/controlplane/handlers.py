"""Python handlers the control-plane tests map to Lambda function names."""

from __future__ import annotations

import json
from typing import Any


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Two-way: send the message back, prefixed."""
    return {"statusCode": 200, "body": "echo:" + (event.get("body") or "")}


def pong(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Two-way: answer ``pong`` with the function name the context carries."""
    return {"statusCode": 200, "body": json.dumps({"pong": context.function_name})}


async def connect(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """``$connect``: accept unless ``?deny=1``."""
    query = event.get("queryStringParameters") or {}
    return {"statusCode": 403 if query.get("deny") == "1" else 200}


def authorize(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """REQUEST authorizer: Allow when the token is ``good``."""
    token = (event.get("queryStringParameters") or {}).get("token")
    effect = "Allow" if token == "good" else "Deny"
    return {
        "principalId": "user",
        "policyDocument": {"Version": "2012-10-17", "Statement": [
            {"Action": "execute-api:Invoke", "Effect": effect, "Resource": event["methodArn"]}]},
        "context": {"who": "tester"},
    }
