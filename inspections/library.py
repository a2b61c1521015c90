"""What a new company starts with: the department's four departments and the manual's standard
checklists (§3.1–§3.13 of article 8), installed once by the first administrator (``flask
create-admin`` or the first-run page) and by the demo. Installing again adds only what is missing."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.org import Department, User
from foundation.people import create_user
from foundation.roles import Role
from inspections.checklists import ChecklistTemplate, publish_template_version
from inspections.standards import STANDARD_TEMPLATES, definition_of

# The manual's departments (客服部 runs the others' follow-up; 保安部, 保洁部 and 工程部 do the work).
DEPARTMENTS = [
    ("customer_service", "客服部"),
    ("engineering", "工程部"),
    ("security", "保安部"),
    ("cleaning", "保洁部"),
]


def install_standards(session: Session) -> dict[str, ChecklistTemplate]:
    """The departments and the standard checklists, keyed as in ``inspections.standards``."""
    departments = {d.code: d for d in session.scalars(select(Department))}
    for code, name in DEPARTMENTS:
        if code not in departments:
            departments[code] = Department(code=code, name=name)
            session.add(departments[code])
    session.flush()
    existing = {
        t.title: t for t in session.scalars(select(ChecklistTemplate).where(ChecklistTemplate.site_id.is_(None)))
    }
    templates = {}
    for entry in STANDARD_TEMPLATES:
        template = existing.get(entry["title"])
        if template is None:
            template = ChecklistTemplate(
                kind=entry["kind"],
                title=entry["title"],
                roles=entry["roles"],
                area_type=entry["area_type"],
                department=departments[entry["department"]],
            )
            session.add(template)
            session.flush()
            publish_template_version(session, template, definition_of(entry), actor=None)
        templates[entry["key"]] = template
    return templates


def start_company(session: Session, *, username: str, display_name: str, password: str, locale: str = "zh") -> User:
    """The first administrator of an empty company, with the standards ready to use. Two first
    runs at once cannot both succeed: both insert the same departments, and one waits for the
    other's unique keys and fails."""
    install_standards(session)
    admin = create_user(
        session,
        username=username,
        display_name=display_name,
        password=password,
        role=Role.ADMIN,
        sites=[],
        locale=locale,
    )
    return admin


def has_people(session: Session) -> bool:
    return session.scalar(select(User.id).limit(1)) is not None
