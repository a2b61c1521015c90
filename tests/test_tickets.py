"""The ticket state machine, numbering, conflicts and history."""

import itertools
from datetime import timedelta

import pytest
import sqlalchemy as sa

from foundation.org import Origin
from tests.helpers import NOW
from tickets.models import Ticket, TicketKind
from tickets.services import assign_ticket, comment_on_ticket, open_ticket, transition_ticket
from tickets.states import TRANSITIONS, TicketState, TransitionRefused

S = TicketState
PHONE = Origin("sync", ip="10.1.1.1")


def _ticket(session, demo, state=S.NEW, assignee="lihua") -> Ticket:
    by = demo.user("wangjl").sites[0]
    ticket = open_ticket(
        session, kind=TicketKind.REPAIR, title="漏水", site=by, actor=demo.user("liuxia"), origin=PHONE, now=NOW
    )
    ticket.state = state
    ticket.assignee_id = demo.user(assignee).id if assignee else None
    session.flush()
    return ticket


def _assign(session, ticket: Ticket, assignee, *, by) -> None:
    assign_ticket(session, ticket, assignee=assignee, department=None, actor=by, origin=PHONE, now=NOW)


ALL_PAIRS = [(a, b) for a, b in itertools.product(S, S) if a != b]


@pytest.mark.parametrize("frm, to", ALL_PAIRS, ids=[f"{a.value}->{b.value}" for a, b in ALL_PAIRS])
def test_every_transition_for_a_handler_the_assignee_and_a_bystander(session, demo, frm, to):
    rule = TRANSITIONS.get((frm, to))
    for who, allowed in [
        ("zhaoling", rule is not None),  # supervisor: a handler
        ("lihua", rule == "assignee"),  # the engineer it is assigned to
        ("zhangwei", False),
    ]:  # a guard with nothing to do with it
        ticket = _ticket(session, demo, frm)
        if allowed:
            outcome = transition_ticket(session, ticket, to, actor=demo.user(who), origin=PHONE, now=NOW)
            assert (outcome.status, ticket.state) == ("applied", to), who
            assert ticket.events[-1].from_state == frm.value and ticket.events[-1].to_state == to.value
        else:
            with pytest.raises(TransitionRefused):
                transition_ticket(session, ticket, to, actor=demo.user(who), origin=PHONE, now=NOW)
            assert ticket.state == frm, who


def test_sync_contract_transitions_all_exist():
    for pair in [
        (S.NEW, S.ASSIGNED),
        (S.NEW, S.IN_PROGRESS),
        (S.ASSIGNED, S.IN_PROGRESS),
        (S.IN_PROGRESS, S.RESOLVED),
        (S.RESOLVED, S.CLOSED),
        (S.RESOLVED, S.IN_PROGRESS),
        (S.CLOSED, S.IN_PROGRESS),
    ]:
        assert pair in TRANSITIONS


def test_stale_version_that_no_longer_makes_sense_is_a_conflict(session, demo):
    ticket = _ticket(session, demo, S.IN_PROGRESS)
    seen = ticket.version
    transition_ticket(session, ticket, S.RESOLVED, actor=demo.user("lihua"), origin=PHONE, now=NOW)
    transition_ticket(session, ticket, S.CLOSED, actor=demo.user("zhaoling"), origin=PHONE, now=NOW)
    outcome = transition_ticket(
        session, ticket, S.RESOLVED, actor=demo.user("lihua"), origin=PHONE, now=NOW, base_version=seen
    )
    assert outcome.status == "conflict"
    assert ticket.state == S.CLOSED


def test_stale_version_that_still_makes_sense_is_applied(session, demo):
    ticket = _ticket(session, demo, S.IN_PROGRESS)
    seen = ticket.version
    comment_on_ticket(session, ticket, text="材料已到", actor=demo.user("zhaoling"), origin=PHONE, now=NOW)
    outcome = transition_ticket(
        session, ticket, S.RESOLVED, actor=demo.user("lihua"), origin=PHONE, now=NOW, base_version=seen
    )
    assert outcome.status == "applied" and ticket.state == S.RESOLVED


