"""What a device is told about each entity it may see: the ``data`` of a pulled change."""

from __future__ import annotations

import hashlib
import uuid
from collections import defaultdict
from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.org import Location, LocationKind, Site, User
from foundation.roles import PATROL
from inspections.checklists import ChecklistTemplate, current_version, upcoming_version
from inspections.fitout import FitoutProject
from inspections.patrol import PatrolRoute
from inspections.records import Assignment
from sync.changes import Cursor, changes_since
from tickets.models import Ticket
from tickets.queries import visible_tickets


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def site_data(site: Site, user: User) -> dict:
    return {"id": site.id, "site_id": site.id, "code": site.code, "name": site.name, "timezone": site.timezone}


def location_data(location: Location, user: User) -> dict:
    data = {
        "id": location.id,
        "site_id": location.site_id,
        "parent_id": location.parent_id,
        "kind": location.kind.value,
        "name": location.name,
        "full_name": location.full_name,
        "area_type": location.area_type,
    }
    if location.kind == LocationKind.CHECKPOINT:
        # Guards check the code on the phone, offline; others need not see it.
        data["qr_code"] = location.qr_code if user.role in PATROL else None
    return data


def template_data(template: ChecklistTemplate, user: User) -> dict | None:
    if not template.may_be_filled_by(user):
        return None
    session = Session.object_session(template)
    version = current_version(session, template)
    upcoming = upcoming_version(session, template)
    return {
        "id": template.id,
        "site_id": template.site_id,
        "kind": template.kind.value,
        "version": version.version,
        "title": template.title,
        "roles": template.roles,
        "area_type": template.area_type,
        "sections": version.definition["sections"],
        # Extension: a version published to take effect later, so a phone offline then switches itself.
        "upcoming": None
        if upcoming is None
        else {
            "version": upcoming.version,
            "effective_at": upcoming.effective_at.isoformat(),
            "sections": upcoming.definition["sections"],
        },
    }


def assignment_data(assignment: Assignment, user: User) -> dict | None:
    if assignment.assignee_id != user.id:
        return None
    return {
        "id": assignment.id,
        "site_id": assignment.site_id,
        "template_id": assignment.template_id,
        "location_id": assignment.location_id,
        "assignee_id": assignment.assignee_id,
        "due_on": assignment.due_on.isoformat(),
        "note": assignment.note,
        # A periodic task's window ends later than it begins (an extension: absent means due_on).
        "due_by": assignment.last_day.isoformat(),
        # A scheduled slot's time and when it turns late (extensions: null means the whole day).
        "due_at": _iso(assignment.due_at),
        "deadline": _iso(assignment.deadline),
    }


def route_data(route: PatrolRoute, user: User) -> dict | None:
    if user.role not in PATROL:
        return None
    return {
        "id": route.id,
        "site_id": route.site_id,
        "name": route.name,
        "schedule": route.schedule,
        "active": route.active,
        "checkpoint_ids": [c.location_id for c in route.stops],
        "checkpoints": [{"location_id": c.location_id, "template_id": c.template_id} for c in route.stops],
    }


def fitout_data(project: FitoutProject, user: User) -> dict:
    return {
        "id": project.id,
        "site_id": project.site_id,
        "unit_id": project.unit_id,
        "tenant": project.tenant.name if project.tenant else None,
        "contractor": project.contractor,
        "permit_number": project.permit_number,
        "starts_on": project.starts_on.isoformat(),
        "ends_on": project.ends_on.isoformat(),
        "drawings_ref": project.drawings_ref,
        "noisy_hours": project.noisy_hours,
        "state": project.state.value,
    }


def ticket_data(ticket: Ticket, user: User | None = None) -> dict:
    return {
        "id": str(ticket.id),
        "number": ticket.number,
        "kind": ticket.kind.value,
        "title": ticket.title,
        "description": ticket.description,
        "state": ticket.state.value,
        "version": ticket.version,
        "site_id": ticket.site_id,
        "location_id": ticket.location_id,
        "department_id": ticket.department_id,
        "assignee_id": ticket.assignee_id,
        "priority": ticket.priority.value,
        "due_at": _iso(ticket.due_at),
        "created_at": _iso(ticket.created_at),
        "updated_at": _iso(ticket.updated_at),
        "photos": [p.photo_sha256 for p in ticket.photos],
    }


# entity → (model, how its id is written, serializer returning None when the user may not see it)
ENTITIES: dict[str, tuple[type, Callable[[str], object], Callable]] = {
    "site": (Site, int, site_data),
    "location": (Location, int, location_data),
    "template": (ChecklistTemplate, int, template_data),
    "assignment": (Assignment, int, assignment_data),
    "route": (PatrolRoute, int, route_data),
    "fitout_project": (FitoutProject, int, fitout_data),
    "ticket": (Ticket, uuid.UUID, ticket_data),
}


def scope_of(user: User, site_ids: list[int]) -> str:
    """What decides which entities a person's device holds: their sites, role and department.
    When it changes, what they may see changed in ways the change log does not say (a site given
    brings its whole history), and their next pull starts over (SYNC.md: ``reset``)."""
    seen = f"{sorted(site_ids)}|{user.role}|{user.department_id}"
    return hashlib.sha256(seen.encode()).hexdigest()[:8]


def pull(
    session: Session, user: User, site_ids: list[int], cursor: Cursor, limit: int, *, fresh: bool = False
) -> tuple[list[dict], Cursor, bool]:
    """The changes after ``cursor`` that ``user`` may see, the next cursor, and whether more wait.
    A change to an entity of their sites that they may not see (now) is a ``delete``: a ticket
    reassigned out of their sight or an assignment given to someone else leaves their device. A
    ``fresh`` pull (a first sync, paging from the beginning) has nothing to delete and sends none."""
    rows = changes_since(session, cursor, site_ids, limit + 1)
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = (rows[-1].xact_id, rows[-1].seq) if rows else cursor
    latest = {}  # (entity, id) → the last change to it in this page: send each entity once
    for row in rows:
        latest.pop((row.entity, row.entity_id), None)
        latest[(row.entity, row.entity_id)] = row
    wanted: dict[str, list] = defaultdict(list)
    for (entity, entity_id), row in latest.items():
        if row.op == "upsert" and entity in ENTITIES:
            wanted[entity].append(ENTITIES[entity][1](entity_id))
    loaded = {}
    for entity, ids in wanted.items():
        model = ENTITIES[entity][0]
        query = select(model).where(model.id.in_(ids))
        if entity == "ticket":
            query = visible_tickets(user, site_ids).where(Ticket.id.in_(ids))
        for obj in session.scalars(query):
            loaded[(entity, str(obj.id))] = obj
    changes = []
    for (entity, entity_id), row in latest.items():
        if entity not in ENTITIES:
            continue
        obj = loaded.get((entity, entity_id))
        archived = isinstance(obj, Location) and obj.archived_at is not None
        data = ENTITIES[entity][2](obj, user) if row.op == "upsert" and obj is not None and not archived else None
        if data is None:  # deleted, archived, or out of this person's sight
            if fresh:
                continue
            # The id as its upserts give it (a number, or a ticket's UUID as text).
            same_id = entity_id if entity == "ticket" else ENTITIES[entity][1](entity_id)
            changes.append({"entity": entity, "id": same_id, "op": "delete", "version": row.seq, "data": {}})
            continue
        version = data["version"] if entity in ("ticket", "template") else row.seq
        changes.append({"entity": entity, "id": data["id"], "op": "upsert", "version": version, "data": data})
    return changes, next_cursor, has_more
