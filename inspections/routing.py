"""Who a failed check's ticket goes to: one rule, never nobody.

The ticket's department is the checklist's on-fail rule's. Then, in this order, the first that
fits takes it:

1. ``on_duty``: whoever is on duty for the place when the check was done (the duty roster);
2. ``scheduled``: the person the check was scheduled for (for rework: the one who must redo it);
3. ``role``: when the on-fail rule names a role (the cleaning lead, say), the site's first person
   of that role in the ticket's department;
4. ``department_head``: the head of the ticket's department;
5. ``site_manager``: the person the site names for what nobody else takes, else its first manager;
6. and if the site has no manager, the company's first administrator.

The first three must belong to the ticket's department (a guard's check does not hand an
engineering hazard to the guard), and to the rule's role when it names one (a failure meant for
the lead does not stop at the cleaner on duty). Everyone must be active and work at the site. A
site's manager may turn steps 1, 2 and 4 off (``RoutingRule``); the last ones cannot be, so a
ticket always has a person.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from foundation.base import Base
from foundation.org import Department, Location, Site, User, user_site
from foundation.roles import Role
from inspections.cleaning import responsible_cleaner
from inspections.records import Assignment
from tickets.models import Ticket
from tickets.states import OPEN_STATES

log = logging.getLogger(__name__)


class Step(str, enum.Enum):
    ON_DUTY = "on_duty"
    SCHEDULED = "scheduled"
    ROLE = "role"
    DEPARTMENT_HEAD = "department_head"
    SITE_MANAGER = "site_manager"
    ADMIN = "admin"


OPTIONAL_STEPS = (Step.ON_DUTY, Step.SCHEDULED, Step.DEPARTMENT_HEAD)  # a site may turn these off


class RoutingRule(Base):
    """A site's changes to the rule: the steps it skips, and who takes what nobody else does."""

    __tablename__ = "routing_rule"

    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), primary_key=True)
    skipped: Mapped[list[str]] = mapped_column(JSON, default=list)  # Step values, of OPTIONAL_STEPS
    last_resort_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))


@dataclass(frozen=True)
class Route:
    person: User | None  # None only in a company with no active administrator
    step: Step | None


def rule_of(session: Session, site_id: int) -> RoutingRule:
    return session.get(RoutingRule, site_id) or RoutingRule(site_id=site_id, skipped=[], last_resort_id=None)


def route_failure(
    session: Session,
    *,
    site: Site,
    location: Location,
    department: Department | None,
    done_at: datetime,
    assignment_id: int | None,
    role: Role | None = None,
) -> Route:
    """The person a failure's ticket goes to, and the step of the rule that chose them."""
    rule = rule_of(session, site.id)

    def fits(person: User | None, *, of_department: bool) -> bool:
        return (
            person is not None
            and person.active
            and person.may_see_site(site.id)
            and not (of_department and department is not None and person.department_id != department.id)
            and not (of_department and role is not None and person.role != role)
        )

    def candidate(step: Step) -> User | None:
        if step == Step.ON_DUTY:
            return responsible_cleaner(session, location, done_at)
        if step == Step.SCHEDULED:
            assignment = session.get(Assignment, assignment_id) if assignment_id else None
            return session.get(User, assignment.assignee_id) if assignment else None
        if step == Step.ROLE:
            return _first(session, role, site, department) if role is not None else None
        if step == Step.DEPARTMENT_HEAD:
            return session.get(User, department.head_id) if department and department.head_id else None
        if step == Step.SITE_MANAGER:
            chosen = session.get(User, rule.last_resort_id) if rule.last_resort_id else None
            return chosen if fits(chosen, of_department=False) else _first(session, Role.MANAGER, site)
        return _first(session, Role.ADMIN, None)

    for step in Step:
        if step.value in rule.skipped and step in OPTIONAL_STEPS:
            continue
        person = candidate(step)
        if fits(person, of_department=step in (Step.ON_DUTY, Step.SCHEDULED, Step.ROLE)):
            return Route(person, step)
    log.error("no one to take a failure at site %s: the company has no active administrator", site.code)
    return Route(None, None)


def _first(session: Session, role: Role, site: Site | None, department: Department | None = None) -> User | None:
    query = select(User).where(User.role == role, User.active).order_by(User.id).limit(1)
    if site is not None:
        query = query.join(user_site).where(user_site.c.site_id == site.id)
    if department is not None:
        query = query.where(User.department_id == department.id)
    return session.scalar(query)


def site_people(session: Session, site: Site) -> list[User]:
    """Who a site's manager may name to take what nobody else does: its active desk and office."""
    return list(
        session.scalars(
            select(User)
            .join(user_site)
            .where(
                user_site.c.site_id == site.id,
                User.active,
                User.role.in_([Role.MANAGER, Role.SUPERVISOR, Role.CUSTOMER_SERVICE]),
            )
            .order_by(User.id)
        )
    )


def save_rule(session: Session, site: Site, *, skipped: list[Step], last_resort: User | None) -> RoutingRule:
    rule = session.get(RoutingRule, site.id) or RoutingRule(site_id=site.id)
    rule.skipped = [s.value for s in OPTIONAL_STEPS if s in skipped]
    rule.last_resort_id = last_resort.id if last_resort else None
    session.add(rule)
    return rule


def without_a_person(site_ids: list[int]) -> tuple:
    """The clause of open tickets a check opened that nobody has (the console's goal: none)."""
    return (
        Ticket.site_id.in_(site_ids),
        Ticket.inspection_id.is_not(None),
        Ticket.assignee_id.is_(None),
        Ticket.state.in_([s.value for s in OPEN_STATES]),
    )
