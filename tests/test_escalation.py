"""Overdue tickets climb to the department head, then the managers, round the clock."""

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import force_locale

from foundation.notices import Notice
from foundation.org import Department, Origin, Site
from tests import factories
from tickets.escalation import escalate, manager_after, warn_assignees, warn_from
from tickets.models import Priority, TicketKind
from tickets.services import open_ticket
from tickets.states import TicketState
from webapp.labels import notice_words

SHANGHAI = ZoneInfo("Asia/Shanghai")
DESK = Origin("web", ip="10.0.0.2")


def test_a_friday_night_leak_climbs_over_the_weekend_and_across_midnight(session, demo):
    by = session.scalar(sa.select(Site).where(Site.code == "BY"))
    engineering = session.scalar(sa.select(Department).where(Department.code == "engineering"))
    friday_night = datetime(2026, 11, 27, 23, 30, tzinfo=SHANGHAI)  # a Friday
    leak = open_ticket(
        session,
        kind=TicketKind.REPAIR,
        title="B1 配电房漏水",
        site=by,
        department=engineering,
        priority=Priority.HIGH,
        actor=demo.user("liuxia"),
        origin=DESK,
        now=friday_night,
    )
    assert leak.due_at == friday_night + timedelta(hours=8)  # Saturday 07:30: no pause for the weekend
    assert manager_after(leak) == leak.due_at + timedelta(hours=4)  # half the 8 hours again

    def at(when):
        escalate(session, by, when.astimezone(timezone.utc))
        return {
            n.key.rsplit(":", 1)[1]: n.user_id
            for n in session.scalars(sa.select(Notice).where(Notice.key.like(f"overdue:{leak.id}:%")))
        }

    assert at(datetime(2026, 11, 28, 7, 29, tzinfo=SHANGHAI)) == {}
    assert at(datetime(2026, 11, 28, 7, 31, tzinfo=SHANGHAI)) == {"head": demo.user("lihua").id}
    assert at(datetime(2026, 11, 28, 11, 31, tzinfo=SHANGHAI)) == {
        "head": demo.user("lihua").id,
        "manager": demo.user("wangjl").id,
    }
    assert len(session.scalars(sa.select(Notice).where(Notice.key.like(f"overdue:{leak.id}:%"))).all()) == 2
    # Each reads it in their own language, whichever they chose after it was raised.
    to_manager = session.scalar(sa.select(Notice).where(Notice.key == f"overdue:{leak.id}:manager"))
    with force_locale("zh"):
        assert notice_words(to_manager) == ("工单严重逾期：B1 配电房漏水", f"{leak.number} 逾期未处理，已上报经理。")
    with force_locale("en"):
        assert notice_words(to_manager) == (
            "Ticket long overdue: B1 配电房漏水",
            f"{leak.number} is still not handled and has gone to the managers.",
        )


def test_a_short_job_climbs_after_two_hours_and_a_resolved_one_not_at_all(session, demo):
    by = session.scalar(sa.select(Site).where(Site.code == "BY"))
    cleaning = session.scalar(sa.select(Department).where(Department.code == "cleaning"))
    midnight = datetime(2026, 11, 29, 23, 0, tzinfo=SHANGHAI)  # Sunday, due after midnight
    spill = open_ticket(
        session,
        kind=TicketKind.REWORK,
        title="电梯厅呕吐物",
        site=by,
        department=cleaning,
        due_hours=1,
        actor=demo.user("zhaoling"),
        origin=DESK,
        now=midnight,
    )
    assert manager_after(spill) == midnight + timedelta(hours=3)  # 1 h allowed, at least 2 h more
    done = open_ticket(
        session,
        kind=TicketKind.REWORK,
        title="大堂水迹",
        site=by,
        department=cleaning,
        due_hours=1,
        actor=demo.user("zhaoling"),
        origin=DESK,
        now=midnight,
    )
    done.state = TicketState.RESOLVED
    escalate(session, by, (midnight + timedelta(hours=3, minutes=1)).astimezone(timezone.utc))
    keys = {n.key for n in session.scalars(sa.select(Notice))}
    assert f"overdue:{spill.id}:head" in keys and f"overdue:{spill.id}:manager" in keys
    assert not any(str(done.id) in key for key in keys)


def test_the_person_given_a_ticket_hears_once_when_its_due_time_nears_and_once_when_it_passes(session):
    site = factories.site(session)
    cleaning = factories.department(session, "cleaning")
    cleaner, relief = factories.person(session, site), factories.person(session, site)
    opened = datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)

    def ticket(title: str, *, due_hours: int, assignee):
        return open_ticket(
            session,
            kind=TicketKind.REWORK,
            title=title,
            site=site,
            department=cleaning,
            due_hours=due_hours,
            assignee=assignee,
            actor=None,
            origin=DESK,
            now=opened,
        )

    spill = ticket("大堂水迹", due_hours=2, assignee=cleaner)
    week = ticket("外墙清洗", due_hours=72, assignee=cleaner)
    done = ticket("电梯厅呕吐物", due_hours=2, assignee=cleaner)
    done.state = TicketState.RESOLVED
    assert warn_from(spill) == spill.due_at - timedelta(minutes=30)  # a quarter of 2 hours
    assert warn_from(week) == week.due_at - timedelta(hours=2)  # at most two hours ahead

    def told(at):
        warn_assignees(session, site, at)
        return sorted(
            (n.user_id, n.what, n.facts.get("minutes"), n.facts["title"])
            for n in session.scalars(sa.select(Notice).where(Notice.key.like("deadline:%")))
        )

    assert told(opened + timedelta(minutes=89)) == []
    soon = [(cleaner.id, "ticket_due_soon", 29, "大堂水迹")]
    assert told(opened + timedelta(minutes=91)) == soon
    assert told(opened + timedelta(minutes=95)) == soon  # once
    spill.assignee = relief  # handed on: the new person hears of it for themselves
    late = opened + timedelta(hours=2, minutes=1)
    assert told(late) == sorted([*soon, (relief.id, "ticket_overdue", None, "大堂水迹")])
    assert warn_assignees(session, site, opened + timedelta(hours=70, minutes=1)) == 1  # the week's job, 2 h ahead
    with force_locale("zh"):
        notice = session.scalar(sa.select(Notice).where(Notice.key == f"deadline:{spill.id}:soon:{cleaner.id}"))
        assert notice_words(notice) == ("即将到期：大堂水迹", f"{spill.number} 还有 29 分钟到期。")
    with force_locale("en"):
        assert notice_words(notice) == ("Due soon: 大堂水迹", f"{spill.number} is due in 29 min.")
    assert not session.scalars(sa.select(Notice).where(Notice.key.like(f"deadline:{done.id}:%"))).all()
