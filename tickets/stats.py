"""Counts for the manager's console: open work by department and the weeks' trend. Each is one
aggregate query over indexed columns, so the console stays fast with a large history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, func, select, true
from sqlalchemy.orm import Session

from foundation.org import Department
from tickets.models import Ticket, TicketKind, is_open_clause
from tickets.states import OPEN_STATES, TicketState


@dataclass
class DepartmentLoad:
    """Open tickets of one department (None: not given to a department yet)."""

    department: Department | None
    by_state: dict[TicketState, int] = field(default_factory=lambda: {s: 0 for s in TicketState if s in OPEN_STATES})
    overdue: int = 0
    awaiting_callback: int = 0  # complaints resolved, the tenant not yet called back

    @property
    def open(self) -> int:
        return sum(self.by_state.values())


def open_by_department(session: Session, site_ids: list[int], now: datetime) -> list[DepartmentLoad]:
    """Every department's open tickets by state, with the overdue ones; departments without
    open work are listed too, so a zero reads as a zero."""
    overdue = and_(Ticket.due_at < now, Ticket.state != TicketState.RESOLVED.value)
    callback = and_(Ticket.kind == TicketKind.COMPLAINT.value, Ticket.state == TicketState.RESOLVED.value)
    rows = session.execute(
        select(
            Ticket.department_id,
            Ticket.state,
            func.count(),
            func.count(case((overdue, 1))),
            func.count(case((callback, 1))),
        )
        .where(Ticket.site_id.in_(site_ids), is_open_clause())
        .group_by(Ticket.department_id, Ticket.state)
    ).all()
    loads = {d.id: DepartmentLoad(d) for d in session.scalars(select(Department).order_by(Department.id))}
    for department_id, state, count, late, awaiting in rows:
        load = loads.setdefault(department_id, DepartmentLoad(None))
        load.by_state[TicketState(state)] += count
        load.overdue += late
        load.awaiting_callback += awaiting
    return list(loads.values())


def weekly_counts(session: Session, column, week_starts: list[datetime], where, *series) -> list[list[int]]:
    """How many rows matching ``where`` have ``column`` in each week starting at ``week_starts``,
    once per condition in ``series`` (all rows if none): one query, one pass over the index."""
    bounds = [*week_starts, week_starts[-1] + timedelta(days=7)]
    weeks = list(zip(bounds, bounds[1:]))
    series = series or (true(),)
    counts = [func.count(case((and_(column >= a, column < b, condition), 1))) for condition in series for a, b in weeks]
    row = session.execute(select(*counts).where(column >= bounds[0], column < bounds[-1], where)).one()
    return [list(row[i * len(weeks) : (i + 1) * len(weeks)]) for i in range(len(series))]


@dataclass(frozen=True)
class TicketWeeks:
    opened: list[int]
    closed: list[int]


def ticket_weeks(session: Session, site_ids: list[int], week_starts: list[datetime]) -> TicketWeeks:
    mine = Ticket.site_id.in_(site_ids)
    return TicketWeeks(
        weekly_counts(session, Ticket.created_at, week_starts, mine)[0],
        weekly_counts(session, Ticket.closed_at, week_starts, mine)[0],
    )
