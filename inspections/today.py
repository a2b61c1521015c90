"""What a person has to do today, and what they may start."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from foundation.org import Location, LocationKind, Site, User
from inspections.checklists import ChecklistTemplate, TemplateKind
from inspections.records import Assignment, Inspection


def local_day(site: Site, now: datetime) -> date:
    return now.astimezone(ZoneInfo(site.timezone)).date()


@dataclass(frozen=True)
class DueItem:
    assignment: Assignment
    done: bool


def assignments_due(session: Session, user: User, site: Site, day: date) -> list[DueItem]:
    """Today's assignments, and earlier ones still not done."""
    done = exists().where(Inspection.assignment_id == Assignment.id)
    rows = session.execute(
        select(Assignment, done.label("done"))
        .where(Assignment.assignee_id == user.id, Assignment.site_id == site.id, Assignment.due_on <= day)
        .where((Assignment.due_on == day) | ~done)
        .order_by(Assignment.due_on, Assignment.id)
    ).all()
    return [DueItem(assignment, bool(is_done)) for assignment, is_done in rows]


def startable_templates(session: Session, user: User, site: Site) -> list[ChecklistTemplate]:
    """Checklists this person may start at this site, whether assigned or not (a periodic
    task's record is only ever started from its assignment)."""
    templates = session.scalars(
        select(ChecklistTemplate)
        .where(
            ChecklistTemplate.active,
            (ChecklistTemplate.site_id.is_(None)) | (ChecklistTemplate.site_id == site.id),
            ChecklistTemplate.kind != TemplateKind.CLEANING_TASK,
        )
        .order_by(ChecklistTemplate.kind, ChecklistTemplate.id)
    )
    return [t for t in templates if t.may_be_filled_by(user)]


def locations_for(session: Session, template: ChecklistTemplate, site: Site) -> list[Location]:
    """Where a checklist applies: units for unit checklists, else areas of its area type."""
    query = select(Location).where(Location.site_id == site.id, Location.archived_at.is_(None)).order_by(Location.id)
    if template.area_type == LocationKind.UNIT.value:
        query = query.where(Location.kind == LocationKind.UNIT)
    elif template.area_type == LocationKind.CHECKPOINT.value:
        query = query.where(Location.kind == LocationKind.CHECKPOINT)
    else:
        query = query.where(Location.area_type == template.area_type)
    return list(session.scalars(query))


def recent_inspections(session: Session, user: User, limit: int = 10) -> list[Inspection]:
    return list(
        session.scalars(
            select(Inspection)
            .where(Inspection.inspector_id == user.id)
            .order_by(Inspection.received_at.desc())
            .limit(limit)
        )
    )
