"""Adding people and resetting their passwords: used by the manager's page and the shell."""
from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from inspections.org import Department, Role, Site, User

log = logging.getLogger(__name__)


class PersonRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    sites: list[Site],
    department: Department | None = None,
    locale: str = "zh",
    actor: User | None = None,
) -> User:
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise PersonRefused("username_taken", f"{username} is taken")
    if actor is not None and actor.role != Role.ADMIN:
        if role == Role.ADMIN or any(not actor.may_see_site(site.id) for site in sites):
            raise PersonRefused("not_allowed", f"{actor.username} may not create that account")
    user = User(username=username, display_name=display_name, role=role, locale=locale,
                department=department, sites=list(sites))
    user.set_password(password)
    session.add(user)
    session.flush()
    log.info("user %s (%s) created by %s", username, role.value, actor.username if actor else "shell")
    return user


def reset_password(session: Session, user: User, password: str, *, actor: User | None = None) -> None:
    user.set_password(password)
    session.flush()
    log.info("password of %s reset by %s", user.username, actor.username if actor else "shell")
