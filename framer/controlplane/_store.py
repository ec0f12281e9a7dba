"""Control-plane state in SQLite, and a ``Gateway`` that writes through to it.

Layout: one database, ``<state dir>/state.sqlite3``, with one table::

    resources(seq INTEGER PRIMARY KEY AUTOINCREMENT,
              api_id TEXT, kind TEXT, rid TEXT, body TEXT,   -- body is JSON
              UNIQUE (api_id, kind, rid))

``kind`` is ``api``, ``route``, ``integration``, ``integration_response``,
``route_response``, ``authorizer``, ``deployment`` (with the frozen snapshot it
serves) or ``stage``. ``seq`` keeps creation order (an update keeps its row),
so listings come back in the same order after a restart.

Writes: every mutating ``Gateway`` call, once it ends, tells its observers
which API it touched (``Gateway.observe``); the ``PersistentGateway`` then
writes the rows of that API that changed since the last write, in one ``BEGIN
IMMEDIATE`` transaction (WAL journal, ``synchronous=FULL``): a crash (even
SIGKILL) leaves either the state before the call or the state after it.
The gateway's re-entrant lock is held around the call and its write, so
concurrent control-plane calls (threads, or the server's event loop) cannot
interleave. A second ``framer serve`` on the same directory is refused (an
exclusive ``flock`` on ``<state dir>/lock``), since two writers would each hold
a different picture of the state.

Python handlers are never stored: an ``AWS_PROXY`` integration or authorizer
keeps its URI, and the function name in it is resolved again against the
``--function`` mappings when the state is loaded.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import os
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, NamedTuple, Optional, TypeVar, Union

from framer.router import (
    Api,
    AuthorizationType,
    Authorizer,
    Deployment,
    Gateway,
    Integration,
    IntegrationResponse,
    IntegrationType,
    LoggingLevel,
    Route,
    RouteResponse,
    RouteSettings,
    Snapshot,
    Stage,
)
from framer.router._gateway import GatewayChange
from framer.router._tables import ApiState

from ._errors import ControlPlaneError
from ._functions import FunctionRegistry, function_name

__all__ = ["StateStore", "PersistentGateway", "StateDirBusy", "StoredRow", "default_state_dir",
           "functions_in_state"]

SCHEMA_VERSION = 1
DB_NAME = "state.sqlite3"

_R = TypeVar("_R")


class StateDirBusy(ControlPlaneError, RuntimeError):
    """Another process holds the state directory."""


class StoredRow(NamedTuple):
    """One row of the ``resources`` table, its JSON body parsed."""

    api_id: str
    kind: str
    rid: str
    body: Any


_SELECT_ROWS = "SELECT api_id, kind, rid, body FROM resources ORDER BY seq"


def _stored_rows(db: sqlite3.Connection) -> list[StoredRow]:
    return [StoredRow(a, k, r, json.loads(b)) for a, k, r, b in db.execute(_SELECT_ROWS)]


#: The first 16 bytes of every SQLite 3 database file (sqlite.org/fileformat.html §1.3.1).
SQLITE_HEADER = b"SQLite format 3\x00"


def _check_database_file(path: Path) -> None:
    """``sqlite3.DatabaseError`` if *path* exists but is not a SQLite database.

    SQLite itself takes a zero-length file for a new, empty database, so a
    state file truncated to nothing would silently start with no APIs; it is
    refused like a corrupt one.  No file at all is a fresh state directory.
    """
    try:
        with open(path, "rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    if header != SQLITE_HEADER:
        what = "an empty file" if not header else "not a SQLite database"
        raise sqlite3.DatabaseError(f"file is not a database ({what})")


def default_state_dir() -> Path:
    """``$FRAMER_STATE_DIR`` if set, else ``./.framer`` (per project, like ``.terraform``)."""
    env = os.environ.get("FRAMER_STATE_DIR")
    return Path(env) if env else Path(".framer")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


# -- records <-> JSON -----------------------------------------------------------------

_DATES = frozenset({"created_date", "last_updated_date"})
_ENUMS: dict[str, type[enum.Enum]] = {
    "integration_type": IntegrationType,
    "authorization_type": AuthorizationType,
}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, RouteSettings):
        return encode(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def encode(record: Any) -> dict[str, Any]:
    """A record's fields as JSON-able data (handlers left out)."""
    return {f.name: _plain(getattr(record, f.name))
            for f in dataclasses.fields(record) if f.name != "handler"}


