"""Adding people and resetting their passwords: used by the manager's page and the shell."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from foundation.base import utcnow
from foundation.org import Department, LoginFailure, Site, User, hash_password, no_account_check
from foundation.roles import Role
from foundation.sessions import end_everything
from foundation.text import TextRefused, check_name, check_password

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
    hashed: str | None = None,
) -> User:
    """A new account. ``hashed`` is the password's hash when the caller made it beforehand."""
    try:
        check_name(display_name)
    except TextRefused as refused:
        raise PersonRefused(refused.code, f"the name {refused}") from None
    _check_password(password)
    if session.scalar(select(User).where(User.username == username)) is not None:
        raise PersonRefused("username_taken", f"{username} is taken")
    if actor is not None and actor.role != Role.ADMIN:
        if role == Role.ADMIN or any(not actor.may_see_site(site.id) for site in sites):
            raise PersonRefused("not_allowed", f"{actor.username} may not create that account")
    user = User(
        username=username, display_name=display_name, role=role, locale=locale, department=department, sites=list(sites)
    )
    user.password_hash = hashed or hash_password(password)
    session.add(user)
    session.flush()
    log.info("user %s (%s) created by %s", username, role.value, actor.username if actor else "shell")
    return user


def edit_person(
    session: Session,
    person: User,
    *,
    display_name: str,
    role: Role,
    sites: list[Site],
    department: Department | None,
    actor: User,
    writes_checklists: bool | None = None,
) -> None:
    """Change someone's name, role, department and sites, and whether they may write checklists
    (None: as it was). A manager gives only their own sites and never the administrator's role."""
    if not may_manage(actor, person):
        raise PersonRefused("not_allowed", f"{actor.username} may not manage {person.username}")
    try:
        check_name(display_name)
    except TextRefused as refused:
        raise PersonRefused(refused.code, f"the name {refused}") from None
    if actor.role != Role.ADMIN:
        if role == Role.ADMIN or any(not actor.may_see_site(site.id) for site in sites):
            raise PersonRefused("not_allowed", f"{actor.username} may not give that role or site")
    if person.id == actor.id and role != person.role:
        raise PersonRefused("not_yourself", "nobody changes their own role")
    person.display_name, person.role, person.department = display_name, role, department
    if writes_checklists is not None:
        person.writes_checklists = writes_checklists
    person.sites = sorted(set(sites), key=lambda s: s.id)
    session.flush()
    log.info("%s edited by %s", person.username, actor.username)


def may_manage(actor: User, person: User) -> bool:
    """The one rule for every action on a person (edit, password, deactivation, devices, import):
    an administrator manages everyone; a manager manages someone only if they run every site
    that person belongs to, and never an administrator. Sharing one site is not enough: whoever
    manages a person of two sites could otherwise sign in as them on the other."""
    if actor.role == Role.ADMIN:
        return True
    if actor.role != Role.MANAGER or person.role == Role.ADMIN or not person.site_ids:
        return False
    return set(person.site_ids) <= set(actor.site_ids)


def set_active(session: Session, person: User, active: bool, *, actor: User) -> None:
    """Deactivate someone who has left (they can no longer log in or sync; their records stay
    theirs), or let them back in."""
    if not may_manage(actor, person):
        raise PersonRefused("not_allowed", f"{actor.username} may not manage {person.username}")
    if person.id == actor.id and not active:
        raise PersonRefused("not_yourself", "nobody deactivates their own account")
    person.active = active
    if not active:
        end_everything(session, person, now=utcnow())
    session.flush()
    log.info("%s %s by %s", person.username, "reactivated" if active else "deactivated", actor.username)


def reset_password(session: Session, user: User, password: str, *, actor: User | None = None) -> None:
    """A new password; whoever held the old one (a copied cookie, a phone's token) is out.
    No actor: the shell, run by whoever runs the server."""
    if actor is not None and not may_manage(actor, user):
        raise PersonRefused("not_allowed", f"{actor.username} may not manage {user.username}")
    _check_password(password)
    user.set_password(password)
    end_everything(session, user, now=utcnow())
    session.flush()
    log.info("password of %s reset by %s", user.username, actor.username if actor else "shell")


def _check_password(password: str) -> None:
    try:
        check_password(password)
    except TextRefused as refused:
        raise PersonRefused(refused.code, f"the password is {refused}") from None


LOGIN_WINDOW = timedelta(minutes=15)
LOGIN_MAX_FAILURES = 5  # per username: guessing one person's password
# Per address: trying many usernames from one place. Higher, because a whole site office may
# share one address behind its router.
LOGIN_MAX_FAILURES_PER_ADDRESS = 30


def login_wait(session: Session, username: str, address: str | None, now: datetime) -> timedelta | None:
    """How long until a login may be tried again, after too many recent failures for this
    username or from this address; None when it may be tried now."""
    since = now - LOGIN_WINDOW
    waits = []
    for column, value, limit in [
        (LoginFailure.username, username[:64], LOGIN_MAX_FAILURES),
        (LoginFailure.address, address, LOGIN_MAX_FAILURES_PER_ADDRESS),
    ]:
        if value is None:
            continue
        # The failure whose leaving the window brings the count under the limit.
        freeing = session.scalar(
            select(LoginFailure.at)
            .where(column == value, LoginFailure.at > since)
            .order_by(LoginFailure.at.desc())
            .offset(limit - 1)
            .limit(1)
        )
        if freeing is not None:
            waits.append(freeing + LOGIN_WINDOW - now)
    return max(waits) if waits else None


def authenticate(session: Session, username: str, password: str, address: str | None, now: datetime) -> User | None:
    """The active user with these credentials, or None (and the failure is counted)."""
    user = session.scalar(select(User).where(User.username == username))
    # Every attempt pays for one hash, so the answer's time does not tell who has an account.
    matches = user.check_password(password) if user is not None else no_account_check(password)
    if user is not None and user.active and matches:
        session.execute(delete(LoginFailure).where(LoginFailure.username == username))
        return user
    session.execute(delete(LoginFailure).where(LoginFailure.at < now - LOGIN_WINDOW))
    session.add(LoginFailure(username=username[:64], address=address and address[:45], at=now))
    session.flush()
    log.info("failed login for %s", username)
    return None
