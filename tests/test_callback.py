"""A complaint closes only after the call-back (回访, §3.3.4 4]–6]); an unsatisfied customer
reopens it."""

import pytest
import sqlalchemy as sa

from foundation.org import Origin
from tests.conftest import login, post_form
from tests.helpers import NOW
from tickets.models import Ticket
from tickets.services import record_callback, transition_ticket
from tickets.states import TicketState, TransitionRefused
from webapp.extensions import db

DESK = Origin("web", ip="10.0.0.3")
NOISE = "BY-20261126-0003"  # the demo's noise complaint, customer service's


def _resolved(session, demo) -> Ticket:
    ticket = session.scalar(sa.select(Ticket).where(Ticket.number == NOISE))
    desk = demo.user("liuxia")
    transition_ticket(session, ticket, TicketState.IN_PROGRESS, actor=desk, origin=DESK, now=NOW)
    transition_ticket(
        session, ticket, TicketState.RESOLVED, actor=desk, origin=DESK, now=NOW, note="已协调施工方午间停工"
    )
    return ticket


def test_a_complaint_does_not_close_without_a_callback(session, demo):
    ticket = _resolved(session, demo)
    with pytest.raises(TransitionRefused) as refused:
        transition_ticket(session, ticket, TicketState.CLOSED, actor=demo.user("wangjl"), origin=DESK, now=NOW)
    assert refused.value.code == "callback_required"


def test_a_satisfied_customer_closes_it_and_an_unsatisfied_one_reopens_it(session, demo):
    ticket = _resolved(session, demo)
    desk = demo.user("liuxia")
    record_callback(
        session, ticket, reached=True, satisfied=False, remark="中午仍有电钻声", actor=desk, origin=DESK, now=NOW
    )
    assert ticket.state == TicketState.IN_PROGRESS
    transition_ticket(session, ticket, TicketState.RESOLVED, actor=desk, origin=DESK, now=NOW)
    with pytest.raises(TransitionRefused):  # the earlier call-back was before this resolution
        transition_ticket(session, ticket, TicketState.CLOSED, actor=desk, origin=DESK, now=NOW)
    record_callback(session, ticket, reached=True, satisfied=True, remark="已安静", actor=desk, origin=DESK, now=NOW)
    assert ticket.state == TicketState.CLOSED
    assert [e.action for e in ticket.events if e.action == "callback"] == ["callback", "callback"]


def test_a_customer_not_reached_leaves_it_resolved_and_the_attempt_lets_a_handler_close(session, demo):
    ticket = _resolved(session, demo)
    with pytest.raises(TransitionRefused):  # a guard does not call customers back
        record_callback(
            session, ticket, reached=False, satisfied=None, remark="", actor=demo.user("zhangwei"), origin=DESK, now=NOW
        )
    record_callback(
        session,
        ticket,
        reached=False,
        satisfied=None,
        remark="三次无人接听",
        actor=demo.user("liuxia"),
        origin=DESK,
        now=NOW,
    )
    assert ticket.state == TicketState.RESOLVED
    transition_ticket(session, ticket, TicketState.CLOSED, actor=demo.user("wangjl"), origin=DESK, now=NOW)
    assert ticket.state == TicketState.CLOSED


def test_the_callback_form(app, client, demo):
    with app.app_context():
        _resolved(db.session, demo)
        db.session.commit()
    login(client, "liuxia")
    page = client.get(f"/tickets/{NOISE}").get_data(as_text=True)
    assert "Record call-back" in page and 'data-to="closed"' not in page
    missing = post_form(client, f"/tickets/{NOISE}/callback", {"reached": "yes"})
    assert missing.status_code == 422 and "Say whether the customer is satisfied." in missing.get_data(as_text=True)
    unhappy = post_form(
        client, f"/tickets/{NOISE}/callback", {"reached": "yes", "satisfied": "no", "remark": "仍有噪音"}
    )
    assert unhappy.status_code == 303
    page = client.get(f"/tickets/{NOISE}").get_data(as_text=True)
    assert "state-in_progress" in page and "Not satisfied" in page and "仍有噪音" in page
    assert post_form(client, f"/tickets/{NOISE}/callback", {"reached": "no"}).status_code == 409  # not resolved now
