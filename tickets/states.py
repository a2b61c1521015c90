"""The one state machine every ticket follows, whichever screen or device moves it."""

from __future__ import annotations

import enum

from foundation.org import User
from foundation.roles import HANDLERS


class TicketState(str, enum.Enum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


S = TicketState
# (from, to) → who may: "handler" (supervisor, customer service, manager, admin) or also the assignee.
TRANSITIONS: dict[tuple[TicketState, TicketState], str] = {
    (S.NEW, S.ASSIGNED): "handler",
    (S.NEW, S.IN_PROGRESS): "assignee",
    (S.ASSIGNED, S.IN_PROGRESS): "assignee",
    (S.IN_PROGRESS, S.RESOLVED): "assignee",
    (S.RESOLVED, S.CLOSED): "handler",
    (S.RESOLVED, S.IN_PROGRESS): "handler",  # reopen: the fix did not hold
    (S.CLOSED, S.IN_PROGRESS): "handler",  # reopen after closing
}
OPEN_STATES = frozenset({S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.RESOLVED})
# Kinds nobody closes by hand: a cleaning rework closes when a lead's or customer service's
# re-check passes the item (§3.6.8), a fit-out violation when a re-inspection passes it
# (§3.2.4 4]); the re-check is the evidence.
CLOSED_BY_RECHECK = frozenset({"rework", "violation"})


class TransitionRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_handler(user: User) -> bool:
    return user.role in HANDLERS


def next_states(state: TicketState, user: User, assignee_id: int | None, kind: str = "") -> list[TicketState]:
    """The states ``user`` may move a ticket of ``kind`` to from ``state``, in the machine's order."""
    return [
        to
        for (frm, to), who in TRANSITIONS.items()
        if frm == state and _may(who, user, assignee_id) and not (to == S.CLOSED and kind in CLOSED_BY_RECHECK)
    ]


def check_transition(state: TicketState, to: TicketState, user: User, assignee_id: int | None, kind: str = "") -> None:
    """Raise ``TransitionRefused`` unless ``user`` may move the ticket from ``state`` to ``to``."""
    who = TRANSITIONS.get((state, to))
    if who is None:
        raise TransitionRefused("transition_not_allowed", f"{state.value} → {to.value} is not a transition")
    if to == S.CLOSED and kind in CLOSED_BY_RECHECK:
        raise TransitionRefused("recheck_required", f"a {kind} ticket closes only when a re-check passes")
    if not _may(who, user, assignee_id):
        raise TransitionRefused("transition_forbidden", f"{user.role} may not move {state.value} → {to.value}")


def _may(who: str, user: User, assignee_id: int | None) -> bool:
    return is_handler(user) or (who == "assignee" and user.id == assignee_id)
