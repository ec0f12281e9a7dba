"""Answers who is connected: the authorizer's context and the stage."""

import json


def handler(event, context):
    request = event["requestContext"]
    return {"statusCode": 200,
            "body": json.dumps({"user": request["authorizer"]["user"], "stage": request["stage"]})}
