"""The chat's handlers (connect, disconnect, send_message) in one module, as
Serverless services usually have them.

Connection ids are kept in a SQLite file (``$CHAT_STORE``, default
``/tmp/<TABLE_NAME>.sqlite3``) so the example needs nothing else installed;
on AWS they would be in the DynamoDB table ``TABLE_NAME``. For code that uses
a real table, run DynamoDB Local and set
``AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000``.
"""

import json
import os
import sqlite3

import boto3


def _store():
    path = os.environ.get("CHAT_STORE") or "/tmp/" + os.environ["TABLE_NAME"] + ".sqlite3"
    db = sqlite3.connect(path, timeout=10)
    db.execute("CREATE TABLE IF NOT EXISTS connections (connection_id TEXT PRIMARY KEY)")
    return db


def connect(event, context):
    with _store() as db:
        db.execute("INSERT OR REPLACE INTO connections VALUES (?)",
                   (event["requestContext"]["connectionId"],))
    return {"statusCode": 200}


def disconnect(event, context):
    with _store() as db:
        db.execute("DELETE FROM connections WHERE connection_id = ?",
                   (event["requestContext"]["connectionId"],))
    return {"statusCode": 200}


def send_message(event, context):
    request = event["requestContext"]
    client = boto3.client("apigatewaymanagementapi",
                          endpoint_url="https://" + request["domainName"] + "/" + request["stage"])
    message = json.loads(event["body"]).get("data", "")
    with _store() as db:
        ids = [row[0] for row in db.execute("SELECT connection_id FROM connections")]
    for connection_id in ids:
        try:
            client.post_to_connection(ConnectionId=connection_id, Data=message.encode())
        except client.exceptions.GoneException:
            with _store() as db:
                db.execute("DELETE FROM connections WHERE connection_id = ?", (connection_id,))
    return {"statusCode": 200}
