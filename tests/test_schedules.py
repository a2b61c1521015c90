"""One scheduling model: each rule makes the assignments it should, for whom it should, once;
the calendar tells done, late, missed and due; bad schedules are refused by name."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from foundation.org import LocationKind, Origin
from foundation.roles import Role
from inspections.cleaning import assign_area
from inspections.records import Assignment
from inspections.schedules import (
    Rule,
    Schedule,
    ScheduleRefused,
    Status,
    Who,
    check_schedule,
    make_assignments,
    make_assignments_through,
    month_calendar,
    occurrences_between,
)
from inspections.submission import submit_inspection
from tests import factories
from tests.helpers import all_pass, logged_after, newest_cursor, submission

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), SHANGHAI)


@pytest.fixture
def world(session):
    site = factories.site(session)
    floor = factories.place(session, site, kind=LocationKind.FLOOR, name="1F")
    restrooms = [factories.place(session, site, name=n, parent=floor, area_type="restroom") for n in ("男卫", "女卫")]
    lobby = factories.place(session, site, name="大堂", parent=floor, area_type="lobby")
    cleaner = factories.person(session, site, role=Role.CLEANER)
    guards = [factories.person(session, site, role=Role.GUARD) for _ in range(2)]
    checklist = factories.checklist(session, area_type="restroom")
    return site, restrooms, lobby, cleaner, guards, checklist


def add(session, site, checklist, **fields) -> Schedule:
    schedule = Schedule(site_id=site.id, template_id=checklist.id, starts_on=date(2026, 12, 1), **fields)
    check_schedule(schedule)
    session.add(schedule)
    session.flush()
    return schedule


def assignments(session, schedule) -> list[tuple]:
    rows = (
        session.query(Assignment)
        .filter_by(schedule_id=schedule.id)
        .order_by(Assignment.due_on, Assignment.slot, Assignment.location_id, Assignment.assignee_id)
    )
    return [(a.due_on.day, a.slot[-5:] if "T" in a.slot else None, a.location.name, a.assignee_id) for a in rows]


def test_each_rule_makes_its_slots_for_the_right_people_once(session, world):
    site, restrooms, lobby, cleaner, guards, checklist = world
    daily = add(
        session,
        site,
        checklist,
        area_type="restroom",
        who=Who.PERSON,
        assignee_id=cleaner.id,
        rule=Rule.DAILY,
        times=["09:00", "15:00"],
    )
    weekly = add(
        session, site, checklist, location_id=lobby.id, who=Who.ROLE, role=Role.GUARD, rule=Rule.WEEKLY, weekdays=[0]
    )  # Mondays
    every_3 = add(
        session,
        site,
        checklist,
        location_id=lobby.id,
        who=Who.PERSON,
        assignee_id=cleaner.id,
        rule=Rule.EVERY_N_DAYS,
        every_days=3,
    )
    made = make_assignments(session, site, date(2026, 12, 1), date(2026, 12, 7))
    assert make_assignments(session, site, date(2026, 12, 1), date(2026, 12, 7)) == 0  # idempotent
    assert len(assignments(session, daily)) == 7 * 2 * 2  # 7 days × 2 times × 2 restrooms
    assert assignments(session, daily)[:2] == [(1, "09:00", "男卫", cleaner.id), (1, "09:00", "女卫", cleaner.id)]
    assert assignments(session, weekly) == [
        (7, None, "大堂", guards[0].id),
        (7, None, "大堂", guards[1].id),
    ]  # each guard
    assert [row[0] for row in assignments(session, every_3)] == [1, 4, 7]
    assert made == 28 + 2 + 3


def test_the_checks_a_schedule_makes_reach_the_phones_of_their_site(session, world):
    site, restrooms, lobby, cleaner, guards, checklist = world
    add(session, site, checklist, area_type="restroom", who=Who.PERSON, assignee_id=cleaner.id, rule=Rule.DAILY)
    session.commit()
    cursor = newest_cursor(session)
    assert make_assignments(session, site, date(2026, 12, 1), date(2026, 12, 3)) == 3 * 2
    session.commit()
    made = session.scalars(sa.select(Assignment.id)).all()
    assert logged_after(session, cursor, site) == {("assignment", str(i)) for i in made}


def test_on_duty_follows_the_area_duty_and_a_new_area_joins_its_type(session, world):
    site, restrooms, lobby, cleaner, guards, checklist = world
    other = factories.person(session, site, role=Role.CLEANER)
    assign_area(session, restrooms[0], cleaner, "early", date(2026, 12, 1))
    assign_area(session, restrooms[0], other, "early", date(2026, 12, 3))  # she takes over on the 3rd
    assign_area(session, restrooms[1], other, "early", date(2026, 12, 1))
    schedule = add(session, site, checklist, area_type="restroom", who=Who.ON_DUTY, rule=Rule.DAILY, times=["08:00"])
    make_assignments(session, site, date(2026, 12, 1), date(2026, 12, 3))
    mine = [(day, place) for day, _t, place, who in assignments(session, schedule) if who == cleaner.id]
    assert mine == [(1, "男卫"), (2, "男卫")]
    third = factories.place(session, site, name="无障碍卫生间", parent=restrooms[0].parent, area_type="restroom")
    assign_area(session, third, other, "early", date(2026, 12, 1))
    make_assignments(session, site, date(2026, 12, 4), date(2026, 12, 4))
    assert (4, "08:00", "无障碍卫生间", other.id) in assignments(session, schedule)


def test_the_calendar_tells_done_late_missed_and_due(session, world):
    site, restrooms, lobby, cleaner, guards, checklist = world
    add(
        session,
        site,
        checklist,
        location_id=restrooms[0].id,
        who=Who.PERSON,
        assignee_id=cleaner.id,
        rule=Rule.DAILY,
        times=["09:00"],
        window_minutes=60,
    )
    now = at(date(2026, 12, 4), 9, 30)
    make_assignments_through(session, site, date(2026, 12, 4))  # the schedules job, up to today
    slots = {a.due_on.day: a for a in session.query(Assignment).filter_by(site_id=site.id)}
    record(session, slots[1], cleaner, at(date(2026, 12, 1), 9, 40))  # within the hour
    record(session, slots[2], cleaner, at(date(2026, 12, 2), 11, 0))  # after it
    days = month_calendar(session, site, date(2026, 12, 1), now)  # the 3rd: nothing; the 4th: still open
    assert [{s: n for s, n in d.counts.items() if n} for d in days[:5]] == [
        {Status.DONE: 1},
        {Status.LATE: 1},
        {Status.MISSED: 1},
        {Status.DUE: 1},
        {Status.PLANNED: 1},  # the future has no assignments yet: what the schedule will make
    ]
    assert all(d.counts == {Status.PLANNED: 1} for d in days[4:])
    days = month_calendar(session, site, date(2026, 12, 1), now, assignee_id=guards[0].id)
    assert all(d.total == 0 for d in days)
    [late] = occurrences_between(session, site, date(2026, 12, 2), date(2026, 12, 2), now)
    assert (late.status, late.done_at) == (Status.LATE, at(date(2026, 12, 2), 11, 0))


def test_bad_schedules_are_refused_by_name(session, world):
    site, restrooms, lobby, cleaner, guards, checklist = world
    cases = [
        (dict(who=Who.PERSON, rule=Rule.DAILY), "place"),
        (dict(location_id=lobby.id, area_type="lobby", rule=Rule.DAILY), "place"),
        (dict(location_id=lobby.id, who=Who.PERSON, rule=Rule.DAILY), "person"),
        (dict(location_id=lobby.id, who=Who.ROLE, rule=Rule.DAILY), "role"),
        (dict(location_id=lobby.id, rule=Rule.WEEKLY), "weekdays"),
        (dict(location_id=lobby.id, rule=Rule.MONTHLY, per_month=40), "per_month"),
        (dict(location_id=lobby.id, rule=Rule.EVERY_N_DAYS), "every_days"),
        (dict(location_id=lobby.id, rule=Rule.DAILY, times=["25:00"]), "times"),
        (dict(location_id=lobby.id, rule=Rule.DAILY, ends_on=date(2026, 11, 1)), "ends_before_start"),
    ]
    for fields, code in cases:
        with pytest.raises(ScheduleRefused) as refused:
            check_schedule(Schedule(site_id=site.id, template_id=checklist.id, starts_on=date(2026, 12, 1), **fields))
        assert refused.value.code == code, fields


def record(session, assignment: Assignment, person, finished: datetime) -> None:
    """The person sends the assignment's checklist, all passed, finished at ``finished``."""
    sub = submission(
        assignment.template,
        assignment.location,
        all_pass(assignment.template),
        assignment_id=assignment.id,
        started_at=(finished - timedelta(minutes=5)).isoformat(),
        finished_at=finished.isoformat(),
    )
    submit_inspection(session, sub, actor=person, origin=Origin("web"), now=finished)
