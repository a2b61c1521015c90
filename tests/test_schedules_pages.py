"""排班与计划 in the browser's terms: a lead schedules the restroom standard, the cleaner sees it
on Today, the calendar shows it; a bad schedule shows what to fix and saves nothing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from foundation.org import Site, User
from inspections.schedules import Schedule
from tests.conftest import login, logout, post_form
from tests.helpers import restroom_template
from webapp.extensions import db


def ids(app):
    with app.app_context():
        by = db.session.scalar(sa.select(Site).where(Site.code == "BY")).id
        chenmei = db.session.scalar(sa.select(User).where(User.username == "chenmei")).id
        return by, chenmei, restroom_template().id


def test_a_lead_schedules_a_check_and_the_cleaner_sees_it(app, demo, client):
    by, chenmei, restroom = ids(app)
    login(client, "zhaoling")
    form = {
        "template_id": restroom,
        "place": "type:restroom",
        "who": "person",
        "assignee_id": chenmei,
        "role": "",
        "rule": "daily",
        "times": "00:00",
        "window_minutes": 60,
        "starts_on": "2026-01-01",
        "title": "卫生间早检（测试）",
    }
    response = post_form(client, f"/schedules?site={by}", form, token_from=f"/schedules?site={by}")
    assert response.status_code == 303
    assert "卫生间早检（测试）" in client.get(f"/schedules?site={by}").get_data(as_text=True)
    calendar = client.get(f"/schedules/calendar?site={by}").get_data(as_text=True)
    assert (
        "data-calendar" in calendar and 'data-status="missed">10<' in calendar
    )  # ten restrooms, none checked by 01:00
    logout(client)
    login(client, "chenmei")
    assert "卫生间早检（测试）" in client.get("/today").get_data(as_text=True)


def test_a_bad_schedule_shows_what_to_fix_and_saves_nothing(app, demo, client):
    by, chenmei, restroom = ids(app)
    login(client, "zhaoling")
    form = {
        "template_id": restroom,
        "place": "type:restroom",
        "who": "person",
        "assignee_id": 0,
        "rule": "weekly",
        "times": "8 点",
        "window_minutes": 60,
        "starts_on": "2026-12-01",
    }
    response = post_form(client, f"/schedules?site={by}", form, token_from=f"/schedules?site={by}")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for message in ("Choose the person.", "Choose at least one day.", "Times like 08:00"):
        assert message in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Schedule.id)).where(Schedule.title == "")) == 0


def test_who_may_plan(app, demo, client):
    by, chenmei, restroom = ids(app)
    login(client, "chenmei")
    assert client.get(f"/schedules?site={by}").status_code == 403
    assert client.get(f"/schedules/calendar?site={by}").status_code == 403
    logout(client)
    login(client, "hemin")  # XH's manager
    assert client.get(f"/schedules?site={by}").status_code == 404
    assert client.get(f"/schedules/calendar?site={by}").status_code == 404


def test_stopping_a_schedule_keeps_what_it_made(app, demo, client):
    by, chenmei, restroom = ids(app)
    login(client, "zhaoling")
    with app.app_context():
        task = db.session.scalars(sa.select(Schedule).where(Schedule.site_id == by)).first()
        task_id, title = task.id, task.title
    assert post_form(client, f"/schedules/{task_id}/stop", {}, token_from=f"/schedules?site={by}").status_code == 303
    with app.app_context():
        assert db.session.get(Schedule, task_id).active is False
    assert title not in client.get(f"/schedules?site={by}").get_data(as_text=True).split("Add a schedule")[0]
    logout(client)
    login(client, "hemin")
    assert post_form(client, f"/schedules/{task_id}/stop", {}, token_from="/today").status_code == 404


def test_the_calendar_shows_what_is_planned_on_days_to_come(app, demo, client):
    by, chenmei, restroom = ids(app)
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()  # the site's day, whatever the hour here
    login(client, "zhaoling")
    form = {
        "template_id": restroom,
        "place": "type:restroom",
        "who": "person",
        "assignee_id": chenmei,
        "role": "",
        "rule": "daily",
        "times": "09:00",
        "window_minutes": 60,
        "starts_on": today.isoformat(),
        "title": "卫生间早检（计划）",
    }
    assert post_form(client, f"/schedules?site={by}", form, token_from=f"/schedules?site={by}").status_code == 303
    following = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    calendar = client.get(f"/schedules/calendar?site={by}&month={following:%Y-%m}").get_data(as_text=True)
    planned = re.findall(r'data-status="planned">(\d+)<', calendar)
    assert len(planned) >= 28 and all(int(n) >= 10 for n in planned)  # ten restrooms a day, every day
    assert 'data-status="missed">' in calendar and "Planned" in calendar
    mine = client.get(f"/schedules/calendar?site={by}&month={following:%Y-%m}&person={chenmei}").get_data(as_text=True)
    other = client.get(f"/schedules/calendar?site={by}&month={following:%Y-%m}&person=999999").get_data(as_text=True)
    assert re.search(r'data-status="planned">\d+<', mine) and not re.search(r'data-status="planned">\d+<', other)
    # A day to come opens the list of what it will bring: each check, its place, its person, its time.
    day = following + timedelta(days=3)
    listed = client.get(
        f"/schedules/calendar?site={by}&month={following:%Y-%m}&person={chenmei}&day={day.isoformat()}"
    ).get_data(as_text=True)
    rows = re.findall(r"<li class=\"row\" data-planned>(.*?)</li>", listed, re.S)
    assert len(rows) >= 10 and "Nothing was due" not in listed
    assert all("卫生间早检（计划）" in r and "陈梅" in r and "卫生间" in r and "09:00" in r for r in rows), rows[0]
