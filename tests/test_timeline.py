"""A place's history in one list: checks with their scores, and the tickets opened and closed."""

import re
from datetime import timedelta

import sqlalchemy as sa

from foundation.org import Location, Origin, Site
from inspections.submission import submit_inspection
from tests.conftest import login, logout
from tests.helpers import NOW, all_pass, area, restroom_template, submission, with_answer
from webapp.extensions import db


def _history(app, demo):
    with app.app_context():
        lead, desk = demo.user("zhaoling"), demo.user("liuxia")
        restroom = area("BY", "restroom")
        tpl = restroom_template()
        for who, answers, minutes in [
            (lead, with_answer(all_pass(tpl), "odour", value="fail", photos=["ab" * 32]), 0),
            (desk, all_pass(tpl), 45),
        ]:
            when = NOW + timedelta(minutes=minutes)
            sub = submission(tpl, restroom, answers, started_at=when.isoformat(), finished_at=when.isoformat())
            submit_inspection(db.session, sub, actor=who, origin=Origin("web"), now=when)
        db.session.commit()
        return restroom.id, restroom.parent_id


def _rows(html: str) -> list[tuple[str, str]]:
    return [
        (stream, re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)).strip())
        for stream, body in re.findall(r'<li class="row" data-stream="(\w+)">(.*?)</li>', html, re.S)
    ]


def test_a_restrooms_history_newest_first_and_filtered(app, client, demo):
    restroom_id, floor_id = _history(app, demo)
    login(client, "wangjl")
    rows = _rows(client.get(f"/tickets/places/{restroom_id}").get_data(as_text=True))
    # Newest first; what a check caused (a ticket opened or closed) stands just above the check.
    assert [stream for stream, _ in rows] == ["tickets", "cleaning", "tickets", "cleaning"]
    assert "Closed" in rows[0][1] and "无异味" in rows[0][1]
    assert "Spot check" in rows[1][1] and "Score 100" in rows[1][1]
    assert "opened" in rows[2][1]
    assert "Lead&#39;s patrol" in rows[3][1] and "1 failed" in rows[3][1]

    only_tickets = _rows(client.get(f"/tickets/places/{restroom_id}?show=tickets").get_data(as_text=True))
    assert [stream for stream, _ in only_tickets] == ["tickets", "tickets"]
    floor = _rows(client.get(f"/tickets/places/{floor_id}?show=cleaning").get_data(as_text=True))
    assert len(floor) == 2 and "男卫生间" in floor[0][1]  # a floor shows what happened in its areas


def test_who_may_read_a_places_history(app, client, demo):
    restroom_id, _ = _history(app, demo)
    with app.app_context():
        other = db.session.scalar(sa.select(Location.id).join(Site).where(Site.code == "XH"))
    login(client, "chenmei")
    assert client.get(f"/tickets/places/{restroom_id}").status_code == 403
    logout(client)
    login(client, "zhaoling")
    assert client.get(f"/tickets/places/{restroom_id}").status_code == 200
    assert client.get(f"/tickets/places/{other}").status_code == 404
