"""Cleaning quality (§3.6): who cleans which area on which shift, the site's scoring rule, the
periodic tasks of §3.6.6, and the facts the board and the monthly sheet are made of.

The checks themselves are ordinary inspections of a cleaning template; which of the three
checks (三查) one is follows from who did it and is stored on the inspection when it arrives.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from foundation.base import Base, utcnow
from foundation.org import Location, LocationKind, Site, User
from foundation.places import CLEANING_AREA_TYPES
from foundation.roles import Role
from inspections.checklists import TemplateVersion
from inspections.cleaning_scores import (
    CheckFact,
    CheckKind,
    DayCount,
    DutyFact,
    MonthSheet,
    ReworkFact,
    ScoringRule,
    day_counts,
    month_bounds,
    month_sheet,
    responsible,
)
from inspections.records import Answer, Inspection
from tickets.models import Ticket, TicketKind
from tickets.states import OPEN_STATES


def check_kind_for(role: Role) -> CheckKind:
    """Which of the three checks a person's check is: the cleaner's own, the lead's, or the office's."""
    if role == Role.CLEANER:
        return CheckKind.SELF
    if role == Role.SUPERVISOR:
        return CheckKind.PATROL
    return CheckKind.SPOT


class CleaningRule(Base):
    """A site's scoring rule; a site without one uses ``ScoringRule()``'s defaults."""

    __tablename__ = "cleaning_rule"

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), primary_key=True)
    rule: Mapped[dict] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


def rule_for(session: Session, site_id: int) -> ScoringRule:
    row = session.get(CleaningRule, site_id)
    return ScoringRule.model_validate(row.rule) if row else ScoringRule()


def targets_set(session: Session, site_id: int) -> bool:
    """Whether the site's managers have set its rule: until then the boards show no check
    targets (a new company would see the manual's defaults judged against work nobody asked for)."""
    return session.get(CleaningRule, site_id) is not None


def save_rule(session: Session, site_id: int, rule: ScoringRule, actor: User | None, now: datetime) -> None:
    row = session.get(CleaningRule, site_id) or CleaningRule(site_id=site_id)
    row.rule, row.updated_at, row.updated_by_id = rule.model_dump(mode="json"), now, actor.id if actor else None
    session.add(row)
    session.flush()


class AreaDuty(Base):
    """A cleaner answers for an area on a shift, from one day until another (open-ended)."""

    __tablename__ = "area_duty"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    cleaner_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    shift: Mapped[str] = mapped_column(String(16))  # a ScoringRule shift code
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date | None] = mapped_column()

    location: Mapped[Location] = relationship()
    cleaner: Mapped[User] = relationship()

    def fact(self) -> DutyFact:
        return DutyFact(self.location_id, self.cleaner_id, self.shift, self.starts_on, self.ends_on)


def duties_of(session: Session, site_id: int, *, on: date | None = None) -> list[AreaDuty]:
    query = select(AreaDuty).where(AreaDuty.site_id == site_id).order_by(AreaDuty.starts_on, AreaDuty.id)
    if on is not None:
        query = query.where(AreaDuty.starts_on <= on, (AreaDuty.ends_on.is_(None)) | (AreaDuty.ends_on >= on))
    return list(session.scalars(query))


def assign_area(session: Session, location: Location, cleaner: User, shift: str, starts_on: date) -> AreaDuty:
    """Give an area's shift to a cleaner from ``starts_on``; whoever had it ends the day before."""
    for current in session.scalars(
        select(AreaDuty).where(
            AreaDuty.location_id == location.id,
            AreaDuty.shift == shift,
            (AreaDuty.ends_on.is_(None)) | (AreaDuty.ends_on >= starts_on),
        )
    ):
        if current.starts_on >= starts_on:
            session.delete(current)  # planned but not begun: replaced outright
        else:
            current.ends_on = starts_on - timedelta(days=1)
    duty = AreaDuty(
        site_id=location.site_id, location_id=location.id, cleaner_id=cleaner.id, shift=shift, starts_on=starts_on
    )
    session.add(duty)
    session.flush()
    return duty


def responsible_cleaner(session: Session, location: Location, at: datetime) -> User | None:
    """Who answers for an area at a moment (the rework goes to them)."""
    site = location.site
    local = at.astimezone(ZoneInfo(site.timezone))
    duties = [d.fact() for d in duties_of(session, site.id, on=local.date()) if d.location_id == location.id]
    cleaner_id = responsible(duties, location.id, local, rule_for(session, site.id))
    return session.get(User, cleaner_id) if cleaner_id else None


