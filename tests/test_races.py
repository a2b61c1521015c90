"""Two writers at once, on PostgreSQL, where they really overlap: two devices, or a phone and a
web page, changing the same thing. Each race is made to happen, not hoped for: the test holds
the lock (or row) both writers need, waits until the database shows both of them waiting for
it, then lets go. What a person would expect is asserted: one ticket, a visible conflict, no
lost transition, a scan recorded on its version, the record's photos counted, a schedule saved.
"""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from foundation.base import LOCK_SPACES, utcnow
from foundation.org import Site
from inspections.records import Assignment, Inspection
from inspections.schedules import make_assignments_through
from tests.conftest import csrf_token, login
from tests.helpers import jpeg_bytes, sha
from tests.sync_client import get_token, inspection_payload, mutation, pull_all, push, put_photo, ticket_create
from tickets.models import Ticket
from webapp.extensions import db

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


@contextmanager
def holding(app, *statements: str, **params):
    """Runs ``statements`` in a transaction of the test's own and keeps it open (with whatever
    locks they took) until the block ends."""
    engine = sa.create_engine(app.config["SQLALCHEMY_DATABASE_URI"], poolclass=sa.NullPool)
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(sa.text(statement), params)
            yield conn
            conn.commit()
    finally:
        engine.dispose()


def lock(space: str, key: int) -> str:
    """The statement that takes the app's transaction lock ``(space, key)`` (foundation.base)."""
    return f"SELECT pg_advisory_xact_lock({LOCK_SPACES[space]}, {int(key)})"


def wait_for_waiters(app, count: int, timeout: float = 30) -> None:
    """Until ``count`` sessions of this database wait for a lock: the race is set."""
    with app.app_context():
        deadline = time.monotonic() + timeout
        query = sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        while (waiting := db.session.scalar(query)) < count:
            db.session.rollback()
            assert time.monotonic() < deadline, f"{waiting} of {count} writers reached the lock"
            time.sleep(0.02)
        db.session.rollback()


class Racers:
    """Calls started each in its own thread with its own client (a server's request each)."""

    def __init__(self, app, *calls) -> None:
        self.results: list = [None] * len(calls)
        self.threads = [
            threading.Thread(target=self._run, args=(app, n, call), daemon=True) for n, call in enumerate(calls)
        ]
        for thread in self.threads:
            thread.start()

    def _run(self, app, n, call) -> None:
        self.results[n] = call(app.test_client())

    def finish(self) -> list:
        for thread in self.threads:
            thread.join(60)
            assert not thread.is_alive(), "a writer never finished"
        return self.results


def _restroom(client, username: str):
    token = get_token(client, username, device_name=f"{username}-{uuid.uuid4().hex[:4]}")
    changes, _ = pull_all(client, token)
    template = next(
        c["data"] for c in changes if c["entity"] == "template" and c["data"]["title"] == "清洁标准：卫生间"
    )
    place = next(c["data"] for c in changes if c["entity"] == "location" and c["data"]["area_type"] == "restroom")
    return token, template, place


def test_two_failures_of_one_item_at_once_are_one_ticket(app, client, demo):
    """Two cleaners' phones send a failed 异味 at the same restroom to two servers at once."""
    mine, template, place = _restroom(client, "chenmei")
    other, _, _ = _restroom(client, "chenmei")  # her second phone

    def failing(token):
        payload = inspection_payload(template, place["id"], place["site_id"], fail="odour", photos=["ab" * 32])
        return lambda c: push(c, token, [mutation("inspection.submit", payload)]).get_json()["results"][0]

    with holding(app, lock("failures_at_place", place["id"])):
        racers = Racers(app, failing(mine), failing(other))
        wait_for_waiters(app, 2)
    first, second = racers.finish()
    assert (first["status"], second["status"]) == ("applied", "applied")
    with app.app_context():
        tickets = db.session.scalars(
            sa.select(Ticket).where(Ticket.location_id == place["id"], Ticket.item_id == "odour")
        ).all()
        assert len(tickets) == 1, [t.number for t in tickets]
        assert [e.action for e in tickets[0].events] == ["created", "reported"]  # the second joined it
    assert first["entity"]["tickets"] == second["entity"]["tickets"] == [tickets[0].number]


def _resolved_leak(client):
    """The engineer's leak (BY-20261126-0001) moved to resolved by her phone; its version."""
    engineer = get_token(client, "lihua")
    changes, _ = pull_all(client, engineer)
    leak = next(c["data"] for c in changes if c["entity"] == "ticket" and c["data"]["number"] == "BY-20261126-0001")
    version = leak["version"]
    for to in ("in_progress", "resolved"):
        result = push(
            client,
            engineer,
            [mutation("ticket.transition", {"ticket_id": leak["id"], "to": to, "base_version": version})],
        ).get_json()["results"][0]
        assert result["status"] == "applied", result
        version = result["entity"]["version"]
    return engineer, leak, version


