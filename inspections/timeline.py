"""Everything that happened at a place, newest first: patrol scans, cleaning checks and their
scores, fit-out inspections and acceptances, and the tickets opened and closed there."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from foundation.org import Location
from inspections.checklists import ChecklistTemplate, TemplateKind, TemplateVersion
from inspections.records import Inspection
from tickets.models import Ticket

# What the filters offer, and which template kinds each shows.
STREAMS = {
    "patrol": [TemplateKind.PATROL],
    "cleaning": [TemplateKind.CLEANING, TemplateKind.CLEANING_TASK, TemplateKind.GREENING],
    "fitout": [TemplateKind.FITOUT, TemplateKind.HIDDEN_WORKS, TemplateKind.COMPLETION],
    "other": [TemplateKind.HANDOVER, TemplateKind.MOVEOUT, TemplateKind.SHIFT_HANDOVER],
    "tickets": [],
}


@dataclass(frozen=True)
class Entry:
    at: datetime
    stream: str
    inspection: Inspection | None = None
    ticket: Ticket | None = None
    closed: bool = False  # for a ticket: this entry is its closing


def timeline(session: Session, location: Location, streams: set[str], limit: int = 200) -> list[Entry]:
    """The newest ``limit`` entries at ``location`` and the places within it (a floor's areas)."""
    here = select(Location.id).where(or_(Location.id == location.id, Location.parent_id == location.id))
    entries: list[Entry] = []
    kinds = {kind: stream for stream in streams for kind in STREAMS.get(stream, [])}
    if kinds:
        rows = session.execute(
            select(Inspection, ChecklistTemplate.kind)
            .join(TemplateVersion, Inspection.template_version_id == TemplateVersion.id)
            .join(ChecklistTemplate, TemplateVersion.template_id == ChecklistTemplate.id)
            .where(Inspection.location_id.in_(here), ChecklistTemplate.kind.in_(list(kinds)))
            .order_by(Inspection.finished_at.desc())
            .limit(limit)
        ).all()
        entries += [Entry(inspection.finished_at, kinds[kind], inspection=inspection) for inspection, kind in rows]
    if "tickets" in streams:
        tickets = session.scalars(
            select(Ticket).where(Ticket.location_id.in_(here)).order_by(Ticket.created_at.desc()).limit(limit)
        ).all()
        entries += [Entry(t.created_at, "tickets", ticket=t) for t in tickets]
        entries += [Entry(t.closed_at, "tickets", ticket=t, closed=True) for t in tickets if t.closed_at]
    # A ticket opened by a check shares its moment: the check comes first, so (newest first) below.
    entries.sort(key=lambda e: (e.at, e.ticket is not None), reverse=True)
    return entries[:limit]
