"""Fit-out (二次装修, §3.2): a tenant's renovation under three departments' supervision.

The daily inspections, acceptances and sign-offs are ordinary inspections of fit-out templates
at the project's unit, so they work offline like every checklist. What is particular to a
fit-out lives here: the project and its permits, which department has inspected today, the
rectification notice (整改通知) each violation produces, and the deposit ledger.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, String, Text, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from foundation.base import Base, str_enum, utcnow
from foundation.org import Department, Location, Site, Tenant, User
from foundation.roles import OFFICE
from inspections.checklists import ChecklistTemplate, TemplateKind, TemplateVersion
from inspections.records import Inspection
from tickets.models import Ticket, TicketKind
from tickets.states import OPEN_STATES

# The three departments that inspect every day and sign every acceptance (§3.2.4 4] 2]).
DEPARTMENTS = ("customer_service", "engineering", "security")


class FitoutState(str, enum.Enum):
    APPLIED = "applied"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    HIDDEN_WORKS_ACCEPTED = "hidden_works_accepted"
    COMPLETED = "completed"
    DEPOSIT_REFUNDED = "deposit_refunded"


# What a manager may move a project to by hand; acceptances and the refund move it the rest.
MANUAL_STEPS = {FitoutState.APPLIED: FitoutState.APPROVED, FitoutState.APPROVED: FitoutState.IN_PROGRESS}
UNDER_WAY = (FitoutState.IN_PROGRESS, FitoutState.HIDDEN_WORKS_ACCEPTED)


class FitoutProject(Base):
    __tablename__ = "fitout_project"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"))
    contractor: Mapped[str] = mapped_column(String(200))
    permit_number: Mapped[str] = mapped_column(String(64))
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    drawings_ref: Mapped[str] = mapped_column(String(200), default="")
    noisy_hours: Mapped[str] = mapped_column(String(64), default="")  # e.g. "12:00-14:00,18:00-08:00"
    worker_passes: Mapped[int] = mapped_column(default=0, server_default="0")  # 施工人员出入证 issued by security
    deposit_cents: Mapped[int] = mapped_column(default=0)
    state: Mapped[FitoutState] = mapped_column(str_enum(FitoutState), default=FitoutState.APPLIED)

    site: Mapped[Site] = relationship()
    unit: Mapped[Location] = relationship()
    tenant: Mapped[Tenant | None] = relationship()
    hot_work_permits: Mapped[list[HotWorkPermit]] = relationship(
        order_by="HotWorkPermit.starts_on", cascade="all, delete-orphan"
    )
    ledger: Mapped[list[DepositEntry]] = relationship(order_by="DepositEntry.id", cascade="all, delete-orphan")

    @property
    def balance_cents(self) -> int:
        return sum(entry.amount_cents for entry in self.ledger)


class HotWorkPermit(Base):
    """动火证: hot work is allowed only on the days of a valid permit."""

    __tablename__ = "hot_work_permit"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("fitout_project.id", ondelete="CASCADE"), index=True)
    number: Mapped[str] = mapped_column(String(64))
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()

    def valid_on(self, day: date) -> bool:
        return self.starts_on <= day <= self.ends_on


class EntryKind(str, enum.Enum):
    DEPOSIT = "deposit"  # paid in (+)
    PENALTY = "penalty"  # docked for a violation or damage (−)
    REFUND = "refund"  # paid back at the end (−)


class DepositEntry(Base):
    """One line of a project's deposit ledger; the balance is their sum, in cents."""

    __tablename__ = "deposit_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("fitout_project.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EntryKind] = mapped_column(str_enum(EntryKind, 16))
    amount_cents: Mapped[int] = mapped_column()  # signed: + paid in, − taken out
    reason: Mapped[str] = mapped_column(Text, default="")
    violation_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("ticket.id"))
    # A penalty beyond the balance needs a manager's override, kept with the line.
    override_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    violation: Mapped[Ticket | None] = relationship()
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])
    override_by: Mapped[User | None] = relationship(foreign_keys=[override_by_id])


