"""Years of made-up history for a demo world: tickets of every kind and inspections spread over
the past, most of them long closed. For the manager's console to have something to show in a
demo, and for benchmarks at 100,000 tickets and 200,000 inspections. Written with bulk Core
inserts (no sync change log, no webhooks: this is history, not news)."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from foundation.org import Department, Location, LocationKind, Site, user_site
from inspections.checklists import ChecklistTemplate, TemplateKind, TemplateVersion
from inspections.cleaning_scores import CheckKind
from inspections.records import Inspection
from tickets.models import Priority, Ticket, TicketEvent, TicketKind
from tickets.services import DEFAULT_DEPARTMENT
from tickets.states import TicketState

MARK = "-H"  # in the number of every generated ticket: BY-20250314-H000123
CHUNK = 5_000
KINDS = [
    (TicketKind.REPAIR, 35),
    (TicketKind.REWORK, 25),
    (TicketKind.HAZARD, 20),
    (TicketKind.COMPLAINT, 15),
    (TicketKind.VIOLATION, 5),
]
HOURS = {Priority.LOW: 72, Priority.NORMAL: 24, Priority.HIGH: 8, Priority.URGENT: 2}
TITLES = {
    TicketKind.REPAIR: ["灯不亮", "水龙头漏水", "空调不制冷", "门禁刷卡无反应", "卫生间下水慢"],
    TicketKind.REWORK: ["地面有水渍", "垃圾桶未清理", "镜面有污迹", "有异味"],
    TicketKind.HAZARD: ["消防通道堆放杂物", "应急灯不亮", "井盖松动", "灭火器压力不足"],
    TicketKind.COMPLAINT: ["空调噪音大", "电梯等候时间长", "保洁不及时", "停车收费有疑问"],
    TicketKind.VIOLATION: ["未按报审图纸施工", "动火未办理动火证", "施工垃圾未清运"],
}


def has_history(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(Ticket).where(Ticket.number.contains(MARK))) > 0


def generate_history(
    session: Session, *, tickets: int, inspections: int, now: datetime, days: int = 730, seed: int = 2026
) -> None:
    """Spread ``tickets`` and ``inspections`` over the ``days`` before ``now`` across every site.
    About 3% of the old tickets are still open (the overdue tail a console must surface)."""
    rng = random.Random(seed)
    sites = list(session.scalars(select(Site).order_by(Site.id)))
    departments = {d.code: d.id for d in session.scalars(select(Department))}
    places = {
        s.id: list(
            session.scalars(
                select(Location.id).where(
                    Location.site_id == s.id, Location.kind.in_([LocationKind.UNIT, LocationKind.AREA])
                )
            )
        )
        for s in sites
    }
    # Each kind of check on the kind of place it is made at, as the real ones are: a cleaning
    # standard on its own area type, a patrol at a checkpoint, a fit-out check in a unit.
    where_checked = {
        TemplateKind.PATROL: Location.kind == LocationKind.CHECKPOINT,
        TemplateKind.FITOUT: Location.kind == LocationKind.UNIT,
    }
    people = {
        s.id: list(session.scalars(select(user_site.c.user_id).where(user_site.c.site_id == s.id))) for s in sites
    }
    versions = list(
        session.execute(
            select(TemplateVersion.id, ChecklistTemplate.kind, ChecklistTemplate.area_type)
            .join(ChecklistTemplate, TemplateVersion.template_id == ChecklistTemplate.id)
            .where(
                ChecklistTemplate.kind.in_([TemplateKind.PATROL, TemplateKind.CLEANING, TemplateKind.FITOUT]),
                TemplateVersion.version == ChecklistTemplate.current_version,
            )
        )
    )
    checks = {}  # site → [(template version, its kind, the places it is made at)]
    for site in sites:
        checks[site.id] = []
        for version_id, kind, area_type in versions:
            where = (
                where_checked[kind]
                if kind in where_checked
                else (Location.kind == LocationKind.AREA) & (Location.area_type == area_type)
            )
            found = list(session.scalars(select(Location.id).where(Location.site_id == site.id, where)))
            if found:
                checks[site.id].append((version_id, kind, found))
    kinds, weights = zip(*KINDS)
    span = timedelta(days=days).total_seconds()

    def moment() -> datetime:
        return now - timedelta(seconds=rng.uniform(3600, span))

    ticket_rows, event_rows = [], []
    for n in range(tickets):
        site = rng.choice(sites)
        kind = rng.choices(kinds, weights)[0]
        priority = rng.choice(list(Priority))
        created = moment()
        recent = now - created < timedelta(days=3)
        state = (
            rng.choice([TicketState.NEW, TicketState.ASSIGNED, TicketState.IN_PROGRESS, TicketState.RESOLVED])
            if recent or rng.random() < 0.03
            else TicketState.CLOSED
        )
        closed = created + timedelta(hours=rng.uniform(1, 72)) if state == TicketState.CLOSED else None
        ticket_id = uuid.uuid4()
        local = created.astimezone(ZoneInfo(site.timezone))
        ticket_rows.append(
            {
                "id": ticket_id,
                "number": f"{site.code}-{local:%Y%m%d}{MARK}{n:06d}",
                "kind": kind,
                "title": rng.choice(TITLES[kind]),
                "description": "",
                "site_id": site.id,
                "location_id": rng.choice(places[site.id]),
                "department_id": departments.get(DEFAULT_DEPARTMENT[kind]),
                "assignee_id": rng.choice(people[site.id]) if state != TicketState.NEW else None,
                "priority": priority,
                "state": state,
                "version": 1,
                "due_at": created + timedelta(hours=HOURS[priority]),
                "created_at": created,
                "updated_at": closed or created,
                "closed_at": closed,
                "escalated": 2 if not recent else 0,  # old news: nobody is to be told about it today
            }
        )
        event_rows.append(
            {
                "ticket_id": ticket_id,
                "at": created,
                "source": "cli",
                "action": "created",
                "version": 1,
                "to_state": "new",
                "note": "",
                "data": {},
            }
        )
        if len(ticket_rows) == CHUNK:
            _flush(session, ticket_rows, event_rows)
    _flush(session, ticket_rows, event_rows)

    rows = []
    for _ in range(inspections):
        site = rng.choice([s for s in sites if checks[s.id]])
        version_id, template_kind, where = rng.choice(checks[site.id])
        finished = moment()
        failed = rng.choice([1, 1, 2]) if rng.random() < 0.1 else 0
        cleaning = template_kind == TemplateKind.CLEANING
        rows.append(
            {
                "id": uuid.uuid4(),
                "template_version_id": version_id,
                "site_id": site.id,
                "location_id": rng.choice(where),
                "inspector_id": rng.choice(people[site.id]),
                "started_at": finished - timedelta(minutes=rng.randint(3, 20)),
                "finished_at": finished,
                "received_at": finished,
                "source": "sync",
                "failed_count": failed,
                "score": 100.0 - 6 * failed if cleaning else None,
                "check_kind": rng.choice(list(CheckKind)).value if cleaning else None,
            }
        )
        if len(rows) == CHUNK:
            session.execute(insert(Inspection.__table__), rows)
            rows.clear()
    if rows:
        session.execute(insert(Inspection.__table__), rows)


def _flush(session: Session, tickets: list[dict], events: list[dict]) -> None:
    if tickets:
        session.execute(insert(Ticket.__table__), tickets)
        session.execute(insert(TicketEvent.__table__), events)
    tickets.clear()
    events.clear()
