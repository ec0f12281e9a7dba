"""Handlers and a router for tests/server/test_functions.py, written as a
user writes them for Lambda; ``framer serve functions_api:router`` (in a copy
of this directory) serves them."""

import ctypes
import json
import os
import time

import boto3


def onconnect(event, context):
    query = event.get("queryStringParameters") or {}
    if "slow" in query:
        time.sleep(5)  # past this function's 1 s timeout
    if "boom" in query:
        raise ValueError("refused by the handler")
    print("connect", event["requestContext"]["connectionId"])
    return {"statusCode": 200}


def echo(event, context):
    print("echo stdout")
    return {"statusCode": 200, "body": event.get("body") or ""}


async def aecho(event, context):
    return {"statusCode": 200, "body": event.get("body") or ""}


def env(event, context):
    keys = ["AWS_REGION", "AWS_DEFAULT_REGION", "AWS_LAMBDA_FUNCTION_NAME",
            "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "TZ", "_HANDLER",
            "LAMBDA_TASK_ROOT", "AWS_EXECUTION_ENV", "GREETING"]
    return {"statusCode": 200, "body": json.dumps({
        "env": {k: os.environ.get(k) for k in keys}, "pid": os.getpid(),
        "arn": context.invoked_function_arn, "name": context.function_name,
        "memory": context.memory_limit_in_mb, "remaining": context.get_remaining_time_in_millis(),
        "domainName": event["requestContext"]["domainName"]})}


def boom(event, context):
    raise KeyError("no such thing")


def sleep(event, context):
    with open(os.environ["PID_DIR"] + f"/{os.getpid()}", "w"):
        pass
    time.sleep(60)


def crash(event, context):
    if json.loads(event["body"])["how"] == "segfault":
        ctypes.string_at(0)
    os._exit(1)


def big(event, context):
    return {"statusCode": 200, "body": "x" * 200_000}


async def abig(event, context):
    return {"statusCode": 200, "body": "x" * 200_000}


def version(event, context):
    return {"statusCode": 200, "body": "v1"}


def bigpost(event, context):
    rc = event["requestContext"]
    api = boto3.client("apigatewaymanagementapi",
                       endpoint_url="https://" + rc["domainName"] + "/" + rc["stage"])
    try:
        api.post_to_connection(ConnectionId=rc["connectionId"], Data=b"y" * 200_000)
    except api.exceptions.PayloadTooLargeException as exc:
        return {"statusCode": 200, "body": "413 " + type(exc).__name__}
    return {"statusCode": 200, "body": "posted"}
