"""Overdue tickets climb: first to the head of the ticket's department, then to the site's
managers, as in-app notices, each told once. Before that, the person a ticket is given to is
told when its due time nears and when it passes (``warn_assignees``). The clock runs round the
week: a building's water leak is as urgent on a Saturday night as on a Monday morning."""

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
WARN_AHEAD_MAX = timedelta(hours=2)
# An assignee is told of a due time passing within this long of it. The job runs every five
# minutes, so a ticket past due for longer was told already; this keeps each run from reading
# every ticket ever left overdue.
TOLD_WITHIN = timedelta(days=1)


def manager_after(ticket: Ticket) -> datetime:
    """When an overdue ticket goes on to the managers: half its allowed time again past due
    (at least two hours), so a two-hour job climbs fast and a three-day one does not."""
    allowed = ticket.due_at - ticket.created_at
    return ticket.due_at + max(MIN_GRACE, allowed / 2)


def warn_from(ticket: Ticket) -> datetime:
    """When the person a ticket is given to hears that its due time nears: a quarter of its
    allowed time before it, at most two hours (a 2-hour job warns 30 minutes ahead)."""
    return ticket.due_at - min(WARN_AHEAD_MAX, (ticket.due_at - ticket.created_at) / 4)


def warn_assignees(session: Session, site: Site, now: datetime) -> int:
    """Tell each assignee once that their ticket's due time nears, and once that it has passed;
    a ticket given to someone else meanwhile tells them afresh. Returns how many were new."""
    near = session.scalars(
        select(Ticket).where(
            Ticket.site_id == site.id,
            is_open_clause(),
            Ticket.state.in_(OPEN_UNRESOLVED),
            Ticket.assignee_id.is_not(None),
            Ticket.due_at < now + WARN_AHEAD_MAX,
            Ticket.due_at > now - TOLD_WITHIN,
        )
    )
    raised = 0
    for ticket in near:
        facts = {"number": ticket.number, "title": ticket.title}
        if ticket.due_at < now:
            key, what = f"deadline:{ticket.id}:past:{ticket.assignee_id}", "ticket_overdue"
        elif warn_from(ticket) <= now:
            key, what = f"deadline:{ticket.id}:soon:{ticket.assignee_id}", "ticket_due_soon"
            facts["minutes"] = max(1, round((ticket.due_at - now).total_seconds() / 60))
        else:
            continue
        if ticket.assignee.active:
            link = f"/tickets/{ticket.number}"
            raised += notify(session, ticket.assignee, key=key, what=what, facts=facts, link=link, now=now)
    return raised


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
