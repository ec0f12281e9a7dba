"""A state file that is not SQLite is refused (issue 14, item 5).

SQLite takes a zero-length file for a new database, so a state file truncated
to nothing started silently with 0 APIs; now it, and any file without SQLite's
header, gets the same one-line error as a corrupt database.  An empty state
directory still starts fresh.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from framer.cli import main
from framer.controlplane import open_gateway


@pytest.mark.parametrize("content", [b"", b"SQLite format 2\x00" + b"\x00" * 200,
                                     b"this is not a database" * 100])
def test_a_non_sqlite_state_file_is_refused_as_a_corrupt_one(tmp_path: Path, capsys: Any,
                                                             content: bytes) -> None:
    state = tmp_path / "state.sqlite3"
    state.write_bytes(content)
    assert main(["serve", "--state-dir", str(tmp_path), "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err == f"framer: error: cannot open state in {tmp_path}: file is not a database " \
                  f"({'an empty file' if not content else 'not a SQLite database'})\n"
    assert main(["functions", "--state-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"framer: error: cannot read {state}: file is not a database")
    assert state.read_bytes() == content  # left as it was


def test_an_empty_state_dir_starts_fresh_and_keeps_what_it_made(tmp_path: Path) -> None:
    app = open_gateway(tmp_path)
    try:
        assert app.gateway.get_apis() == []
        app.gateway.create_api(name="kept", route_selection_expression="$request.body.action")
    finally:
        app.close()
    assert (tmp_path / "state.sqlite3").read_bytes().startswith(b"SQLite format 3\x00")
    again = open_gateway(tmp_path)
    try:
        assert [a.name for a in again.gateway.get_apis()] == ["kept"]
    finally:
        again.close()
