"""Extensions, created unbound here and bound to the app in ``create_app``."""

import sqlite3

from flask import current_app, has_request_context, request
from flask_babel import Babel
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.pool import Pool

from foundation.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate(render_as_batch=True)
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()


@event.listens_for(Engine, "connect")
def _sqlite_connect(dbapi_connection, _record) -> None:
    """SQLite: WAL, foreign keys, a busy wait, and transactions that SQLAlchemy begins itself."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    # pysqlite's own BEGIN handling breaks SAVEPOINT; SQLAlchemy emits BEGIN below instead.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


@event.listens_for(Pool, "close")
def _sqlite_optimize(dbapi_connection, _record) -> None:
    """SQLite keeps its planner statistics fresh only when asked: as its manual advises for
    long-lived connections, a closing connection runs PRAGMA optimize (cheap, often nothing)."""
    if type(dbapi_connection).__module__ == "sqlite3":
        try:
            dbapi_connection.execute("PRAGMA optimize")
        except sqlite3.Error:  # a connection closed because it broke may not run anything
            pass


@event.listens_for(Engine, "begin")
def _begin(conn) -> None:
    """SQLite: a transaction that may write takes the database's one write lock up front
    (IMMEDIATE), so two writers wait for each other instead of one failing with "database is
    locked" when it upgrades a stale read; a page that only reads takes none, so that workers
    read side by side. PostgreSQL needs nothing: writers lock only the rows they write."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN" if _reads_only() else "BEGIN IMMEDIATE")


def _reads_only() -> bool:
    """A GET or HEAD to a view not marked ``writes_on_get`` (webapp.pages)."""
    if not has_request_context() or request.method not in ("GET", "HEAD"):
        return False
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    return view is not None and not getattr(view, "writes_on_get", False)
