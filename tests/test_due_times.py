"""A site sets how long each kind of ticket may take; new tickets follow it."""

from datetime import timedelta

import sqlalchemy as sa

from foundation.org import Department, Origin, Site
from tests.conftest import login, logout, post_form
from tests.helpers import NOW
from tickets.models import Priority, TicketKind
from tickets.services import open_ticket
from webapp.extensions import db


def _fields(**changes):
    fields = {f"h_{k.value}_{p.value}": "24" for k in TicketKind for p in Priority}
    return {**fields, **changes}


def test_a_manager_sets_the_sites_due_times_and_new_tickets_follow(app, client, demo):
    login(client, "wangjl")
    bad = post_form(
        client,
        "/tickets/due-times",
        _fields(h_repair_urgent="0", h_complaint_high="soon"),
        token_from="/tickets/due-times",
    )
    assert bad.status_code == 422 and "Number must be between 1 and 2160." in bad.get_data(as_text=True)
    with app.app_context():
        by = db.session.scalar(sa.select(Site).where(Site.code == "BY"))
        engineering = db.session.scalar(sa.select(Department).where(Department.code == "engineering"))
        before = open_ticket(
            db.session,
            kind=TicketKind.REPAIR,
            title="x",
            site=by,
            department=engineering,
            priority=Priority.URGENT,
            actor=None,
            origin=Origin("cli"),
            now=NOW,
        )
        assert before.due_at == NOW + timedelta(hours=2)  # the default for urgent
        db.session.rollback()
    assert (
        post_form(
            client, "/tickets/due-times", _fields(h_repair_urgent="1"), token_from="/tickets/due-times"
        ).status_code
        == 303
    )
    with app.app_context():
        by = db.session.scalar(sa.select(Site).where(Site.code == "BY"))
        repair = open_ticket(
            db.session,
            kind=TicketKind.REPAIR,
            title="停电",
            site=by,
            priority=Priority.URGENT,
            actor=None,
            origin=Origin("cli"),
            now=NOW,
        )
        complaint = open_ticket(
            db.session,
            kind=TicketKind.COMPLAINT,
            title="噪音",
            site=by,
            priority=Priority.LOW,
            actor=None,
            origin=Origin("cli"),
            now=NOW,
        )
        assert repair.due_at == NOW + timedelta(hours=1) and complaint.due_at == NOW + timedelta(hours=24)
    logout(client)
    login(client, "liuxia")
    assert client.get("/tickets/due-times").status_code == 403
