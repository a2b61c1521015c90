"""Overdue tickets climb: first to the head of the ticket's department, then to the site's
managers, as in-app notices, each told once. The clock runs round the week: a building's
water leak is as urgent on a Saturday night as on a Monday morning."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.notices import notify
from foundation.org import Department, Site, User
from foundation.roles import Role
from tickets.models import Ticket, is_open_clause
from tickets.states import TicketState

OPEN_UNRESOLVED = [TicketState.NEW.value, TicketState.ASSIGNED.value, TicketState.IN_PROGRESS.value]
MIN_GRACE = timedelta(hours=2)
HEAD, MANAGERS = 1, 2  # Ticket.escalated: how far it has climbed


def manager_after(ticket: Ticket) -> datetime:
    """When an overdue ticket goes on to the managers: half its allowed time again past due
    (at least two hours), so a two-hour job climbs fast and a three-day one does not."""
    allowed = ticket.due_at - ticket.created_at
    return ticket.due_at + max(MIN_GRACE, allowed / 2)


def escalate(session: Session, site: Site, now: datetime) -> int:
    """Raise the notices due at ``now``; returns how many were new. Runs whenever a supervisor or
    manager opens Today: a ticket remembers how far it has climbed, so only the ones with a step
    still to take are read."""
    overdue = list(
        session.scalars(
            select(Ticket).where(
                Ticket.site_id == site.id,
                is_open_clause(),
                Ticket.due_at < now,
                Ticket.state.in_(OPEN_UNRESOLVED),
                Ticket.escalated < MANAGERS,
            )
        )
    )
    if not overdue:
        return 0
    heads = {
        department_id: head
        for department_id, head in session.execute(
            select(Department.id, User).join(User, Department.head_id == User.id).where(User.active)
        )
    }
    managers = [
        u
        for u in session.scalars(select(User).where(User.role == Role.MANAGER, User.active))
        if u.may_see_site(site.id)
    ]
    raised = 0
    for ticket in overdue:
        link = f"/tickets/{ticket.number}"
        if ticket.escalated < HEAD:
            head = heads.get(ticket.department_id)
            if head is not None:
                raised += notify(
                    session,
                    head,
                    key=f"overdue:{ticket.id}:head",
                    what="ticket_overdue",
                    facts={"number": ticket.number, "title": ticket.title},
                    link=link,
                    now=now,
                )
            ticket.escalated = HEAD
        if now >= manager_after(ticket):
            for manager in managers:
                raised += notify(
                    session,
                    manager,
                    key=f"overdue:{ticket.id}:manager",
                    what="ticket_escalated",
                    facts={"number": ticket.number, "title": ticket.title},
                    link=link,
                    now=now,
                )
            ticket.escalated = MANAGERS
    return raised