@pytest.mark.parametrize("first", ["web", "phone"])
def test_a_close_on_the_web_and_a_reopen_on_a_phone_at_once_lose_nothing(app, client, demo, first):
    """Customer service closes the resolved leak on the web while the lead's phone reopens it,
    both from the same version, in each order: the close first, and the reopen applies on top
    (reopening a closed leak still makes sense); the reopen first, and the close comes back
    showing what changed. The history never moves out of "resolved" twice."""
    _, leak, version = _resolved_leak(client)
    lead_phone = get_token(client, "wangjl")
    desk = app.test_client()
    login(desk, "liuxia")
    token = csrf_token(desk, f"/tickets/{leak['number']}")
    reopen = mutation("ticket.transition", {"ticket_id": leak["id"], "to": "in_progress", "base_version": version})

    def close(_):
        form = {"csrf_token": token, "to": "closed", "base_version": version}
        return desk.post(f"/tickets/{leak['number']}/transition", data=form)

    def reopen_on_the_phone(c):
        return push(c, lead_phone, [reopen]).get_json()["results"][0]

    with holding(app, "SELECT 1 FROM ticket WHERE id = :id FOR UPDATE", id=uuid.UUID(leak["id"])):
        # Both wait for the ticket; the one that asked first gets it first.
        one = Racers(app, close if first == "web" else reopen_on_the_phone)
        wait_for_waiters(app, 1)
        other = Racers(app, reopen_on_the_phone if first == "web" else close)
        wait_for_waiters(app, 2)
    (web,), (phone,) = (one.finish(), other.finish()) if first == "web" else (other.finish(), one.finish())

    with app.app_context():
        ticket = db.session.get(Ticket, uuid.UUID(leak["id"]))
        moves = [e for e in ticket.events if e.action == "transition"]
        # Each move starts where the one before it ended: no move was made from a state that
        # had already been left.
        assert all(a.to_state == b.from_state for a, b in zip(moves, moves[1:], strict=False))
        assert [m.from_state for m in moves].count("resolved") == 1
        assert ticket.version == version + len(moves) - 2  # one version per change, none shared
        assert sorted(e.version for e in ticket.events) == list(range(1, ticket.version + 1))
    if first == "web":
        assert (web.status_code, phone["status"], phone["entity"]["state"]) == (303, "applied", "in_progress")
    else:  # the close, made from the resolved page, is shown what happened instead of saved
        assert (phone["status"], web.status_code) == ("applied", 409)
        assert 'id="changed-meanwhile"' in web.get_data(as_text=True)
    assert len(moves) - 2 == (web.status_code == 303) + (phone["status"] == "applied")


def test_a_ticket_reported_twice_at_once_under_two_mutation_ids_is_one_ticket_and_a_duplicate(app, client, demo):
    """Two phones of one guard report the same hazard (one ``ticket_id``) under two mutation
    ids, to two servers: one applies; the other is the duplicate of it, with its ticket."""
    guard = get_token(client, "zhangwei")
    spare = get_token(client, "zhangwei", device_name="备用手机")
    site_id = db_site_id(app)
    assert push(client, guard, [ticket_create(site_id, "今天的第一张")]).get_json()["results"][0]["status"] == "applied"
    report = ticket_create(site_id, "楼梯间有烟味")
    again = mutation("ticket.create", report["payload"])
    # Both pass the "is it there yet" check, then queue for today's ticket number.
    with holding(app, "SELECT 1 FROM ticket_counter FOR UPDATE"):
        racers = Racers(
            app,
            lambda c: push(c, guard, [report]).get_json()["results"][0],
            lambda c: push(c, spare, [again]).get_json()["results"][0],
        )
        wait_for_waiters(app, 2)
    results = racers.finish()
    assert sorted(r["status"] for r in results) == ["applied", "duplicate"]
    numbers = {r["entity"]["number"] for r in results}
    assert len(numbers) == 1
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(Ticket.title == "楼梯间有烟味")) == 1
        )


def db_site_id(app, code: str = "BY") -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Site.id).where(Site.code == code))


def test_a_photo_arriving_while_its_record_is_written_is_counted(app, client, demo):
    """The phone sends the record and its photo side by side, to two servers: whichever commits
    first, the record does not say "awaiting photos" once both are in."""
    token, template, place = _restroom(client, "chenmei")
    photo = jpeg_bytes(color=(200, 30, 30))
    payload = inspection_payload(template, place["id"], place["site_id"], fail="odour", photos=[sha(photo)])
    with holding(app, lock("photos_of_person", _user_id(app, "chenmei"))):
        record = Racers(app, lambda c: push(c, token, [mutation("inspection.submit", payload)]).get_json())
        wait_for_waiters(app, 1)  # the record is written and asks for the person's photos
        upload = Racers(app, lambda c: put_photo(c, token, photo))
        wait_for_waiters(app, 2)
    (pushed,) = record.finish()
    (uploaded,) = upload.finish()
    assert uploaded.status_code == 201 and pushed["results"][0]["status"] == "applied"
    with app.app_context():
        inspection = db.session.get(Inspection, uuid.UUID(payload["inspection_id"]))
        assert inspection.photos_missing == 0


def _user_id(app, username: str) -> int:
    from foundation.org import User

    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.username == username))


def test_a_schedule_saved_while_the_job_makes_the_days_checks_is_saved(app, demo):
    """The job makes the site's checks due while a manager's save does the same on another
    server: both finish, and each check is made once."""
    with app.app_context():
        site = db.session.scalar(sa.select(Site).where(Site.code == "BY"))
        site_id = site.id
        db.session.execute(sa.delete(Assignment).where(Assignment.site_id == site_id))
        db.session.execute(sa.text("UPDATE schedule SET made_through = NULL WHERE site_id = :s"), {"s": site_id})
        db.session.commit()

    def make(_client):
        with app.app_context():
            site = db.session.get(Site, site_id)
            made = make_assignments_through(db.session, site, (utcnow() + timedelta(hours=8)).date())
            db.session.commit()
            return made

    with holding(app, lock("assignments_of_site", site_id)):
        racers = Racers(app, make, make)
        wait_for_waiters(app, 2)
    # Either may take the lock first once it is free: one makes the checks, the other finds them made.
    made_by_each = sorted(racers.finish())
    assert made_by_each[0] == 0 and made_by_each[1] > 0
    with app.app_context():
        made = db.session.scalar(
            sa.select(sa.func.count()).select_from(Assignment).where(Assignment.site_id == site_id)
        )
        assert made == made_by_each[1]
