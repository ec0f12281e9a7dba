"""The chat's three Lambda handlers, as they run on AWS."""

import json

import boto3

import connections


def on_connect(event, context):
    connections.add(event["requestContext"]["connectionId"])
    return {"statusCode": 200, "body": "Connected."}


def on_disconnect(event, context):
    connections.remove(event["requestContext"]["connectionId"])
    return {"statusCode": 200, "body": "Disconnected."}


def send_message(event, context):
    request = event["requestContext"]
    api = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url="https://" + request["domainName"] + "/" + request["stage"],
    )
    data = json.loads(event.get("body") or "{}").get("data", "")
    for connection_id in connections.all_ids():
        try:
            api.post_to_connection(ConnectionId=connection_id, Data=data.encode("utf-8"))
        except api.exceptions.GoneException:
            connections.remove(connection_id)
    return {"statusCode": 200, "body": "Data sent."}