class FitoutRefused(Exception):
    def __init__(self, code: str, message: str, details: list[str] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or []


# --- the project's life ---------------------------------------------------------------------


def project_at(session: Session, unit_id: int, day: date) -> FitoutProject | None:
    """The project at a unit on a day (the latest begun, if several)."""
    return session.scalar(
        select(FitoutProject)
        .where(
            FitoutProject.unit_id == unit_id,
            FitoutProject.starts_on <= day,
            FitoutProject.state != FitoutState.DEPOSIT_REFUNDED,
        )
        .order_by(FitoutProject.starts_on.desc())
    )


def parse_noisy_hours(text: str) -> list[tuple[time, time]]:
    """``"12:00-14:00,18:00-08:00"`` as (start, end) pairs; a pair may run past midnight.
    ValueError names the part that is not two times of day."""
    spans = []
    for part in (p.strip() for p in text.replace("，", ",").split(",")):
        if not part:
            continue
        try:
            start, end = (time.fromisoformat(t.strip()) for t in part.replace("–", "-").split("-"))
        except ValueError:
            raise ValueError(part) from None
        if len(part.split("-")) != 2 or start == end:
            raise ValueError(part)
        spans.append((start, end))
    return spans


def open_project(
    session: Session,
    *,
    site: Site,
    unit: Location,
    contractor: str,
    permit_number: str,
    starts_on: date,
    ends_on: date,
    deposit_cents: int,
    actor: User,
    tenant: Tenant | None = None,
    drawings_ref: str = "",
    noisy_hours: str = "",
    worker_passes: int = 0,
) -> FitoutProject:
    """Register an application; the deposit paid in is the ledger's first line."""
    if ends_on < starts_on:
        raise FitoutRefused("bad_dates", "the fit-out ends before it starts")
    try:
        parse_noisy_hours(noisy_hours)
    except ValueError as bad:
        raise FitoutRefused("bad_noisy_hours", f"not a span of two times of day: {bad}") from None
    project = FitoutProject(
        site_id=site.id,
        unit_id=unit.id,
        tenant_id=tenant.id if tenant else None,
        contractor=contractor,
        permit_number=permit_number,
        starts_on=starts_on,
        ends_on=ends_on,
        drawings_ref=drawings_ref,
        noisy_hours=noisy_hours,
        worker_passes=worker_passes,
        deposit_cents=deposit_cents,
        state=FitoutState.APPLIED,
    )
    if deposit_cents:
        project.ledger.append(DepositEntry(kind=EntryKind.DEPOSIT, amount_cents=deposit_cents, actor_id=actor.id))
    session.add(project)
    session.flush()
    return project


def advance(project: FitoutProject, to: FitoutState) -> None:
    """A manager's step: application approved, work started."""
    if MANUAL_STEPS.get(project.state) != to:
        raise FitoutRefused("bad_step", f"{project.state.value} → {to.value} is not a step a person takes")
    project.state = to


def charge_penalty(
    session: Session,
    project: FitoutProject,
    *,
    amount_cents: int,
    reason: str,
    actor: User,
    now: datetime,
    violation: Ticket | None = None,
    override: bool = False,
) -> DepositEntry:
    """Dock the deposit. A penalty that would take the balance below zero needs a manager's
    override, which the line records."""
    if amount_cents <= 0:
        raise FitoutRefused("bad_amount", "a penalty is a positive amount")
    if project.state == FitoutState.DEPOSIT_REFUNDED:
        raise FitoutRefused("refunded", "the deposit was refunded already")
    over = amount_cents > project.balance_cents
    if over and not (override and actor.role in OFFICE):
        raise FitoutRefused("over_balance", "the penalty is more than the deposit left; a manager must override")
    entry = DepositEntry(
        kind=EntryKind.PENALTY,
        amount_cents=-amount_cents,
        reason=reason,
        at=now,
        actor_id=actor.id,
        violation_id=violation.id if violation else None,
        override_by_id=actor.id if over else None,
    )
    project.ledger.append(entry)
    session.flush()
    return entry


def refund_deposit(session: Session, project: FitoutProject, *, actor: User, now: datetime) -> DepositEntry:
    """After completion acceptance the manager releases what is left (§3.2.4 5. 5])."""
    if project.state != FitoutState.COMPLETED:
        raise FitoutRefused("not_completed", "the deposit is refunded after completion acceptance")
    entry = DepositEntry(kind=EntryKind.REFUND, amount_cents=-max(project.balance_cents, 0), at=now, actor_id=actor.id)
    project.ledger.append(entry)
    project.state = FitoutState.DEPOSIT_REFUNDED
    session.flush()
    return entry


# --- violations and rectification notices ---------------------------------------------------


def violations(session: Session, project: FitoutProject, *, open_only: bool = False) -> list[Ticket]:
    """The violations found at the project's unit since it started (only those still open)."""
    query = select(Ticket).where(
        Ticket.location_id == project.unit_id,
        Ticket.kind == TicketKind.VIOLATION,
        Ticket.created_at >= datetime.combine(project.starts_on, time(), ZoneInfo(project.site.timezone)),
    )
    if open_only:
        query = query.where(Ticket.state.in_([s.value for s in OPEN_STATES]))
    return list(session.scalars(query.order_by(Ticket.created_at)))


def open_violations(session: Session, project: FitoutProject) -> list[Ticket]:
    return violations(session, project, open_only=True)


# --- acceptances ------------------------------------------------------------------------------


class AcceptanceKind(str, enum.Enum):
    HIDDEN_WORKS = "hidden_works"  # 隐蔽工程验收
    COMPLETION = "completion"  # 竣工验收


ACCEPTANCE_TEMPLATES = {
    TemplateKind.HIDDEN_WORKS: AcceptanceKind.HIDDEN_WORKS,
    TemplateKind.COMPLETION: AcceptanceKind.COMPLETION,
}
ACCEPTED_STATE = {
    AcceptanceKind.HIDDEN_WORKS: FitoutState.HIDDEN_WORKS_ACCEPTED,
    AcceptanceKind.COMPLETION: FitoutState.COMPLETED,
}


@dataclass(frozen=True)
class Signoff:
    department: str
    inspection: Inspection | None  # the latest passing sign-off of that department, if any


def signoffs(session: Session, project: FitoutProject, kind: AcceptanceKind) -> list[Signoff]:
    """Each department's latest passing sign-off of an acceptance, or None."""
    template_kind = next(t for t, k in ACCEPTANCE_TEMPLATES.items() if k == kind)
    rows = session.execute(
        select(Department.code, Inspection)
        .join(User, Inspection.inspector_id == User.id)
        .join(Department, User.department_id == Department.id)
        .join(TemplateVersion, Inspection.template_version_id == TemplateVersion.id)
        .join(ChecklistTemplate, TemplateVersion.template_id == ChecklistTemplate.id)
        .where(
            Inspection.location_id == project.unit_id,
            ChecklistTemplate.kind == template_kind,
            Inspection.failed_count == 0,
            Inspection.finished_at >= datetime.combine(project.starts_on, time(), ZoneInfo(project.site.timezone)),
        )
        .order_by(Inspection.finished_at)
    ).all()
    latest = {code: inspection for code, inspection in rows}
    return [Signoff(code, latest.get(code)) for code in DEPARTMENTS]


def check_acceptance_allowed(session: Session, template: ChecklistTemplate, unit: Location, day: date) -> None:
    """Refuse a completion sign-off while a violation is open, naming them."""
    if template.kind != TemplateKind.COMPLETION:
        return
    project = project_at(session, unit.id, day)
    if project is None:
        raise FitoutRefused("no_project", "no fit-out project at this unit")
    still_open = open_violations(session, project)
    if still_open:
        raise FitoutRefused(
            "open_violations", "completion needs every violation closed", [f"{t.number} {t.title}" for t in still_open]
        )


def record_signoff(session: Session, template: ChecklistTemplate, unit: Location, day: date) -> None:
    """After a sign-off: when all three departments have signed, the project moves on."""
    kind = ACCEPTANCE_TEMPLATES.get(template.kind)
    if kind is None:
        return
    project = project_at(session, unit.id, day)
    if project is None or project.state not in UNDER_WAY:
        return
    if all(s.inspection is not None for s in signoffs(session, project, kind)):
        project.state = max(project.state, ACCEPTED_STATE[kind], key=list(FitoutState).index)


# --- who has inspected today -----------------------------------------------------------------


@dataclass(frozen=True)
class DepartmentToday:
    department: str
    inspections: list[Inspection]

    @property
    def done(self) -> bool:
        return bool(self.inspections)


def inspected_on(session: Session, project: FitoutProject, day: date) -> list[DepartmentToday]:
    """Which departments have done their daily inspection on the site's calendar day ``day``."""
    tz = ZoneInfo(project.site.timezone)
    start = datetime.combine(day, time(), tz)
    rows = session.execute(
        select(Department.code, Inspection)
        .join(TemplateVersion, Inspection.template_version_id == TemplateVersion.id)
        .join(ChecklistTemplate, TemplateVersion.template_id == ChecklistTemplate.id)
        .join(Department, ChecklistTemplate.department_id == Department.id)
        .where(
            Inspection.location_id == project.unit_id,
            ChecklistTemplate.kind == TemplateKind.FITOUT,
            Inspection.finished_at >= start,
            Inspection.finished_at < start + timedelta(days=1),
        )
        .order_by(Inspection.finished_at)
    ).all()
    by_department: dict[str, list[Inspection]] = {code: [] for code in DEPARTMENTS}
    for code, inspection in rows:
        by_department.setdefault(code, []).append(inspection)
    return [DepartmentToday(code, by_department[code]) for code in DEPARTMENTS]


def projects_of(session: Session, site_ids: list[int]) -> list[FitoutProject]:
    return list(
        session.scalars(
            select(FitoutProject)
            .where(FitoutProject.site_id.in_(site_ids))
            .order_by(FitoutProject.state == FitoutState.DEPOSIT_REFUNDED, FitoutProject.starts_on.desc())
        )
    )


def penalties_total(project: FitoutProject) -> int:
    return -sum(e.amount_cents for e in project.ledger if e.kind == EntryKind.PENALTY)
