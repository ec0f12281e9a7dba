"""GetConnection's two JSON shapes: the CLI's and the wire's."""

from __future__ import annotations

from framer.router import ConnectionInfo


def test_the_cli_and_wire_shapes_of_one_connection() -> None:
    info = ConnectionInfo(connection_id="HXT_RfBnPHcCIIg=", stage="prod",
                          connected_at_ms=1542264549123, last_active_at_ms=1542264550000,
                          source_ip="203.0.113.9", user_agent="ua/1")
    assert info.to_dict() == {
        "ConnectedAt": "2018-11-15T06:49:09.123Z",
        "Identity": {"SourceIp": "203.0.113.9", "UserAgent": "ua/1"},
        "LastActiveAt": "2018-11-15T06:49:10.000Z"}
    assert info.to_wire() == {
        "connectedAt": "2018-11-15T06:49:09.123Z",
        "identity": {"sourceIp": "203.0.113.9", "userAgent": "ua/1"},
        "lastActiveAt": "2018-11-15T06:49:10.000Z"}


def test_no_user_agent_leaves_it_out() -> None:
    info = ConnectionInfo(connection_id="HXT_RfBnPHcCIIg=", stage="prod",
                          connected_at_ms=0, last_active_at_ms=0, source_ip="10.0.0.1")
    assert info.to_wire()["identity"] == {"sourceIp": "10.0.0.1"}
    assert info.to_dict()["Identity"] == {"SourceIp": "10.0.0.1"}
