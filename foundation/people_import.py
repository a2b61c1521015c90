"""People from a spreadsheet, previewed before anything changes (the same rule as places).

Columns ``username``, ``name``, ``role``, ``department``, ``sites`` (site codes separated by
spaces, commas or 、) and ``password`` (for new people; people already there keep theirs).
Headers and roles may be in Chinese. A username already there updates that person's name,
role, department and sites; nobody is deactivated by leaving them out (that is a decision per
person, on the People page)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.org import Department, Site, User, hash_password
from foundation.people import create_user, edit_person, may_manage
from foundation.roles import Role
from foundation.sheets import SheetLimits, SheetRefused, columns_of, read_sheet
from foundation.text import MAX_PASSWORD, MIN_PASSWORD, TextRefused, check_name, check_password

COLUMNS = ["username", "name", "role", "department", "sites", "password"]
ZH_COLUMNS = {
    "username": "用户名",
    "name": "姓名",
    "role": "角色",
    "department": "部门",
    "sites": "项目",
    "password": "初始密码",
}
ZH_ROLES = {
    "保安": Role.GUARD,
    "保安员": Role.GUARD,
    "保洁": Role.CLEANER,
    "保洁员": Role.CLEANER,
    "领班": Role.SUPERVISOR,
    "主管": Role.SUPERVISOR,
    "工程": Role.ENGINEER,
    "工程部": Role.ENGINEER,
    "客服": Role.CUSTOMER_SERVICE,
    "客服助理": Role.CUSTOMER_SERVICE,
    "经理": Role.MANAGER,
    "客服经理": Role.MANAGER,
    "管理员": Role.ADMIN,
}
USERNAME = re.compile(r"^[a-zA-Z0-9_.\-]{3,64}$")
MAX_ROWS = 5000


@dataclass(frozen=True)
class Problem:
    line: int | None
    code: str
    args: tuple = ()


@dataclass
class PersonRow:
    line: int
    username: str
    name: str
    role: Role
    department: Department | None
    sites: list[Site]
    password: str
    person: User | None  # None: a new person
    changes: list[str] = field(default_factory=list)


@dataclass
class PeoplePlan:
    create: list[PersonRow] = field(default_factory=list)
    update: list[PersonRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0

    @property
    def empty(self) -> bool:
        return not (self.create or self.update)


def plan_people(
    session: Session, actor: User, filename: str, data: bytes, limits: SheetLimits = SheetLimits()
) -> PeoplePlan:
    plan = PeoplePlan()
    try:
        header, body = read_sheet(filename, data, limits)
    except SheetRefused as refused:
        plan.problems.append(Problem(None, refused.code, refused.facts))
        return plan
    columns = columns_of(header, COLUMNS, ZH_COLUMNS)
    missing = [c for c in ("username", "name", "role", "sites") if c not in columns]
    if missing:
        plan.problems.append(Problem(None, "missing_columns", (", ".join(missing),)))
        return plan
    if len(body) > MAX_ROWS:
        plan.problems.append(Problem(None, "too_many_rows", (MAX_ROWS,)))
        return plan
    plan.rows = len(body)
    sites = {s.code.upper(): s for s in actor.sites_seen(session)}
    departments = {d.code: d for d in session.scalars(select(Department))} | {
        d.name: d for d in session.scalars(select(Department))
    }
    people = {u.username: u for u in session.scalars(select(User))}
    seen: dict[str, int] = {}
    for line, cells in body:
        value = {c: (cells[i] if i < len(cells) else "").strip() for c, i in columns.items()}
        row = _row(line, value, sites, departments, people, actor, plan.problems)
        if row is None:
            continue
        if row.username in seen:
            plan.problems.append(Problem(line, "duplicate", (seen[row.username],)))
            continue
        seen[row.username] = line
        if row.person is None:
            plan.create.append(row)
        elif row.changes:
            plan.update.append(row)
    if plan.problems:
        plan.create, plan.update = [], []
    return plan


def apply_people(session: Session, plan: PeoplePlan, actor: User) -> None:
    assert not plan.problems
    # Hashed before the first write: a writing transaction holds every phone's pull back until it
    # ends (sync.changes), and scrypt takes ~0.1 s a person, 20 s for 200.
    hashes = [hash_password(row.password) for row in plan.create]
    for row, hashed in zip(plan.create, hashes, strict=True):
        create_user(
            session,
            username=row.username,
            display_name=row.name,
            password=row.password,
            role=row.role,
            sites=row.sites,
            department=row.department,
            actor=actor,
            hashed=hashed,
        )
    for row in plan.update:
        edit_person(
            session,
            row.person,
            display_name=row.name,
            role=row.role,
            sites=row.sites,
            department=row.department,
            actor=actor,
        )


def _row(line, value, sites, departments, people, actor, problems) -> PersonRow | None:
    found = []
    username = value.get("username", "")
    if not USERNAME.match(username):
        found.append(Problem(line, "bad_username", (username,)))
    name = value.get("name", "")
    try:
        check_name(name)
        if not name or len(name) > 120:
            found.append(Problem(line, "bad_name", (name,)))
    except TextRefused as refused:
        found.append(Problem(line, refused.code, ("name",)))
    role_text = value.get("role", "")
    role = ZH_ROLES.get(role_text) or next((r for r in Role if r.value == role_text.lower()), None)
    if role is None:
        found.append(Problem(line, "unknown_role", (role_text,)))
    elif role == Role.ADMIN and actor.role != Role.ADMIN:
        found.append(Problem(line, "not_allowed_role", (role_text,)))
    department = None
    if value.get("department"):
        department = departments.get(value["department"])
        if department is None:
            found.append(Problem(line, "unknown_department", (value["department"],)))
    chosen = []
    for code in [c for c in re.split(r"[\s,;，、；]+", value.get("sites", "")) if c]:
        if code.upper() not in sites:
            found.append(Problem(line, "unknown_site", (code,)))
        else:
            chosen.append(sites[code.upper()])
    if not chosen and role != Role.ADMIN:
        found.append(Problem(line, "no_site"))
    person = people.get(username)
    password = value.get("password", "")
    if person is None:
        try:
            check_password(password)
        except TextRefused as refused:
            found.append(
                Problem(line, refused.code, (MIN_PASSWORD if refused.code == "short_password" else MAX_PASSWORD,))
            )
    if person is not None and not may_manage(actor, person):
        found.append(Problem(line, "not_allowed_person", (username,)))
    if found:
        problems.extend(found)
        return None
    row = PersonRow(line, username, name, role, department, chosen, password, person)
    if person is not None:
        row.changes = [
            label
            for label, old, new in (
                ("name", person.display_name, name),
                ("role", person.role, role),
                ("department", person.department_id, department.id if department else None),
                ("sites", sorted(s.id for s in person.sites if actor.may_see_site(s.id)), sorted(s.id for s in chosen)),
            )
            if old != new
        ]
    return row
