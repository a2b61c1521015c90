"""What a person may see changes, and their phone follows (SYNC.md v1.2, "Scope changes"): an
entity that leaves their sight is deleted from it, and a site, role or department given or taken
makes the next pull start over (``reset``), whatever cursor the phone holds."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from foundation.org import Department, Origin, Site, User
from foundation.people import edit_person
from foundation.roles import Role
from inspections.records import Assignment
from tests.helpers import NOW
from tests.sync_client import auth, get_token, pull_all
from tickets.models import Ticket
from tickets.services import assign_ticket
from webapp.extensions import db

DESK = Origin("web", ip="192.0.2.1")


def _pull(client, token, cursor):
    """One page from ``cursor``, as a client written against SYNC.md pulls it."""
    return client.get(f"/api/v1/sync/pull?cursor={cursor}&limit=1000", headers=auth(token)).get_json()


def _held(changes) -> dict:
    """What a device holds after applying these changes in order."""
    held = {}
    for change in changes:
        key = (change["entity"], change["id"])
        if change["op"] == "delete":
            held.pop(key, None)
        else:
            held[key] = change["data"]
    return held


def test_a_ticket_reassigned_out_of_her_sight_leaves_her_phone(app, client, demo):
    engineer = get_token(client, "lihua")
    changes, cursor = pull_all(client, engineer)
    leak = next(c["data"] for c in changes if c["entity"] == "ticket" and c["data"]["number"] == "BY-20261126-0001")
    with app.app_context():
        ticket = db.session.get(Ticket, uuid.UUID(leak["id"]))
        security = db.session.scalar(sa.select(Department).where(Department.code == "security"))
        guard = db.session.scalar(sa.select(User).where(User.username == "zhangwei"))
        desk = db.session.scalar(sa.select(User).where(User.username == "wangjl"))
        assign_ticket(db.session, ticket, assignee=guard, department=security, actor=desk, origin=DESK, now=NOW)
        db.session.commit()
    body = _pull(client, engineer, cursor)
    assert {"entity": "ticket", "id": leak["id"], "op": "delete"} in [
        {k: c[k] for k in ("entity", "id", "op")} for c in body["changes"]
    ]
    assert "reset" not in body


def test_a_check_given_to_someone_else_leaves_her_phone(app, client, demo):
    cleaner = get_token(client, "chenmei")
    changes, cursor = pull_all(client, cleaner)
    mine = [c["id"] for c in changes if c["entity"] == "assignment"]
    assert mine
    with app.app_context():
        other = db.session.scalar(sa.select(User.id).where(User.username == "huangli"))
        db.session.get(Assignment, int(mine[0])).assignee_id = other
        db.session.commit()
    body = _pull(client, cleaner, cursor)
    assert [(c["entity"], c["id"], c["op"]) for c in body["changes"]] == [("assignment", mine[0], "delete")]


def _give_site(user, session):
    user.sites = [*user.sites, session.scalar(sa.select(Site).where(Site.code == "XH"))]


def _take_site(user, session):
    user.sites = []


def _make_supervisor(user, session):
    user.role = Role.SUPERVISOR


def _move_department(user, session):
    user.department = session.scalar(sa.select(Department).where(Department.code == "engineering"))


@pytest.mark.parametrize("cause", [_give_site, _take_site, _make_supervisor, _move_department])
def test_sites_role_or_department_changed_start_the_next_pull_over(app, client, demo, cause):
    """Whatever changed, after the reset the phone holds exactly what a new phone of hers would."""
    cleaner = get_token(client, "chenmei")
    _, cursor = pull_all(client, cleaner)
    with app.app_context():
        person = db.session.scalar(sa.select(User).where(User.username == "chenmei"))
        cause(person, db.session)
        db.session.commit()
    body = _pull(client, cleaner, cursor)
    assert body["reset"] is True and not body["has_more"]
    assert all(c["op"] == "upsert" for c in body["changes"])  # nothing to delete in a new copy
    fresh_phone = get_token(client, "chenmei", device_name="新手机")
    everything, _ = pull_all(client, fresh_phone)
    assert _held(body["changes"]) == _held(everything)
    # and the cursor it gave is of the new scope: the next pull goes on from there
    after = _pull(client, cleaner, body["cursor"])
    assert "reset" not in after and after["changes"] == []


def test_edit_person_gives_a_site_and_the_new_sites_places_reach_the_phone(app, client, demo):
    cleaner = get_token(client, "chenmei")
    before, cursor = pull_all(client, cleaner)
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.username == "admin"))
        person = db.session.scalar(sa.select(User).where(User.username == "chenmei"))
        sites = list(db.session.scalars(sa.select(Site).order_by(Site.id)))
        edit_person(
            db.session,
            person,
            display_name=person.display_name,
            role=person.role,
            sites=sites,
            department=person.department,
            actor=admin,
        )
        db.session.commit()
        xh = db.session.scalar(sa.select(Site.id).where(Site.code == "XH"))
    assert xh not in {c["data"].get("site_id") for c in before}
    body = _pull(client, cleaner, cursor)
    assert body["reset"] is True
    assert xh in {c["data"].get("site_id") for c in body["changes"]}


def test_a_cursor_from_before_scopes_goes_on_without_a_reset(app, client, demo):
    """A phone updated from v1.1 holds a ``c2`` cursor: it is read as it always was."""
    cleaner = get_token(client, "chenmei")
    _, cursor = pull_all(client, cleaner)
    position = ".".join(cursor.split(".")[1:3])
    body = _pull(client, cleaner, f"c2.{position}")
    assert "reset" not in body and body["changes"] == []
