"""What a new company starts with: the department's four departments and a library of the
manual's checklists (§3.1–§3.13 of article 8, in ``manual.json``), which a company copies from.
A copy is the company's own checklist (its versions, its edits) and remembers which library
entry it came from. The first administrator (``flask create-admin`` or the first-run page) and
the demo copy every entry once; installing again adds only what is missing."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.org import Department, User
from foundation.people import create_user
from foundation.roles import Role
from inspections.checklists import (
    ChecklistTemplate,
    Definition,
    Section,
    TemplateKind,
    publish_template_version,
)

# The manual's departments (客服部 runs the others' follow-up; 保安部, 保洁部 and 工程部 do the work).
DEPARTMENTS = [
    ("customer_service", "客服部"),
    ("engineering", "工程部"),
    ("security", "保安部"),
    ("cleaning", "保洁部"),
]
MANUAL = Path(__file__).with_name("manual.json")


class LibraryEntry(BaseModel):
    """One checklist of the manual, in its own words."""

    model_config = ConfigDict(extra="forbid")
    key: str
    kind: TemplateKind
    title: str
    department: str  # a Department.code
    roles: list[Role]
    area_type: str | None = None
    sections: list[Section]

    def definition(self) -> Definition:
        return Definition(sections=self.sections)


@cache
def library() -> dict[str, LibraryEntry]:
    entries = [LibraryEntry.model_validate(entry) for entry in json.loads(MANUAL.read_text(encoding="utf-8"))]
    for entry in entries:
        entry.definition()  # a library entry is a valid checklist
    return {entry.key: entry for entry in entries}


def copy_from_library(
    session: Session, key: str, *, actor: User | None, site_id: int | None = None, title: str | None = None
) -> ChecklistTemplate:
    """A company checklist made from the library entry ``key``, published as its version 1."""
    entry = library()[key]
    department = session.scalar(select(Department).where(Department.code == entry.department))
    template = ChecklistTemplate(
        kind=entry.kind,
        title=title or entry.title,
        roles=[role.value for role in entry.roles],
        area_type=entry.area_type,
        department=department,
        site_id=site_id,
        library_key=entry.key,
    )
    session.add(template)
    session.flush()
    publish_template_version(session, template, entry.definition(), actor=actor, note="")
    return template


def install_departments(session: Session) -> None:
    known = set(session.scalars(select(Department.code)))
    session.add_all(Department(code=code, name=name) for code, name in DEPARTMENTS if code not in known)
    session.flush()


def install_standards(session: Session) -> dict[str, ChecklistTemplate]:
    """The departments and a company-wide copy of every library checklist, keyed as the library."""
    install_departments(session)
    copies = {
        t.library_key: t
        for t in session.scalars(
            select(ChecklistTemplate)
            .where(ChecklistTemplate.site_id.is_(None), ChecklistTemplate.library_key.is_not(None))
            .order_by(ChecklistTemplate.id)
        )
    }
    return {key: copies.get(key) or copy_from_library(session, key, actor=None) for key in library()}


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
