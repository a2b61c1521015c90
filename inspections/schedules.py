"""One model for recurring inspections: which checklist, where, who, how often and within what
window. Every schedule makes assignments (``records.Assignment``), which phones show on Today
and the calendar judges: done, late, missed or still due.

- Where: one place, or every live area of a cleaning type on the site (a new restroom is
  included from the day it exists).
- Who: one person; everyone of a role on the site (each of them does it); or whoever is on duty
  for that area and shift (``cleaning.responsible``), else the cleaning department's head.
- Rule: every shift of the site's cleaning rule (due at its start, within the shift); daily,
  or weekly on some days, at given times (each due within ``window_minutes``) or any time that
  day; n times a month (each in its own part of the month); every n days (each window n days).

The periodic tasks of §3.6.6 are schedules of the cleaning-task checklist. Patrol routes keep
their own rounds (``rounds.py``): a round is a walk of many checkpoints judged as one.
"""

from __future__ import annotations

import calendar
import enum
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import JSON, ForeignKey, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from foundation.base import Base, bulk_insert, hold_lock, str_enum, utcnow
from foundation.notices import Notice, notify
from foundation.org import Department, Location, LocationKind, Site, User, user_site
from foundation.roles import Role
from inspections.checklists import ChecklistTemplate, TemplateKind
from inspections.cleaning import duties_of, rule_for
from inspections.cleaning_scores import responsible
from inspections.records import Assignment, Inspection
from inspections.shifts import held_until


class Rule(str, enum.Enum):
    EVERY_SHIFT = "every_shift"
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"  # per_month times a month
    EVERY_N_DAYS = "every_n_days"


class Who(str, enum.Enum):
    PERSON = "person"
    ROLE = "role"
    ON_DUTY = "on_duty"


class Status(str, enum.Enum):
    DONE = "done"
    LATE = "late"
    MISSED = "missed"
    DUE = "due"
    PLANNED = "planned"  # a day to come: what the schedules will make due (the calendar only)


class Schedule(Base):
    __tablename__ = "schedule"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_template.id"))
    location_id: Mapped[int | None] = mapped_column(ForeignKey("location.id"))
    area_type: Mapped[str | None] = mapped_column(String(32))  # else every live area of this type
    title: Mapped[str] = mapped_column(String(200), default="")  # shown on Today instead of the checklist's
    who: Mapped[Who] = mapped_column(str_enum(Who, 16), default=Who.ON_DUTY)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    role: Mapped[Role | None] = mapped_column(str_enum(Role))
    rule: Mapped[Rule] = mapped_column(str_enum(Rule, 16))
    times: Mapped[list[str]] = mapped_column(JSON, default=list)  # "HH:MM", local to the site
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=list)  # 0 Monday … 6 Sunday
    per_month: Mapped[int | None] = mapped_column()
    every_days: Mapped[int | None] = mapped_column()
    window_minutes: Mapped[int] = mapped_column(default=60)
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date | None] = mapped_column()
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Slots up to this day have their assignments: later calls start after it, so opening Today
    # or the calendar again costs a read, not a month of slots. (A new area of the type joins
    # from the next day on that has not been made yet.)
    made_through: Mapped[date | None] = mapped_column()

    template: Mapped[ChecklistTemplate] = relationship()
    location: Mapped[Location | None] = relationship()
    assignee: Mapped[User | None] = relationship()


class ScheduleRefused(ValueError):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Slot:
    """One occurrence: due from ``first_day`` (at ``due_at`` if timed) until ``deadline``."""

    key: str  # unique within its schedule: "2026-12-01" or "2026-12-01T08:00"
    first_day: date
    last_day: date
    due_at: datetime | None
    deadline: datetime


