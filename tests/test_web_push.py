"""Web Push from the server's side, end to end through a push service stand-in that checks the
VAPID signature and decrypts what it receives (tests/push_service.py): a failure found at a
check reaches the phone of the person its ticket went to, and nobody else's."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from foundation.base import utcnow
from foundation.notices import Notice, notify
from foundation.org import Origin, User
from foundation.web_push import PushPreference, PushSubscription, make_keys, public_key
from inspections.records import Assignment
from inspections.schedules import raise_day_check_notices, raise_due_check_notices
from inspections.shifts import held_until, shifts_of
from inspections.submission import submit_inspection
from sync.tokens import issue_device_token, revoke_device
from tests import factories
from tests.conftest import login, post_form
from tests.helpers import all_pass, area, restroom_template, submission
from tests.push_service import PushService
from webapp.extensions import db
from webapp.jobs import run_job
from webapp.labels import notice_words
from webapp.web_push import push_job


@pytest.fixture
def push_service():
    service = PushService().start()
    yield service
    service.stop()


@pytest.fixture
def pushing(app, demo, push_service):
    """The app with its VAPID keys, allowed to send to the stand-in on this machine (as an
    on-premise push relay would be allowed, docs/SECURITY.md)."""
    app.config.update(WEBHOOK_ALLOW_HTTP=True, WEBHOOK_ALLOWED_NETWORKS=(ipaddress.ip_network("127.0.0.0/8"),))
    make_keys(Path(app.config["VAPID_KEY_FILE"]))
    return push_service


def phone_of(session, client, push_service, username: str):
    """A phone of ``username``, signed in and subscribed through the API as the app does."""
    person = session.scalar(sa.select(User).where(User.username == username))
    device, token = issue_device_token(session, person, name=f"{username} 的手机", user_agent="test", now=utcnow())
    # Never quiet (the same start and end): these tests run at whatever hour the machine's clock says.
    session.merge(PushPreference(user_id=person.id, muted=[], quiet_start=time(0), quiet_end=time(0)))
    session.commit()
    phone = push_service.new_phone()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/push/key", headers=headers).json["public_key"]
    response = client.put("/api/v1/push/subscription", json=phone.subscription(), headers=headers)
    assert response.status_code == 204, response.json
    device.headers = headers  # how the phone calls the API
    return device, phone


def a_failure(session, item: str = "odour"):
    """王经理's spot check fails the restroom's ``item``, with a photo: a rework ticket, routed."""
    manager = session.scalar(sa.select(User).where(User.username == "wangjl"))
    tpl = restroom_template()
    answers = [{**a, "value": "fail", "photos": ["ab" * 32]} if a["item_id"] == item else a for a in all_pass(tpl)]
    now = utcnow()
    sub = submission(tpl, area("BY", "restroom"), answers, started_at=(now - timedelta(minutes=5)).isoformat())
    sub.finished_at = now
    [ticket] = submit_inspection(session, sub, actor=manager, origin=Origin("web"), now=now).tickets
    session.commit()
    return ticket


def test_a_failure_reaches_the_phone_of_the_person_its_ticket_went_to_and_no_one_else(app, session, client, pushing):
    phones = {name: phone_of(session, client, pushing, name) for name in ("chenmei", "huangli", "zhaoling", "hemin")}
    ticket = a_failure(session)
    assert ticket.assignee is not None and ticket.assignee.username in phones

    assert run_job("push") == 1
    [received] = pushing.wait_for(1)
    assert received.endpoint == phones[ticket.assignee.username][1].endpoint
    assert received.message["url"] == f"/tickets/{ticket.number}"
    assert ticket.title in received.message["title"] and ticket.number in received.message["body"]
    assert received.vapid_key == public_key(Path(app.config["VAPID_KEY_FILE"]))
    assert received.ttl > 0 and received.claims["sub"].startswith("mailto:")

    assert run_job("push") == 0  # sent once
    assert len(pushing.received) == 1 and not pushing.refused


def test_a_revoked_phone_gets_nothing_and_a_phone_its_service_dropped_is_forgotten(session, client, pushing):
    kept_device, kept = phone_of(session, client, pushing, "chenmei")
    gone_device, gone = phone_of(session, client, pushing, "chenmei")
    revoked_device, revoked = phone_of(session, client, pushing, "chenmei")
    gone.status = 410
    revoke_device(session, revoked_device, now=utcnow())
    person = session.get(User, kept_device.user_id)
    notify(
        session,
        person,
        key=f"test:{uuid.uuid4()}",
        what="text",
        facts={"title": "巡查", "body": "B1"},
        link="/today",
        now=utcnow(),
    )
    session.commit()

    assert run_job("push") == 1
    assert [r.endpoint for r in pushing.wait_for(1)] == [kept.endpoint]
    left = session.scalars(sa.select(PushSubscription.device_id)).all()
    assert gone_device.id not in left and kept_device.id in left


def test_several_notices_at_once_are_one_notification(session, client, pushing):
    device, phone = phone_of(session, client, pushing, "chenmei")
    person = session.get(User, device.user_id)
    for title in ("一", "二", "三"):
        notify(
            session,
            person,
            key=f"test:{title}",
            what="text",
            facts={"title": title, "body": ""},
            link=f"/{title}",
            now=utcnow(),
        )
    session.commit()
    assert run_job("push") == 1
    [received] = pushing.wait_for(1)
    assert received.message["count"] == 3 and received.message["body"].split("\n") == ["三", "二", "一"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Notice).where(Notice.pushed_at.is_(None))) == 0


def test_the_server_does_not_push_to_its_own_network_unless_allowed(app, session, client, demo, push_service):
    make_keys(Path(app.config["VAPID_KEY_FILE"]))
    person = session.scalar(sa.select(User).where(User.username == "chenmei"))
    _, token = issue_device_token(session, person, name="phone", user_agent="test", now=utcnow())
    session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    response = client.put("/api/v1/push/subscription", json=push_service.new_phone().subscription(), headers=headers)
    assert response.status_code == 403 and response.json["error"]["code"] == "push_endpoint_refused"
    assert session.scalar(sa.select(sa.func.count()).select_from(PushSubscription)) == 0
    key = client.get("/api/v1/push/key", headers=headers).json["public_key"]
    assert key == public_key(Path(app.config["VAPID_KEY_FILE"]))


def test_a_phone_that_stops_pushes_gets_none_and_only_its_own_stop(session, client, pushing):
    stopped_device, _ = phone_of(session, client, pushing, "chenmei")
    kept_device, kept = phone_of(session, client, pushing, "chenmei")
    assert client.delete("/api/v1/push/subscription").status_code == 401  # a device token names the phone
    assert client.delete("/api/v1/push/subscription", headers=stopped_device.headers).status_code == 204
    assert session.scalars(sa.select(PushSubscription.device_id)).all() == [kept_device.id]
    notify(
        session,
        session.get(User, kept_device.user_id),
        key="test:stop",
        what="text",
        facts={"title": "t"},
        link="/today",
        now=utcnow(),
    )
    session.commit()
    assert run_job("push") == 1
    assert [r.endpoint for r in pushing.wait_for(1)] == [kept.endpoint]


def test_quiet_hours_hold_pushes_until_the_shift_starts_and_muted_kinds_stay_in_the_app(session, client, pushing):
    """陈梅 works the early shift (06:00–14:00 in Shanghai): a ticket given to her at 23:00 reaches
    her phone at 06:00, not at night; a kind she turned off never does."""
    device, phone = phone_of(session, client, pushing, "chenmei")
    person = session.get(User, device.user_id)
    session.delete(session.get(PushPreference, person.id))  # her own choice: none, so her shifts decide
    night = datetime(2026, 12, 3, 15, 0, tzinfo=timezone.utc)  # 23:00 local
    notify(session, person, key="test:night", what="text", facts={"title": "夜里派的工单"}, link="/today", now=night)
    session.commit()
    assert shifts_of(session, person, night.date())
    assert held_until(session, person, night) == datetime(2026, 12, 3, 22, 0, tzinfo=timezone.utc)
    assert push_job(session, night + timedelta(hours=2)) == 0  # 01:00: still held
    assert push_job(session, datetime(2026, 12, 3, 22, 0, 5, tzinfo=timezone.utc)) == 1  # 06:00:05
    assert [r.message["title"] for r in pushing.wait_for(1)] == ["夜里派的工单"]

    session.add(PushPreference(user_id=person.id, muted=["text"], quiet_start=None, quiet_end=None))
    day = datetime(2026, 12, 4, 2, 0, tzinfo=timezone.utc)  # 10:00 local, on shift
    notify(session, person, key="test:muted", what="text", facts={"title": "不推送"}, link="/today", now=day)
    session.commit()
    assert push_job(session, day) == 0 and len(pushing.received) == 1
    assert session.scalar(sa.select(Notice.read_at).where(Notice.key == "test:muted")) is None  # still in the app


def test_without_a_duty_roster_the_working_day_is_seven_to_ten(session, demo):
    manager = session.scalar(sa.select(User).where(User.username == "wangjl"))
    assert shifts_of(session, manager, datetime(2026, 12, 3).date()) == []
    at = datetime(2026, 12, 3, 14, 30, tzinfo=timezone.utc)  # 22:30 local
    assert held_until(session, manager, at) == datetime(2026, 12, 3, 23, 0, tzinfo=timezone.utc)  # 07:00
    assert held_until(session, manager, at - timedelta(hours=1)) is None  # 21:30
    session.add(PushPreference(user_id=manager.id, muted=[], quiet_start=time(23), quiet_end=time(6)))
    assert held_until(session, manager, at) is None  # her own: quiet from 23:00
    assert held_until(session, manager, at + timedelta(hours=1)) == datetime(2026, 12, 3, 22, 0, tzinfo=timezone.utc)


def test_each_person_chooses_what_is_pushed_and_when_for_themselves(app, client, demo):
    login(client, "chenmei", locale="en")
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('name="kinds"') == 6 and page.count("checked") == 6  # everything, until she says
    refused = post_form(
        client, "/notifications", {"kinds": ["assigned"], "quiet_start": "22:00"}, token_from="/notifications"
    )
    assert refused.status_code == 422 and "Give both times" in refused.get_data(as_text=True)
    saved = post_form(
        client,
        "/notifications",
        {"kinds": ["assigned", "rounds"], "quiet_start": "21:30", "quiet_end": "06:00"},
        token_from="/notifications",
    )
    assert saved.status_code == 303
    with app.app_context():
        person = db.session.scalar(sa.select(User).where(User.username == "chenmei"))
        mine = db.session.get(PushPreference, person.id)
        muted = ["check_due", "checks_today", "record_refused", "ticket_due_soon", "ticket_escalated", "ticket_overdue"]
        assert mine.muted == muted and (mine.quiet_start, mine.quiet_end) == (time(21, 30), time(6))
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PushPreference)) == 1  # hers alone
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count("checked") == 2 and 'value="21:30"' in page


def test_a_timed_check_coming_due_is_told_to_its_person_once_and_not_when_done_or_old(session):
    site = factories.site(session)
    restroom = factories.place(session, site, area_type="restroom")
    cleaner = factories.person(session, site)
    template = factories.checklist(session, site=site)
    now = utcnow()

    def slot(minutes_ago: int) -> Assignment:
        due = now - timedelta(minutes=minutes_ago)
        assignment = Assignment(
            site_id=site.id,
            template_id=template.id,
            location_id=restroom.id,
            assignee_id=cleaner.id,
            due_on=due.date(),
            due_at=due,
            note=f"{minutes_ago} 分钟前",
        )
        session.add(assignment)
        session.flush()
        return assignment

    fresh, old, done = slot(5), slot(120), slot(10)
    sub = submission(template, restroom, [{"item_id": "clean", "value": "pass"}], assignment_id=done.id)
    submit_inspection(session, sub, actor=cleaner, origin=Origin("web"), now=now)

    assert raise_due_check_notices(session, site, now) == 1
    assert raise_due_check_notices(session, site, now) == 0  # told once
    [notice] = session.scalars(sa.select(Notice).where(Notice.user_id == cleaner.id)).all()
    assert notice.key == f"due:{fresh.id}" and notice.facts["title"] == "5 分钟前" and old.id != fresh.id


def test_a_record_the_server_refuses_is_pushed_to_its_person_once_to_fix_it(session, client, pushing):
    device, phone = phone_of(session, client, pushing, "chenmei")
    refused = {
        "id": str(uuid.uuid4()),
        "type": "ticket.transition",
        "payload": {"ticket_id": str(uuid.uuid4()), "to": "in_progress", "base_version": 1},
    }
    body = {"device_time": utcnow().isoformat(), "mutations": [refused]}
    for _ in range(2):  # sent again after a lost answer: still one notice
        [result] = client.post("/api/v1/sync/push", json=body, headers=device.headers).json["results"]
        assert result["status"] == "rejected"
    assert run_job("push") == 1
    [received] = pushing.wait_for(1)
    assert received.endpoint == phone.endpoint and received.message["url"] == "/outbox"
    assert received.message["title"] == "未被接受：工单变更"


def test_the_days_checks_are_told_to_each_person_once_when_their_work_begins(session):
    site = factories.site(session)  # no duty roster: the working day is 07:00–22:00 site time
    restroom, lobby = factories.place(session, site, area_type="restroom"), factories.place(session, site)
    cleaner, other = factories.person(session, site), factories.person(session, site)
    template = factories.checklist(session, site=site)
    day = datetime(2026, 12, 1)  # a Tuesday, in the site's zone

    def check(place, person) -> Assignment:
        assignment = Assignment(
            site_id=site.id, template_id=template.id, location_id=place.id, assignee_id=person.id, due_on=day.date()
        )
        session.add(assignment)
        session.flush()
        return assignment

    check(restroom, cleaner), check(lobby, cleaner), check(restroom, other)
    done = check(lobby, other)
    sub = submission(template, lobby, [{"item_id": "clean", "value": "pass"}], assignment_id=done.id)
    submit_inspection(session, sub, actor=other, origin=Origin("web"), now=day.replace(tzinfo=timezone.utc))

    def at(hour: int, minute: int = 0) -> datetime:
        return day.replace(hour=hour, minute=minute, tzinfo=ZoneInfo(site.timezone)).astimezone(timezone.utc)

    assert raise_day_check_notices(session, site, at(0, 5)) == 0  # before work: nobody is woken
    assert raise_day_check_notices(session, site, at(7, 2)) == 2
    assert raise_day_check_notices(session, site, at(7, 7)) == 0  # once a day
    told = {
        n.user_id: n.facts["count"] for n in session.scalars(sa.select(Notice).where(Notice.what == "checks_today"))
    }
    assert told == {cleaner.id: 2, other.id: 1}
    with force_locale("zh"):
        notice = session.scalar(sa.select(Notice).where(Notice.user_id == cleaner.id))
        assert notice_words(notice) == ("今日有 2 项检查待做", site.name)