def test_the_same_transition_twice_is_a_duplicate(session, demo):
    ticket = _ticket(session, demo, S.IN_PROGRESS)
    seen = ticket.version
    transition_ticket(session, ticket, S.RESOLVED, actor=demo.user("lihua"), origin=PHONE, now=NOW, base_version=seen)
    version = ticket.version
    again = transition_ticket(
        session, ticket, S.RESOLVED, actor=demo.user("lihua"), origin=PHONE, now=NOW, base_version=seen
    )
    assert again.status == "duplicate" and ticket.version == version


def test_assigning_records_who_when_and_from_where(session, demo):
    ticket = _ticket(session, demo, S.NEW, assignee=None)
    later = NOW + timedelta(minutes=5)
    assign_ticket(
        session,
        ticket,
        assignee=demo.user("lihua"),
        department=None,
        actor=demo.user("wangjl"),
        origin=Origin("web", ip="192.0.2.4"),
        now=later,
        note="今天处理",
    )
    event = ticket.events[-1]
    assert ticket.state == S.ASSIGNED and ticket.assignee_id == demo.user("lihua").id
    assert (event.action, event.actor_id, event.at, event.source, event.ip, event.note) == (
        "assigned",
        demo.user("wangjl").id,
        later,
        "web",
        "192.0.2.4",
        "今天处理",
    )


def test_only_handlers_assign_and_only_to_people_of_the_site(session, demo):
    ticket = _ticket(session, demo, S.NEW, assignee=None)
    with pytest.raises(TransitionRefused):
        _assign(session, ticket, demo.user("lihua"), by=demo.user("chenmei"))
    with pytest.raises(TransitionRefused):
        _assign(session, ticket, demo.user("sunqiang"), by=demo.user("wangjl"))
    assert ticket.state == S.NEW and ticket.assignee_id is None


def test_numbers_count_per_site_and_local_day(session, demo):
    by, xh = demo.user("admin").sites
    late_evening_utc = NOW.replace(hour=16, minute=30)  # 00:30 on the 27th in Shanghai
    first = open_ticket(session, kind=TicketKind.HAZARD, title="a", site=by, actor=None, origin=PHONE, now=NOW)
    second = open_ticket(session, kind=TicketKind.HAZARD, title="b", site=by, actor=None, origin=PHONE, now=NOW)
    other_site = open_ticket(session, kind=TicketKind.HAZARD, title="c", site=xh, actor=None, origin=PHONE, now=NOW)
    next_day = open_ticket(
        session, kind=TicketKind.HAZARD, title="d", site=by, actor=None, origin=PHONE, now=late_evening_utc
    )
    assert [first.number, second.number] == ["BY-20261126-0004", "BY-20261126-0005"]
    assert other_site.number == "XH-20261126-0002"
    assert next_day.number == "BY-20261127-0001"
    assert session.scalar(sa.select(sa.func.count(sa.distinct(Ticket.number)))) == session.scalar(
        sa.select(sa.func.count()).select_from(Ticket)
    )


def test_every_change_to_a_ticket_is_one_event_and_one_version(session, demo):
    """What a phone's base_version and the web's changed-meanwhile page rely on: a ticket's
    events carry versions 1, 2, 3 … without gaps or repeats, whatever made them."""
    ticket = _ticket(session, demo, S.NEW, assignee=None)
    _assign(session, ticket, demo.user("lihua"), by=demo.user("wangjl"))
    comment_on_ticket(session, ticket, text="材料已到", actor=demo.user("zhaoling"), origin=PHONE, now=NOW)
    for to in (S.IN_PROGRESS, S.RESOLVED, S.CLOSED, S.IN_PROGRESS):
        actor = demo.user("wangjl") if to == S.CLOSED or ticket.state == S.CLOSED else demo.user("lihua")
        transition_ticket(session, ticket, to, actor=actor, origin=PHONE, now=NOW)
    session.flush()
    assert [e.version for e in ticket.events] == list(range(1, ticket.version + 1))
    assert ticket.version == 7
