"""Who may see and do what. Every view states its rule with one of these."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user, login_required
from sqlalchemy import Select

import tickets.queries
from foundation.org import Site, User
from foundation.roles import Role
from tickets.models import Ticket
from webapp.extensions import db


def roles_required(roles: frozenset[Role], *, supervisor_of: str | None = None) -> Callable:
    """Log in, then 403 unless the person's role is one of ``roles``. With ``supervisor_of``, a
    supervisor passes only as the lead of that department (the manual's 领班 and 主管 each run
    their own department's work: the cleaning lead plans cleaning, the security supervisor patrols)."""

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles or (
                supervisor_of and current_user.role == Role.SUPERVISOR and not current_user.leads(supervisor_of)
            ):
                abort(403)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # read by the access-matrix test
        return wrapped

    return decorate


def visible_sites(user: User) -> list[Site]:
    return user.sites_seen(db.session)


def visible_site_ids(user: User) -> list[int]:
    return [site.id for site in visible_sites(user)]


def require_site(site_id: int) -> None:
    """404 for a site the person does not work at: it need not know the site exists."""
    if not current_user.may_see_site(site_id):
        abort(404)


def visible_tickets(user: User) -> Select:
    return tickets.queries.visible_tickets(user, visible_site_ids(user))


def may_see_ticket(user: User, ticket: Ticket) -> bool:
    return db.session.scalar(visible_tickets(user).where(Ticket.id == ticket.id)) is not None