def cleaning_areas(session: Session, site_id: int) -> list[Location]:
    return list(
        session.scalars(
            select(Location)
            .where(
                Location.site_id == site_id,
                Location.kind == LocationKind.AREA,
                Location.area_type.in_(CLEANING_AREA_TYPES),
                Location.archived_at.is_(None),
            )
            .order_by(Location.id)
        )
    )


def check_facts(session: Session, site_id: int, start: datetime, end: datetime) -> list[CheckFact]:
    """Every cleaning check at the site in [start, end), with the weights of its failed items."""
    rows = session.execute(
        select(
            Inspection.id,
            Inspection.location_id,
            Inspection.finished_at,
            Inspection.check_kind,
            Inspection.score,
            TemplateVersion.definition,
        )
        .join(TemplateVersion, Inspection.template_version_id == TemplateVersion.id)
        .where(
            Inspection.site_id == site_id,
            Inspection.check_kind.is_not(None),
            Inspection.finished_at >= start,
            Inspection.finished_at < end,
        )
        .order_by(Inspection.finished_at)
    ).all()
    failed: dict = {}
    for inspection_id, item_id in session.execute(
        select(Answer.inspection_id, Answer.item_id)
        .join(Inspection)
        .where(
            Inspection.site_id == site_id,
            Inspection.check_kind.is_not(None),
            Inspection.finished_at >= start,
            Inspection.finished_at < end,
            Answer.passed.is_(False),
        )
    ):
        failed.setdefault(inspection_id, []).append(item_id)
    facts = []
    for inspection_id, location_id, finished_at, kind, score, definition in rows:
        weights = {item["id"]: item.get("weight", 1.0) for s in definition["sections"] for item in s["items"]}
        facts.append(
            CheckFact(
                location_id,
                finished_at,
                CheckKind(kind),
                score,
                tuple(weights[i] for i in failed.get(inspection_id, [])),
            )
        )
    return facts


def rework_facts(session: Session, site_id: int, start: datetime, end: datetime) -> list[ReworkFact]:
    tickets = session.scalars(
        select(Ticket).where(
            Ticket.site_id == site_id,
            Ticket.kind == TicketKind.REWORK,
            Ticket.location_id.is_not(None),
            Ticket.created_at >= start,
            Ticket.created_at < end,
        )
    )
    return [ReworkFact(t.number, t.location_id, t.created_at, t.due_at, t.closed_at) for t in tickets]


@dataclass
class AreaToday:
    area: Location
    counts: list[DayCount]
    latest_score: float | None
    open_rework: int
    cleaners: list[str]


def board(session: Session, site: Site, day: date) -> list[AreaToday]:
    """Every cleaning area of a site on a day: checks done against targets, the latest score
    until the day's end, and the rework open now."""
    start = datetime.combine(day, datetime.min.time(), ZoneInfo(site.timezone))
    rule = rule_for(session, site.id)
    checks = check_facts(session, site.id, start, start + timedelta(days=1))
    graded = (
        Inspection.site_id == site.id,
        Inspection.finished_at < start + timedelta(days=1),
        Inspection.check_kind.in_([CheckKind.PATROL.value, CheckKind.SPOT.value]),
    )
    last = (
        select(Inspection.location_id, func.max(Inspection.finished_at).label("at"))
        .where(*graded)
        .group_by(Inspection.location_id)
        .subquery()
    )
    latest = dict(
        session.execute(
            select(Inspection.location_id, Inspection.score)
            .join(last, (Inspection.location_id == last.c.location_id) & (Inspection.finished_at == last.c.at))
            .where(*graded)
        ).all()
    )
    open_rework = dict(
        session.execute(
            select(Ticket.location_id, func.count())
            .where(
                Ticket.site_id == site.id,
                Ticket.kind == TicketKind.REWORK,
                Ticket.state.in_([s.value for s in OPEN_STATES]),
            )
            .group_by(Ticket.location_id)
        ).all()
    )
    names: dict[int, list[str]] = {}
    for duty in duties_of(session, site.id, on=day):
        names.setdefault(duty.location_id, []).append(duty.cleaner.display_name)
    return [
        AreaToday(
            area,
            day_counts([c for c in checks if c.area_id == area.id], rule),
            latest.get(area.id),
            open_rework.get(area.id, 0),
            list(dict.fromkeys(names.get(area.id, []))),
        )
        for area in cleaning_areas(session, site.id)
    ]


def sheet_for(session: Session, site: Site, month: date, now: datetime) -> MonthSheet:
    tz = ZoneInfo(site.timezone)
    start, end = month_bounds(month, tz)
    rule = rule_for(session, site.id)
    duties = [d.fact() for d in duties_of(session, site.id)]
    return month_sheet(
        month,
        rule,
        tz,
        duties,
        check_facts(session, site.id, start, end),
        rework_facts(session, site.id, start, end),
        now,
    )
