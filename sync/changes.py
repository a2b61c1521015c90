"""The change log: every write to an entity that devices pull is recorded as it is flushed,
whoever made it (a web form, a synced mutation, the shell), and pulled by cursor."""

from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy import event, insert, inspect, or_, select
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
# An advisory lock held to the end of each writing transaction on PostgreSQL, so that change
# numbers are handed out in commit order and a pull never skips a change committed late.
CHANGE_LOCK_KEY = 0x5C4A_0001


def install(session_class) -> None:
    """Record changes for every session of ``session_class`` (called once by the app), and for
    the batches written with ``foundation.base.bulk_insert``."""
    if not event.contains(session_class, "after_flush", _record_changes):
        event.listen(session_class, "after_flush", _record_changes)
    if _record_bulk_insert not in BULK_INSERT_LISTENERS:
        BULK_INSERT_LISTENERS.append(_record_bulk_insert)


def _record_bulk_insert(session: Session, model: type, rows: list[dict]) -> None:
    tracked = TRACKED.get(model)
    if tracked is None:
        return
    entity, id_of, site_of = tracked
    _insert_changes(
        session,
        [
            {"entity": entity, "entity_id": str(id_of(session, row)), "op": "upsert", "site_id": site_of(session, row)}
            for row in (SimpleNamespace(**r) for r in rows)
        ],
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
    connection = session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({CHANGE_LOCK_KEY})")
    now = utcnow()
    connection.execute(insert(Change), [{**row, "changed_at": now} for row in rows])


def changes_since(session: Session, cursor: int, site_ids: list[int], limit: int) -> list[Change]:
    """Up to ``limit`` changes after ``cursor`` in these sites (and shared ones), oldest first."""
    return list(
        session.scalars(
            select(Change)
            .where(Change.seq > cursor, or_(Change.site_id.in_(site_ids), Change.site_id.is_(None)))
            .order_by(Change.seq)
            .limit(limit)
        )
    )
