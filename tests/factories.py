"""Small factories: a site, a place, a person, a checklist, each made the way the product makes
them, so that a domain test states what it needs instead of leaning on the demo's values."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from foundation.org import Department, Location, LocationKind, Site, User
from foundation.people import create_user
from foundation.places import add_place, create_site
from foundation.roles import Role
from inspections.checklists import ChecklistTemplate, Definition, TemplateKind, publish_template_version

_numbers = itertools.count(1)
PASSWORD = "factory-pass-1"


def site(
    session: Session, *, code: str | None = None, name: str | None = None, timezone: str = "Asia/Shanghai"
) -> Site:
    n = next(_numbers)
    return create_site(session, code=code or f"S{n}", name=name or f"测试大厦{n}", timezone=timezone)


def place(
    session: Session,
    site: Site,
    *,
    kind: LocationKind = LocationKind.AREA,
    name: str | None = None,
    parent: Location | None = None,
    area_type: str | None = None,
) -> Location:
    return add_place(
        session, site, kind=kind, name=name or f"{kind.value}-{next(_numbers)}", parent=parent, area_type=area_type
    )


def department(session: Session, code: str) -> Department:
    found = session.query(Department).filter_by(code=code).one_or_none()
    if found is None:
        found = Department(code=code, name=code)
        session.add(found)
        session.flush()
    return found


def person(
    session: Session,
    *sites: Site,
    role: Role = Role.CLEANER,
    username: str | None = None,
    name: str | None = None,
    department_code: str | None = None,
) -> User:
    n = next(_numbers)
    return create_user(
        session,
        username=username or f"{role.value}{n}",
        display_name=name or f"员工{n}",
        password=PASSWORD,
        role=role,
        sites=list(sites),
        department=department(session, department_code) if department_code else None,
    )


def checklist(
    session: Session,
    *,
    title: str | None = None,
    kind: TemplateKind = TemplateKind.CLEANING,
    area_type: str | None = "restroom",
    roles: tuple[Role, ...] = (Role.CLEANER, Role.SUPERVISOR),
    items: list[dict] | None = None,
    site: Site | None = None,
) -> ChecklistTemplate:
    template = ChecklistTemplate(
        kind=kind,
        title=title or f"检查表{next(_numbers)}",
        roles=[r.value for r in roles],
        area_type=area_type,
        site_id=site.id if site else None,
    )
    session.add(template)
    session.flush()
    items = items or [{"id": "clean", "type": "pass_fail", "label": "地面干净"}]
    definition = Definition.model_validate({"sections": [{"title": "检查", "items": items}]})
    publish_template_version(session, template, definition, actor=None)
    return template