def check_schedule(schedule: Schedule) -> None:
    """Fill in the defaults and refuse a schedule that cannot make sense, before it is saved."""
    schedule.who = schedule.who or Who.ON_DUTY
    schedule.times, schedule.weekdays = schedule.times or [], schedule.weekdays or []
    schedule.window_minutes = schedule.window_minutes or 60
    if (schedule.location_id is None) == (schedule.area_type is None):
        raise ScheduleRefused("place")
    if schedule.who == Who.PERSON and schedule.assignee_id is None:
        raise ScheduleRefused("person")
    if schedule.who == Who.ROLE and schedule.role is None:
        raise ScheduleRefused("role")
    if schedule.rule == Rule.WEEKLY and not schedule.weekdays:
        raise ScheduleRefused("weekdays")
    if schedule.rule == Rule.MONTHLY and not (schedule.per_month and 1 <= schedule.per_month <= 31):
        raise ScheduleRefused("per_month")
    if schedule.rule == Rule.EVERY_N_DAYS and not (schedule.every_days and 1 <= schedule.every_days <= 366):
        raise ScheduleRefused("every_days")
    if schedule.ends_on is not None and schedule.ends_on < schedule.starts_on:
        raise ScheduleRefused("ends_before_start")
    if not 5 <= schedule.window_minutes <= 24 * 60:
        raise ScheduleRefused("window")
    for text in schedule.times:
        parse_time(text)


