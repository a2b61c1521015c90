"""Adding people and resetting their passwords: used by the manager's page and the shell."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from inspections.org import Department, LoginFailure, Role, Site, User
from inspections.text import TextRefused, check_name

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
    try:
        check_name(display_name)
    except TextRefused as refused:
        raise PersonRefused(refused.code, f"the name {refused}") from None
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


LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_MAX_FAILURES = 5  # per username: guessing one person's password
# Per address: trying many usernames from one place. Higher, because a whole site office may
# share one address behind its router.
LOGIN_MAX_FAILURES_PER_ADDRESS = 30


def login_throttled(session: Session, username: str, address: str | None, now: datetime) -> bool:
    """True after too many recent failures for this username, or from this address."""
    since = now - LOGIN_WINDOW
    recent = select(func.count()).select_from(LoginFailure).where(LoginFailure.at > since)
    if session.scalar(recent.where(LoginFailure.username == username[:64])) >= LOGIN_MAX_FAILURES:
        return True
    return address is not None and session.scalar(
        recent.where(LoginFailure.address == address)) >= LOGIN_MAX_FAILURES_PER_ADDRESS


def authenticate(session: Session, username: str, password: str, address: str | None,
                 now: datetime) -> User | None:
    """The active user with these credentials, or None (and the failure is counted)."""
    user = session.scalar(select(User).where(User.username == username))
    if user is not None and user.active and user.check_password(password):
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))
        return user
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - LOGIN_WINDOW))
    session.add(LoginFailure(username=username[:64], address=address and address[:45], at=now))
    session.flush()
    log.info("failed login for %s", username)
    return None
