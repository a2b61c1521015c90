"""The change log: every write to an entity that devices pull is recorded as it is flushed,
whoever made it (a web form, a synced mutation, the shell), and pulled by cursor.

A pull must never skip a change that commits late, and writers must not wait for each other to
log theirs. On PostgreSQL each change carries the id of the transaction that wrote it
(``pg_current_xact_id()``, the column's default), and a pull hands out only changes of
transactions below the oldest one still running (of its own snapshot, this database's: HORIZON):
every such transaction has ended, so the set below that horizon never grows again, and changes
are handed out in ``(xact_id, seq)`` order with the last one handed out as the cursor. A slow
writer holds pulls back (they wait for the horizon to pass it), never other writers. On SQLite
writers take turns (``BEGIN IMMEDIATE``), the column is 0 and the order is ``seq``'s."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    Integer,
    String,
    any_,
    bindparam,
    cast,
    event,
    insert,
    inspect,
    literal,
    or_,
    select,
    text,
    tuple_,
)
from sqlalchemy.orm import Session

from foundation.base import BULK_INSERT_LISTENERS, utcnow
from foundation.org import Location, Site
from inspections.checklists import ChecklistTemplate, TemplateVersion
from inspections.fitout import FitoutProject
from inspections.patrol import PatrolRoute, RouteCheckpoint
from inspections.records import Assignment
from sync.models import Change
from tickets.models import Ticket

# Model → (entity name, the id of the entity that changed, its site or None for all sites).
# A child row (a template's version, a route's checkpoint) is a change of its parent.
TRACKED = {
    Site: ("site", lambda s, o: o.id, lambda s, o: o.id),
    Location: ("location", lambda s, o: o.id, lambda s, o: o.site_id),
    ChecklistTemplate: ("template", lambda s, o: o.id, lambda s, o: o.site_id),
    TemplateVersion: ("template", lambda s, o: o.template_id, lambda s, o: o.template.site_id),
    Assignment: ("assignment", lambda s, o: o.id, lambda s, o: o.site_id),
    PatrolRoute: ("route", lambda s, o: o.id, lambda s, o: o.site_id),
    RouteCheckpoint: ("route", lambda s, o: o.route_id, lambda s, o: s.get(PatrolRoute, o.route_id).site_id),
    FitoutProject: ("fitout_project", lambda s, o: o.id, lambda s, o: o.site_id),
    Ticket: ("ticket", lambda s, o: o.id, lambda s, o: o.site_id),
}
CHILDREN = (TemplateVersion, RouteCheckpoint)
# What devices never see: a write to only these is no change for them (a checklist's draft).
UNPULLED = {ChecklistTemplate: frozenset({"draft", "draft_base", "draft_updated_at"})}


def install(session_class) -> None:
    """Record changes for every session of ``session_class`` (called once by the app), and for
    the batches written with ``foundation.base.bulk_insert``."""
    if not event.contains(session_class, "after_flush", _record_changes):
        event.listen(session_class, "after_flush", _record_changes)
    if _record_bulk_insert not in BULK_INSERT_LISTENERS:
        BULK_INSERT_LISTENERS.append(_record_bulk_insert)


# What is written in bulk: entities with their own id and site (places, assignments).
BULK_WRITTEN = {Location, Assignment}


def _record_bulk_insert(session: Session, model: type, rows: list[dict]) -> None:
    """A change per row, copied by the database from the rows just written (one statement, not a
    row of parameters each: an import writes thousands)."""
    if model not in TRACKED:
        return
    if model not in BULK_WRITTEN:
        raise NotImplementedError(f"the change log of a bulk insert of {model.__name__}")
    table = model.__table__
    ids = [row["id"] for row in rows]
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        written = table.c.id.between(ids[0], ids[-1])  # foundation.base.bulk_insert numbers them without gaps
    else:
        written = table.c.id == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
    copied = select(
        literal(TRACKED[model][0]),
        cast(table.c.id, String),
        literal("upsert"),
        table.c.site_id,
        literal(utcnow(), Change.changed_at.type),
    )
    connection.execute(
        insert(Change).from_select(
            ["entity", "entity_id", "op", "site_id", "changed_at"], copied.where(written).order_by(table.c.id)
        )
    )


def _pulled_change(session: Session, obj) -> bool:
    if not session.is_modified(obj):
        return False
    unpulled = UNPULLED.get(type(obj), frozenset())
    return any(attr.history.has_changes() for attr in inspect(obj).attrs if attr.key not in unpulled)


def _record_changes(session: Session, _flush_context) -> None:
    pending: dict[tuple[str, str], dict] = {}
    dirty = session.dirty  # a new set at each access: taken once, so that the check below can name it
    for objects, op in ((session.new, "upsert"), (dirty, "upsert"), (session.deleted, "delete")):
        for obj in objects:
            tracked = TRACKED.get(type(obj))
            if tracked is None or (objects is dirty and not _pulled_change(session, obj)):
                continue
            entity, id_of, site_of = tracked
            entity_id = str(id_of(session, obj))
            pending[(entity, entity_id)] = {
                "entity": entity,
                "entity_id": entity_id,
                "op": "upsert" if isinstance(obj, CHILDREN) else op,
                "site_id": site_of(session, obj),
            }
    if pending:
        _insert_changes(session, list(pending.values()))


def _insert_changes(session: Session, rows: list[dict]) -> None:
    now = utcnow()
    session.connection().execute(insert(Change), [{**row, "changed_at": now} for row in rows])


def log_versions_taking_effect(session: Session, after: datetime, until: datetime) -> int:
    """A change for each template whose scheduled version took effect in ``(after, until]``: a
    pull already serves the version in effect, and this tells phones that pulled before to pull
    the template again. Returns how many versions."""
    rows = session.execute(
        select(TemplateVersion.template_id, ChecklistTemplate.site_id)
        .join(ChecklistTemplate, ChecklistTemplate.id == TemplateVersion.template_id)
        .where(TemplateVersion.effective_at > after, TemplateVersion.effective_at <= until)
    ).all()
    if rows:
        _insert_changes(
            session,
            [{"entity": "template", "entity_id": str(t), "op": "upsert", "site_id": site} for t, site in rows],
        )
    return len(rows)


# Where a pull is: after the change ``(xact_id, seq)``; (0, 0) is the beginning. Written
# ``c3.<xact_id>.<seq>.<scope>`` and ``….f`` while a first sync is still paging through from the
# beginning; the scope is what the person might see when it was handed out
# (sync.entities.scope_of): a cursor of another scope makes the next pull start over.
# ``c2.<xact_id>.<seq>`` (before scopes) and ``c1.<seq>`` (before transaction ids, when every
# change was logged under one lock: those rows have ``xact_id`` 0) are read without a scope.
Cursor = tuple[int, int]
CURSOR_PATTERN = r"^(c1\.[0-9]{1,18}|c2\.[0-9]{1,18}\.[0-9]{1,18}|c3\.[0-9]{1,18}\.[0-9]{1,18}\.[0-9a-f]{8}(\.f)?)?$"


@dataclass(frozen=True)
class PullCursor:
    position: Cursor = (0, 0)
    scope: str | None = None  # None: from the beginning, or a cursor from before scopes
    fresh: bool = True  # paging through a first sync: nothing on the device to delete yet

    def text(self) -> str:
        return f"c3.{self.position[0]}.{self.position[1]}.{self.scope}" + (".f" if self.fresh else "")


def read_cursor(text: str) -> PullCursor:
    """The cursor a device passed back (``CURSOR_PATTERN`` checked by the caller)."""
    if not text:
        return PullCursor()
    parts = text.split(".")
    if parts[0] == "c1":
        return PullCursor((0, int(parts[1])), fresh=False)
    position = (int(parts[1]), int(parts[2]))
    if parts[0] == "c2":
        return PullCursor(position, fresh=False)
    return PullCursor(position, parts[3], fresh=parts[-1] == "f")


# The oldest transaction still running, as the statement that reads the log sees them, that may
# write this log: a transaction of another database on the same server never does, and must not
# hold phones back (pg_snapshot_xmin alone would wait for it). Its id is left out only while
# pg_stat_activity shows it running elsewhere; an id it cannot place (ended since, or hidden
# from this role) still counts, so the horizon errs on the side of waiting.
HORIZON = text(
    """(SELECT coalesce(min(running::text::bigint), pg_snapshot_xmax(pg_current_snapshot())::text::bigint)
        FROM pg_snapshot_xip(pg_current_snapshot()) AS running
        WHERE running::text::bigint % 4294967296 NOT IN (
            SELECT backend_xid::text::bigint FROM pg_stat_activity
            WHERE backend_xid IS NOT NULL AND datname IS DISTINCT FROM current_database()))"""
)


HORIZON_LATE_S = 30  # pulls held back longer than this: a transaction is stuck (the console says so)


def horizon_age(session: Session) -> float | None:
    """How long, in seconds, pulls have been held back: the age of the oldest writing transaction
    still running on this database (0 when none). None on SQLite, where writers take turns and
    pulls wait for nobody."""
    if session.connection().dialect.name != "postgresql":
        return None
    oldest = session.scalar(
        text(
            """SELECT extract(epoch FROM clock_timestamp() - min(xact_start)) FROM pg_stat_activity
               WHERE datname = current_database() AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()"""
        )
    )
    return round(float(oldest or 0), 1)


def head(session: Session) -> Cursor:
    """The position after every change a pull can see now: a device that starts here is sent
    only what changes from now on (a transaction still running lands after it)."""
    if session.connection().dialect.name == "sqlite":
        query = select(Change.xact_id, Change.seq).where(Change.xact_id == 0).order_by(Change.seq.desc())
    else:
        query = select(Change.xact_id, Change.seq).where(Change.xact_id < HORIZON)
        query = query.order_by(Change.xact_id.desc(), Change.seq.desc())
    row = session.execute(query.limit(1)).first()
    return (row[0], row[1]) if row else (0, 0)


def changes_since(session: Session, cursor: Cursor, site_ids: list[int], limit: int) -> list[Change]:
    """Up to ``limit`` changes after ``cursor`` in these sites (and shared ones), oldest first,
    of transactions that have all ended."""
    in_sites = or_(Change.site_id.in_(site_ids), Change.site_id.is_(None))
    if session.connection().dialect.name == "sqlite":
        # Every change has xact_id 0 here: an equality and a range on seq, which the index serves
        # (SQLite does not range-scan it for the row-value comparison).
        after = Change.xact_id == 0, Change.seq > cursor[1]
    else:
        after = tuple_(Change.xact_id, Change.seq) > tuple_(*cursor), Change.xact_id < HORIZON
    query = select(Change).where(*after, in_sites).order_by(Change.xact_id, Change.seq).limit(limit)
    return list(session.scalars(query))