def parse_time(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise ScheduleRefused("times") from None


def slots(schedule: Schedule, site: Site, start: date, end: date, shifts=None) -> list[Slot]:
    """The schedule's occurrences whose first day is within [start, end]."""
    zone = ZoneInfo(site.timezone)
    first = max(start, schedule.starts_on)
    last = min(end, schedule.ends_on) if schedule.ends_on else end
    found: list[Slot] = []

    def end_of(day: date) -> datetime:
        return datetime.combine(day + timedelta(days=1), time(), zone)

    if schedule.rule in (Rule.MONTHLY, Rule.EVERY_N_DAYS):
        # A window open on the schedule's first day counts from that day on (``_windows``).
        month = start.replace(day=1)
        while month <= last:
            for window_start, window_end in _windows(schedule, month):
                if start <= window_start <= last:
                    found.append(Slot(window_start.isoformat(), window_start, window_end, None, end_of(window_end)))
            month = (month + timedelta(days=32)).replace(day=1)
        return found
    day = first
    window = timedelta(minutes=schedule.window_minutes)  # an empty range (first > last) makes nothing
    while day <= last:
        if schedule.rule != Rule.WEEKLY or day.weekday() in schedule.weekdays:
            if schedule.rule == Rule.EVERY_SHIFT:
                for shift in shifts or []:
                    due = datetime.combine(day, shift.start, zone)
                    ends = datetime.combine(day + timedelta(days=shift.end <= shift.start), shift.end, zone)
                    found.append(Slot(f"{day.isoformat()}T{shift.start:%H:%M}", day, day, due, ends))
            elif schedule.times:
                for text in sorted(schedule.times):
                    due = datetime.combine(day, parse_time(text), zone)
                    found.append(Slot(f"{day.isoformat()}T{text}", day, day, due, due + window))
            else:
                found.append(Slot(day.isoformat(), day, day, None, end_of(day)))
        day += timedelta(days=1)
    return found


def _windows(schedule: Schedule, month: date) -> list[tuple[date, date]]:
    """Windows [first day, last day] that begin in ``month`` (the periodic tasks of §3.6.6)."""
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    if schedule.rule == Rule.MONTHLY:
        starts = [first + timedelta(days=(last.day * n) // schedule.per_month) for n in range(schedule.per_month)]
        ends = [s - timedelta(days=1) for s in starts[1:]] + [last]
        windows = list(zip(starts, ends))
    else:
        step = timedelta(days=schedule.every_days)
        day = schedule.starts_on
        if day < first:
            day += step * ((first - day) // step)
        windows = []
        while day <= last:
            if day >= first:
                windows.append((day, day + step - timedelta(days=1)))
            day += step
    return [(s, e) for s, e in windows if e >= schedule.starts_on]


def make_assignments_through(session: Session, site: Site, day: date) -> int:
    """Everything due by ``day`` this month (a window that began on the 1st is still open) and in
    the week before (on the 1st, yesterday's slots are last month's)."""
    return make_assignments(session, site, min(day.replace(day=1), day - timedelta(days=7)), day)


def make_assignments(session: Session, site: Site, start: date, end: date) -> int:
    """The assignments of every active schedule of the site for slots beginning in [start, end]
    that have none yet. Idempotent, and set-wise: one read of what exists, one insert. A second
    run for the site at once (the job, and a manager saving a schedule on another server) waits,
    then finds the first's rows made."""
    hold_lock(session, "assignments_of_site", site.id)
    schedules = [
        s
        for s in session.scalars(
            select(Schedule)
            .where(Schedule.site_id == site.id, Schedule.active)
            .execution_options(populate_existing=True)  # made_through as the run before us left it
        )
        if s.made_through is None or s.made_through < end
    ]
    if not schedules:
        return 0
    start = min(max(start, s.made_through + timedelta(days=1)) if s.made_through else start for s in schedules)
    have = set(
        session.execute(
            select(Assignment.schedule_id, Assignment.slot, Assignment.location_id, Assignment.assignee_id).where(
                Assignment.site_id == site.id,
                Assignment.schedule_id.is_not(None),
                Assignment.due_on >= start,
                Assignment.due_on <= end,
            )
        ).all()
    )
    world = _World.of(session, site)
    now = utcnow()
    made = []
    for schedule in schedules:
        first = max(start, schedule.made_through + timedelta(days=1)) if schedule.made_through else start
        schedule.made_through = max(end, schedule.made_through or end)
        for row in _rows(schedule, site, world, first, end):
            key = (schedule.id, row["slot"], row["location_id"], row["assignee_id"])
            if key not in have:
                have.add(key)
                made.append({**row, "created_at": now})
    session.flush()  # made_through, before the rows that follow from it
    bulk_insert(session, Assignment, made)  # a month of an estate is tens of thousands of rows
    return len(made)


@dataclass(frozen=True)
class Planned:
    """A check the schedules will make due on a day to come (not made yet)."""

    due_on: date
    due_at: datetime | None
    title: str
    location: Location
    assignee_id: int


def planned_between(
    session: Session,
    site: Site,
    start: date,
    end: date,
    *,
    assignee_id: int | None = None,
    location_id: int | None = None,
) -> list[Planned]:
    """What the active schedules will make due on each day of [start, end] that is not made
    yet: what the calendar shows of days to come. Reads only, the same rows
    ``make_assignments`` would write (its people on duty as they stand today)."""
    world = _World.of(session, site)
    have = set(
        session.execute(
            select(Assignment.schedule_id, Assignment.slot, Assignment.location_id, Assignment.assignee_id).where(
                Assignment.site_id == site.id, Assignment.due_on >= start, Assignment.due_on <= end
            )
        ).all()
    )
    planned = []
    for schedule in session.scalars(select(Schedule).where(Schedule.site_id == site.id, Schedule.active)):
        for row in _rows(schedule, site, world, start, end):
            if not start <= row["due_on"] <= end:  # a window that began before: made already
                continue
            if (assignee_id is not None and row["assignee_id"] != assignee_id) or (
                location_id is not None and row["location_id"] != location_id
            ):
                continue
            if (schedule.id, row["slot"], row["location_id"], row["assignee_id"]) in have:
                continue
            place = session.get(Location, row["location_id"])  # loaded with the world: no query
            title = schedule.title or schedule.template.title
            planned.append(Planned(row["due_on"], row["due_at"], title, place, row["assignee_id"]))
    return sorted(planned, key=lambda p: (p.due_on, p.due_at.timestamp() if p.due_at else 0, p.title))


@dataclass(frozen=True)
class _World:
    """What a schedule's checks go to: a site's areas by type, people by role, duties, the rule."""

    areas: dict
    people_by_role: dict
    duties: list
    rule: object
    head: int | None
    zone: ZoneInfo

    @classmethod
    def of(cls, session: Session, site: Site) -> _World:
        areas = defaultdict(list)
        for area in session.scalars(
            select(Location).where(
                Location.site_id == site.id, Location.kind == LocationKind.AREA, Location.archived_at.is_(None)
            )
        ):
            areas[area.area_type].append(area)
        people_by_role = defaultdict(list)
        for person in session.scalars(
            select(User).join(user_site).where(user_site.c.site_id == site.id, User.active).order_by(User.id)
        ):
            people_by_role[person.role].append(person.id)
        return cls(
            areas,
            people_by_role,
            [d.fact() for d in duties_of(session, site.id)],
            rule_for(session, site.id),
            session.scalar(select(Department.head_id).where(Department.code == "cleaning")),
            ZoneInfo(site.timezone),
        )


def _rows(schedule: Schedule, site: Site, world: _World, first: date, end: date):
    """The assignment rows of ``schedule`` for its slots beginning in [first, end]."""
    places = [schedule.location] if schedule.location_id else world.areas.get(schedule.area_type, [])
    places = [p for p in places if p is not None and p.archived_at is None]
    for slot in slots(schedule, site, first, end, world.rule.shifts):
        for place in places:
            for assignee_id in _assignees(schedule, place, slot, world):
                yield {
                    "site_id": site.id,
                    "template_id": schedule.template_id,
                    "location_id": place.id,
                    "assignee_id": assignee_id,
                    "due_on": slot.first_day,
                    "due_by": slot.last_day if slot.last_day != slot.first_day else None,
                    "due_at": slot.due_at,
                    "deadline": slot.deadline,
                    "schedule_id": schedule.id,
                    "slot": slot.key,
                    "note": schedule.title,
                }


def _assignees(schedule, place, slot, world: _World) -> list[int]:
    if schedule.who == Who.PERSON:
        return [schedule.assignee_id]
    if schedule.who == Who.ROLE:
        return world.people_by_role.get(schedule.role, [])
    moment = slot.due_at or datetime.combine(slot.first_day, time(12), world.zone)
    found = responsible(world.duties, place.id, moment.astimezone(world.zone), world.rule)
    return [found or world.head] if (found or world.head) else []


@dataclass(frozen=True)
class Occurrence:
    assignment: Assignment
    status: Status
    done_at: datetime | None


def occurrences_between(
    session: Session,
    site: Site,
    start: date,
    end: date,
    now: datetime,
    *,
    assignee_id: int | None = None,
    location_id: int | None = None,
) -> list[Occurrence]:
    """Every assignment due in [start, end] with its status: done within its window, late,
    missed (its window closed with no record) or still due."""
    query = (
        select(Assignment, func.min(Inspection.finished_at))
        .outerjoin(Inspection, Inspection.assignment_id == Assignment.id)
        .where(Assignment.site_id == site.id, Assignment.due_on >= start, Assignment.due_on <= end)
        .group_by(Assignment.id)
        .order_by(Assignment.due_on, Assignment.due_at, Assignment.id)
    )
    if assignee_id is not None:
        query = query.where(Assignment.assignee_id == assignee_id)
    if location_id is not None:
        query = query.where(Assignment.location_id == location_id)
    zone = ZoneInfo(site.timezone)
    return [
        Occurrence(a, _status(a.due_on, a.due_by, a.deadline, done_at, now, zone), done_at)
        for a, done_at in session.execute(query)
    ]


def _status(due_on: date, due_by: date | None, deadline: datetime | None, done_at, now: datetime, zone) -> Status:
    """Done within the window, late, missed (the window closed with no record) or still due."""
    deadline = deadline or datetime.combine((due_by or due_on) + timedelta(days=1), time(), zone)
    if done_at is not None:
        return Status.DONE if done_at <= deadline else Status.LATE
    return Status.MISSED if now >= deadline else Status.DUE


def task_template(session: Session) -> ChecklistTemplate | None:
    """The checklist of the periodic tasks of §3.6.6 (a task's own wording is the schedule's title)."""
    return session.scalar(
        select(ChecklistTemplate)
        .where(ChecklistTemplate.kind == TemplateKind.CLEANING_TASK, ChecklistTemplate.active)
        .order_by(ChecklistTemplate.id)
    )


def add_periodic_task(
    session: Session,
    site: Site,
    *,
    location: Location,
    title: str,
    per_month: int | None,
    every_days: int | None,
    starts_on: date,
) -> Schedule:
    """A periodic task of §3.6.6 (每月对外围麻石地进行彻底清洗): a schedule of the cleaning-task
    checklist for the area's cleaner on duty, n times a month or every n days."""
    template = task_template(session)
    if template is None:
        raise ScheduleRefused("no_task_checklist")
    schedule = Schedule(
        site_id=site.id,
        template_id=template.id,
        location_id=location.id,
        title=title,
        who=Who.ON_DUTY,
        rule=Rule.MONTHLY if per_month else Rule.EVERY_N_DAYS,
        per_month=per_month,
        every_days=every_days,
        starts_on=starts_on,
    )
    check_schedule(schedule)
    session.add(schedule)
    session.flush()
    return schedule


def periodic_tasks(session: Session, site: Site) -> list[Schedule]:
    return list(
        session.scalars(
            select(Schedule)
            .join(ChecklistTemplate)
            .where(Schedule.site_id == site.id, Schedule.active, ChecklistTemplate.kind == TemplateKind.CLEANING_TASK)
            .order_by(Schedule.id)
        )
    )


def task_statuses(session: Session, site: Site, day: date, now: datetime) -> list[Occurrence]:
    """This month's periodic-task windows that have begun by ``day``, with their status."""
    found = occurrences_between(session, site, day.replace(day=1), day, now)
    return [o for o in found if o.assignment.template.kind == TemplateKind.CLEANING_TASK and o.assignment.schedule_id]


@dataclass
class CalendarDay:
    day: date
    counts: dict[Status, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def month_calendar(
    session: Session,
    site: Site,
    month: date,
    now: datetime,
    *,
    assignee_id: int | None = None,
    location_id: int | None = None,
) -> list[CalendarDay]:
    """Each day of ``month`` with how many of its assignments were done, late, missed or are
    still due (for one person or one place if asked). Reads only: the schedules job makes the
    assignments as their days come (webapp/jobs.py)."""
    first = month.replace(day=1)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    zone = ZoneInfo(site.timezone)
    # Plain rows, not objects: a month of a large estate is tens of thousands of assignments.
    query = (
        select(Assignment.due_on, Assignment.due_by, Assignment.deadline, func.min(Inspection.finished_at))
        .outerjoin(Inspection, Inspection.assignment_id == Assignment.id)
        .where(Assignment.site_id == site.id, Assignment.due_on >= first, Assignment.due_on <= last)
        .group_by(Assignment.id)
    )
    if assignee_id is not None:
        query = query.where(Assignment.assignee_id == assignee_id)
    if location_id is not None:
        query = query.where(Assignment.location_id == location_id)
    days = {
        first + timedelta(days=n): CalendarDay(first + timedelta(days=n), defaultdict(int)) for n in range(last.day)
    }
    for due_on, due_by, deadline, done_at in session.execute(query):
        days[due_on].counts[_status(due_on, due_by, deadline, done_at, now, zone)] += 1
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    if last >= tomorrow:
        for planned in planned_between(
            session, site, max(first, tomorrow), last, assignee_id=assignee_id, location_id=location_id
        ):
            days[planned.due_on].counts[Status.PLANNED] += 1
    return list(days.values())


DUE_TOLD_WITHIN = timedelta(minutes=30)  # a slot that came due longer ago than this is not news


def raise_due_check_notices(session: Session, site: Site, now: datetime) -> int:
    """Tell each person of a timed check of theirs that has just come due and is not done (the
    push to their phone follows). Raised once per check, however often this runs."""
    due = session.scalars(
        select(Assignment)
        .outerjoin(Inspection, Inspection.assignment_id == Assignment.id)
        .where(
            Assignment.site_id == site.id,
            Assignment.due_at.is_not(None),
            Assignment.due_at <= now,
            Assignment.due_at > now - DUE_TOLD_WITHIN,
            Inspection.id.is_(None),
        )
    ).all()
    zone = ZoneInfo(site.timezone)
    raised = 0
    for assignment in due:
        person = session.get(User, assignment.assignee_id)
        if person is None or not person.active:
            continue
        raised += notify(
            session,
            person,
            key=f"due:{assignment.id}",
            what="check_due",
            facts={
                "title": assignment.note or assignment.template.title,
                "place": session.get(Location, assignment.location_id).full_name,
                "due": f"{assignment.due_at.astimezone(zone):%H:%M}",
            },
            link="/today",
            now=now,
        )
    return raised


def raise_day_check_notices(session: Session, site: Site, now: datetime) -> int:
    """Checks due some time today (no set hour) come due when their person's work begins: each
    person hears once a day, at the first run inside their shift (or working day), how many of
    today's checks at this site are theirs and not done."""
    today = now.astimezone(ZoneInfo(site.timezone)).date()
    key = f"today:{site.id}:{today}"
    counts = session.execute(
        select(Assignment.assignee_id, func.count())
        .outerjoin(Inspection, Inspection.assignment_id == Assignment.id)
        .where(
            Assignment.site_id == site.id,
            Assignment.due_on == today,
            Assignment.due_at.is_(None),
            Assignment.assignee_id.is_not(None),
            Inspection.id.is_(None),
        )
        .group_by(Assignment.assignee_id)
    ).all()
    told = set(session.scalars(select(Notice.user_id).where(Notice.key == key)))
    raised = 0
    for user_id, count in counts:
        person = session.get(User, user_id)
        if user_id in told or not person.active or held_until(session, person, now) is not None:
            continue
        facts = {"count": count, "site": site.name}
        raised += notify(session, person, key=key, what="checks_today", facts=facts, link="/today", now=now)
    return raised
