"""Which tickets a person may see: the one rule the pages and the sync pull share."""

from __future__ import annotations

from sqlalchemy import Select, or_, select

from foundation.org import User
from tickets.models import Ticket
from tickets.states import is_handler


def visible_tickets(user: User, site_ids: list[int]) -> Select:
    """Handlers see every ticket of their sites; field staff see theirs and their department's."""
    query = select(Ticket).where(Ticket.site_id.in_(site_ids))
    if is_handler(user):
        return query
    mine = [Ticket.assignee_id == user.id, Ticket.created_by_id == user.id]
    if user.department_id is not None:
        mine.append(Ticket.department_id == user.department_id)
    return query.where(or_(*mine))
