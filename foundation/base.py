"""The declarative base every model shares, and the column types they use."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import DateTime, Enum, MetaData, TypeDecorator, func, insert, select
from sqlalchemy.orm import DeclarativeBase, Session, registry

# Named constraints, so Alembic can alter them on SQLite (batch mode) and PostgreSQL alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC timestamp on every database.

    SQLite has no time zones: values are stored as naive UTC and handed back aware,
    so code never compares a naive time with an aware one.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Base(DeclarativeBase):
    # Given as a registry (not class attributes) so Flask-SQLAlchemy can subclass the base.
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


# Rows written with one Core statement for speed (an import) bypass the ORM's flush, where the
# sync change log hears of every other write; whoever keeps such a log registers here
# (``sync.changes.install``) and is told of each such batch.
BULK_INSERT_LISTENERS: list[Callable[[Session, type, list[dict]], None]] = []


def bulk_insert(session: Session, model: type, rows: list[dict]) -> list[int]:
    """Insert ``rows`` with one statement (batched by the driver), return their ids in order and
    tell the listeners."""
    if not rows:
        return []
    empty = {key for key in rows[0] if all(row[key] is None for row in rows)}  # NULL anyway: not bound 5,000 times
    rows = [{k: v for k, v in row.items() if k not in empty} for row in rows]
    table = model.__table__  # a Core statement: the ORM's bulk path splices RETURNING rows quadratically
    connection = session.connection()
    # The ids first, then a plain executemany: RETURNING makes SQLite answer a row at a time and
    # psycopg rewrite a statement of thousands of parameters per batch.
    if connection.dialect.name == "sqlite":
        # A writing transaction holds SQLite's one write lock from its start (BEGIN IMMEDIATE,
        # webapp.extensions): the next ids are max + 1 onwards, without gaps.
        first = (connection.scalar(select(func.max(table.c.id))) or 0) + 1
        ids = list(range(first, first + len(rows)))
    else:  # taken from the table's sequence, as concurrent writers' are
        sequence = func.pg_get_serial_sequence(table.name, table.c.id.name)
        ids = list(connection.scalars(select(func.nextval(sequence)).select_from(func.generate_series(1, len(rows)))))
    written = [{**row, "id": row_id} for row, row_id in zip(rows, ids, strict=True)]
    connection.execute(insert(table), written)
    for listener in BULK_INSERT_LISTENERS:
        listener(session, model, written)
    return ids


def insert_if_absent(session: Session, model: type, **values) -> bool:
    """Insert one row unless one with its key is there (written meanwhile by another server):
    ``INSERT … ON CONFLICT DO NOTHING``. True if this call inserted it."""
    from sqlalchemy.dialects import postgresql, sqlite

    connection = session.connection()
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    table = model.__table__
    statement = dialect.insert(table).values(**values).on_conflict_do_nothing().returning(*table.primary_key.columns)
    return connection.execute(statement).first() is not None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def new_uuid() -> uuid.UUID:
    return uuid.uuid4()


def str_enum(enum_class: type[enum.Enum], length: int = 32) -> Enum:
    """A column holding an enum's values (not its names) as plain text, read back as the enum."""
    return Enum(
        enum_class,
        native_enum=False,
        length=length,
        validate_strings=True,
        values_callable=lambda members: [m.value for m in members],
    )


# Transaction locks on things that are not rows yet (PostgreSQL advisory locks), each space named
# once here. SQLite needs none: its writers take turns (webapp.extensions).
LOCK_SPACES = {
    "failures_at_place": 1,  # the tickets a check's failures open or join at one place
    "photos_of_person": 2,  # a person's upload and their record that names it (photo_reach)
    "assignments_of_site": 3,  # making a site's checks due from its schedules (inspections.schedules)
}


def hold_lock(session: Session, space: str, key: int) -> None:
    """Wait for, then hold until the transaction ends, the lock on ``key`` in ``space``."""
    if session.connection().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LOCK_SPACES[space], key)))