def _settings(data: Mapping[str, Any]) -> RouteSettings:
    kw = dict(data)
    if kw.get("logging_level") is not None:
        kw["logging_level"] = LoggingLevel(kw["logging_level"])
    return RouteSettings(**kw)


def decode(cls: type[_R], data: Mapping[str, Any]) -> _R:
    """The record ``encode`` gave ``data`` for (handlers not yet resolved)."""
    kw: dict[str, Any] = {}
    for key, value in data.items():
        if key in _DATES:
            value = datetime.fromisoformat(value)
        elif key in _ENUMS:
            value = _ENUMS[key](value)
        elif key == "default_route_settings":
            value = _settings(value)
        elif key == "route_settings":
            value = {k: _settings(v) for k, v in value.items()}
        elif key == "identity_source":
            value = tuple(value)
        kw[key] = value
    return cls(**kw)


def _dumps(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


class StateStore:
    """The SQLite file of one state directory (see the module docstring)."""

    def __init__(self, directory: Union[str, "os.PathLike[str]"]) -> None:
        self.directory = Path(directory)
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(f"cannot create state directory {self.directory}: "
                          f"{exc.strerror or exc}") from None
        self.path = self.directory / DB_NAME
        _check_database_file(self.path)
        self._lock_fd = self._take_lock()
        self._db = sqlite3.connect(str(self.path), isolation_level=None,
                                   check_same_thread=False)
        self._mutex = threading.Lock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(
            """
            CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS resources (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                api_id TEXT NOT NULL,
                kind TEXT NOT NULL,
                rid TEXT NOT NULL,
                body TEXT NOT NULL,
                UNIQUE (api_id, kind, rid)
            );
            """)
        row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif row[0] != str(SCHEMA_VERSION):
            raise RuntimeError(
                f"{self.path}: state schema version {row[0]}, this framer reads "
                f"version {SCHEMA_VERSION}")

    def _take_lock(self) -> Optional[int]:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows: no cross-process guard
            return None
        fd = os.open(str(self.directory / "lock"), os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StateDirBusy(
                f"state directory {self.directory} is in use by another framer "
                "process (give each server its own --state-dir)") from None
        return fd

    def rows(self) -> list[StoredRow]:
        """Every stored row, in creation order."""
        with self._mutex:
            return _stored_rows(self._db)

    @staticmethod
    def read_rows(directory: Union[str, "os.PathLike[str]"]) -> list[StoredRow]:
        """Every row of the state in ``directory`` (none if it has no database),
        read without taking the directory's lock, so while a server holds it."""
        path = Path(directory) / DB_NAME
        if not path.exists():
            return []
        try:
            _check_database_file(path)
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                return _stored_rows(db)
            finally:
                db.close()
        except sqlite3.Error as exc:
            raise ControlPlaneError(f"cannot read {path}: {exc}") from None

    def write(self, api_id: str, upserts: list[tuple[str, str, str]],
              deletes: list[tuple[str, str]]) -> None:
        """Apply one API's changed rows ``(kind, rid, body)`` and removed
        ``(kind, rid)`` in one transaction."""
        if not upserts and not deletes:
            return
        with self._mutex:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO resources (api_id, kind, rid, body) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (api_id, kind, rid) DO UPDATE SET body = excluded.body",
                    [(api_id, k, r, b) for k, r, b in upserts])
                db.executemany(
                    "DELETE FROM resources WHERE api_id = ? AND kind = ? AND rid = ?",
                    [(api_id, k, r) for k, r in deletes])
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def close(self) -> None:
        """Close the database and release the directory."""
        with self._mutex:
            self._db.close()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    def __enter__(self) -> "StateStore":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


# -- rows -> state --------------------------------------------------------------------

#: A Lambda function URI -> its Python handler (``None`` when not wanted).
Resolve = Callable[[Optional[str]], Any]

_LOAD_ORDER = ("api", "integration", "integration_response", "authorizer", "route",
               "route_response", "deployment", "stage")


def _integration(data: Mapping[str, Any], resolve: Resolve) -> Integration:
    integration = decode(Integration, data)
    if integration.integration_type is IntegrationType.AWS_PROXY:
        integration = dataclasses.replace(
            integration, handler=resolve(integration.integration_uri))
    return integration


def _authorizer(data: Mapping[str, Any], resolve: Resolve) -> Authorizer:
    authorizer = decode(Authorizer, data)
    return dataclasses.replace(authorizer, handler=resolve(authorizer.authorizer_uri))


def _snapshot(api_id: str, data: Mapping[str, Any], resolve: Resolve) -> Snapshot:
    routes = [decode(Route, r) for r in data["routes"]]
    return Snapshot(
        api_id=api_id,
        route_selection_expression=data["route_selection_expression"],
        routes={r.route_key: r for r in routes},
        integrations={i["integration_id"]: _integration(i, resolve)
                      for i in data["integrations"]},
        integration_responses={
            iid: {r["integration_response_id"]: decode(IntegrationResponse, r)
                  for r in items}
            for iid, items in data["integration_responses"].items()},
        route_responses={
            rid: {r["route_response_id"]: decode(RouteResponse, r) for r in items}
            for rid, items in data["route_responses"].items()},
        authorizers={a["authorizer_id"]: _authorizer(a, resolve)
                     for a in data["authorizers"]},
    )


def _put_child(table: dict[str, dict[str, _R]], rid: str, record: _R) -> None:
    """Store a response under its parent: ``rid`` is ``parentId/responseId``."""
    parent, child = rid.split("/", 1)
    table[parent][child] = record


def load_states(rows: list[StoredRow], resolve: Resolve) -> dict[str, ApiState]:
    """The APIs the stored rows describe, each Lambda URI's handler from ``resolve``."""
    states: dict[str, ApiState] = {}
    for api_id, kind, rid, body in sorted(rows, key=lambda row: _LOAD_ORDER.index(row.kind)):
        if kind == "api":
            states[api_id] = ApiState(decode(Api, body))
            continue
        state = states[api_id]
        if kind == "integration":
            state.integrations[rid] = _integration(body, resolve)
            state.integration_responses[rid] = {}
        elif kind == "integration_response":
            _put_child(state.integration_responses, rid, decode(IntegrationResponse, body))
        elif kind == "authorizer":
            state.authorizers[rid] = _authorizer(body, resolve)
        elif kind == "route":
            state.routes[rid] = decode(Route, body)
            state.route_responses[rid] = {}
        elif kind == "route_response":
            _put_child(state.route_responses, rid, decode(RouteResponse, body))
        elif kind == "deployment":
            state.deployments[rid] = decode(Deployment, body["deployment"])
            state.snapshots[rid] = _snapshot(api_id, body["snapshot"], resolve)
        elif kind == "stage":
            state.stages[rid] = decode(Stage, body)
    return states


def function_uses(states: Mapping[str, ApiState]) -> dict[str, list[str]]:
    """Lambda function name -> where the APIs use it: ``apiId/integrations/id``
    and ``apiId/authorizers/id``, and in deployments
    ``apiId/deployments/id/integrations/id`` and ``.../authorizers/id``."""
    out: dict[str, list[str]] = {}
    for api_id, state in states.items():
        places: list[tuple[str, Mapping[str, Integration], Mapping[str, Authorizer]]]
        places = [(api_id, state.integrations, state.authorizers)]
        places += [(f"{api_id}/deployments/{did}", snap.integrations, snap.authorizers)
                    for did, snap in state.snapshots.items()]
        for prefix, integrations, authorizers in places:
            uses = [(f"{prefix}/integrations/{i.integration_id}", i.integration_uri)
                    for i in integrations.values()
                    if i.integration_type is IntegrationType.AWS_PROXY]
            uses += [(f"{prefix}/authorizers/{a.authorizer_id}", a.authorizer_uri)
                     for a in authorizers.values()]
            for where, uri in uses:
                name = function_name(uri or "")
                if name is not None and where not in out.setdefault(name, []):
                    out[name].append(where)
    return out


class PersistentGateway(Gateway):
    """A ``Gateway`` whose state lives in a :class:`StateStore`.

    Built from the store's rows (every stage serves the deployment it served
    before), then every mutation is written through. ``functions`` resolves
    the Lambda function names of AWS_PROXY integrations and authorizers.
    """

    def __init__(self, store: StateStore, functions: FunctionRegistry,
                 *, clock: Callable[[], datetime] = _utc_now, **options: Any) -> None:
        super().__init__(clock=clock, lock=threading.RLock(), **options)
        self.store = store
        self.functions = functions
        self._saved: dict[str, dict[tuple[str, str], str]] = {}
        self._deployment_json: dict[tuple[str, str], str] = {}
        self._load()
        self.observe(self._write_through)

    def _load(self) -> None:
        states = load_states(self.store.rows(), self._handler)
        self._apis.update(states)
        for api_id in states:
            self._saved[api_id] = self._rows(api_id)

    def _handler(self, uri: Optional[str]) -> Any:
        return self.functions.resolve_uri(uri, "uri", strict=False)[1]

    # -- saving ------------------------------------------------------------------

    def _rows(self, api_id: str) -> dict[tuple[str, str], str]:
        state = self._apis.get(api_id)
        if state is None:
            return {}
        rows: dict[tuple[str, str], str] = {("api", api_id): _dumps(encode(state.api))}
        for iid, integration in state.integrations.items():
            rows[("integration", iid)] = _dumps(encode(integration))
            for rid, response in state.integration_responses.get(iid, {}).items():
                rows[("integration_response", f"{iid}/{rid}")] = _dumps(encode(response))
        for aid, authorizer in state.authorizers.items():
            rows[("authorizer", aid)] = _dumps(encode(authorizer))
        for route_id, route in state.routes.items():
            rows[("route", route_id)] = _dumps(encode(route))
            for rid, route_response in state.route_responses.get(route_id, {}).items():
                rows[("route_response", f"{route_id}/{rid}")] = _dumps(encode(route_response))
        for did, deployment in state.deployments.items():
            key = (api_id, did)
            text = self._deployment_json.get(key)
            if text is None:  # deployments are immutable: encode each once
                snap = state.snapshots[did]
                text = _dumps({
                    "deployment": encode(deployment),
                    "snapshot": {
                        "route_selection_expression": snap.route_selection_expression,
                        "routes": [encode(r) for r in snap.routes.values()],
                        "integrations": [encode(i) for i in snap.integrations.values()],
                        "integration_responses": {
                            k: [encode(r) for r in v.values()]
                            for k, v in snap.integration_responses.items()},
                        "route_responses": {
                            k: [encode(r) for r in v.values()]
                            for k, v in snap.route_responses.items()},
                        "authorizers": [encode(a) for a in snap.authorizers.values()],
                    },
                })
                self._deployment_json[key] = text
            rows[("deployment", did)] = text
        for name, stage in state.stages.items():
            rows[("stage", name)] = _dumps(encode(stage))
        return rows

    def _write_through(self, change: GatewayChange) -> None:
        self.save(change.api_id)

    def save(self, api_id: str) -> None:
        """Write the API's changed rows (all of them gone if it was deleted)."""
        with self.lock:
            rows = self._rows(api_id)
            old = self._saved.get(api_id, {})
            upserts = [(k, r, body) for (k, r), body in rows.items() if old.get((k, r)) != body]
            deletes = [key for key in old if key not in rows]
            self.store.write(api_id, upserts, deletes)
            if rows:
                self._saved[api_id] = rows
            else:
                self._saved.pop(api_id, None)
                for key in [k for k in self._deployment_json if k[0] == api_id]:
                    del self._deployment_json[key]

    def unmapped_functions(self) -> dict[str, list[str]]:
        """Function names the state uses with no ``--function`` mapping ->
        where (as :func:`function_uses` says)."""
        with self.lock:
            uses = function_uses(self._apis)
        return {name: places for name, places in uses.items() if name not in self.functions}


def functions_in_state(directory: Union[str, "os.PathLike[str]"]) -> dict[str, list[str]]:
    """:func:`function_uses` of the state in ``directory``, read without taking
    the directory's lock (so while a server holds it)."""
    return function_uses(load_states(StateStore.read_rows(directory), lambda uri: None))
