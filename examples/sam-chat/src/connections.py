"""Connection ids of the chat, kept in a SQLite file so the example needs
nothing else installed.

On AWS the ids live in the DynamoDB table named by ``TABLE_NAME``. Here the
file is ``$CHAT_STORE`` (default: ``/tmp/<TABLE_NAME>.sqlite3``). Code that
uses a real table can run against DynamoDB Local instead: start it, set
``AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:8000`` and boto3's DynamoDB
client goes there with no change to the code.
"""

import os
import sqlite3


def _path():
    default = os.path.join("/tmp", os.environ.get("TABLE_NAME", "chat") + ".sqlite3")
    return os.environ.get("CHAT_STORE", default)


def _db():
    db = sqlite3.connect(_path(), timeout=10)
    db.execute("CREATE TABLE IF NOT EXISTS connections (connection_id TEXT PRIMARY KEY)")
    return db


def add(connection_id):
    with _db() as db:
        db.execute("INSERT OR REPLACE INTO connections VALUES (?)", (connection_id,))


def remove(connection_id):
    with _db() as db:
        db.execute("DELETE FROM connections WHERE connection_id = ?", (connection_id,))


def all_ids():
    with _db() as db:
        return [row[0] for row in db.execute("SELECT connection_id FROM connections")]
