"""Importing tenants and their units from a spreadsheet (the customer files of §3.11), XLSX or CSV.

All or nothing: every row is checked first, and one bad row changes nothing; the errors name
their rows. ``preview`` tells what ``apply`` would do without doing it. Importing the same file
again changes nothing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.org import Location, LocationKind, Site, Tenant
from foundation.sheets import SheetLimits, SheetRefused, read_sheet
from foundation.text import TextRefused, check_name

COLUMNS = ["site", "floor", "unit", "tenant", "contact_name", "contact_phone", "moved_in_on"]
MAX_ROWS = 5000


@dataclass(frozen=True)
class Row:
    line: int
    site: Site
    floor: str
    unit: str
    tenant: str
    contact_name: str
    contact_phone: str
    moved_in_on: date | None


@dataclass(frozen=True)
class Problem:
    """What is wrong with a row (``line`` None: with the file); ``code`` and ``args`` are for the
    page to put into words."""

    line: int | None
    code: str  # missing_columns, too_many_rows, unknown_site, too_long, empty, bad_date
    args: tuple = ()


@dataclass
class ImportResult:
    units_added: int = 0
    tenants_added: int = 0
    tenants_updated: int = 0


def parse(
    session: Session, filename: str, data: bytes, site_ids: list[int], limits: SheetLimits = SheetLimits()
) -> tuple[list[Row], list[Problem]]:
    """The rows, or what is wrong with them (line numbers as a spreadsheet counts them)."""
    try:
        header, body = read_sheet(filename, data, limits)
    except SheetRefused as refused:
        return [], [Problem(None, refused.code, refused.facts)]
    missing = [c for c in COLUMNS[:4] if c not in header]
    if missing:
        return [], [Problem(None, "missing_columns", (", ".join(missing),))]
    sites = {s.code: s for s in session.scalars(select(Site).where(Site.id.in_(site_ids)))}
    rows, errors = [], []
    for line, cells in body:
        if line > MAX_ROWS + 1:
            errors.append(Problem(None, "too_many_rows", (MAX_ROWS,)))
            break
        value = {k: (cells[header.index(k)] if k in header and header.index(k) < len(cells) else "") for k in COLUMNS}
        problems = []
        site = sites.get(value["site"])
        if site is None:
            problems.append(Problem(line, "unknown_site", (value["site"],)))
        for column, limit in [
            ("floor", 120),
            ("unit", 120),
            ("tenant", 200),
            ("contact_name", 80),
            ("contact_phone", 32),
        ]:
            if len(value[column]) > limit:
                problems.append(Problem(line, "too_long", (column, limit)))
        for column in ("floor", "unit", "tenant"):
            if not value[column]:
                problems.append(Problem(line, "empty", (column,)))
        for column in COLUMNS:  # every cell names something: a floor, a unit, a tenant, a person
            try:
                check_name(value[column])
            except TextRefused as refused:
                problems.append(Problem(line, refused.code, (column,)))
        moved_in = None
        if value["moved_in_on"]:
            try:
                moved_in = date.fromisoformat(value["moved_in_on"])
            except ValueError:
                problems.append(Problem(line, "bad_date", ("moved_in_on",)))
        if problems:
            errors += problems
        else:
            rows.append(
                Row(
                    line,
                    site,
                    value["floor"],
                    value["unit"],
                    value["tenant"],
                    value["contact_name"],
                    value["contact_phone"],
                    moved_in,
                )
            )
    return rows, errors


def preview(session: Session, rows: list[Row]) -> ImportResult:
    """What ``apply`` would do: done in a savepoint and rolled back, so the counts are exact."""
    nested = session.begin_nested()
    try:
        return apply(session, rows)
    finally:
        nested.rollback()


def apply(session: Session, rows: list[Row]) -> ImportResult:
    """Create missing floors and units; add tenants, or update the contact of one already there."""
    result = ImportResult()
    for row in rows:
        floor = _place(session, row.site, LocationKind.FLOOR, row.floor, None, result)
        unit = _place(session, row.site, LocationKind.UNIT, row.unit, floor, result)
        tenant = session.scalar(select(Tenant).where(Tenant.unit_id == unit.id, Tenant.name == row.tenant))
        moved_in = datetime.combine(row.moved_in_on, time(), ZoneInfo(row.site.timezone)) if row.moved_in_on else None
        if tenant is None:
            session.add(
                Tenant(
                    site_id=row.site.id,
                    unit_id=unit.id,
                    name=row.tenant,
                    contact_name=row.contact_name,
                    contact_phone=row.contact_phone,
                    moved_in_on=moved_in,
                )
            )
            result.tenants_added += 1
        elif (tenant.contact_name, tenant.contact_phone) != (row.contact_name, row.contact_phone) or (
            moved_in and tenant.moved_in_on != moved_in
        ):
            tenant.contact_name, tenant.contact_phone = row.contact_name, row.contact_phone
            tenant.moved_in_on = moved_in or tenant.moved_in_on
            result.tenants_updated += 1
        session.flush()
    return result


def _place(
    session: Session, site: Site, kind: LocationKind, name: str, parent: Location | None, result: ImportResult
) -> Location:
    query = select(Location).where(Location.site_id == site.id, Location.kind == kind, Location.name == name)
    if parent is not None:
        query = query.where(Location.parent_id == parent.id)
    found = session.scalar(query)
    if found is None:
        found = Location(site_id=site.id, kind=kind, name=name, parent_id=parent.id if parent else None)
        session.add(found)
        session.flush()
        result.units_added += kind == LocationKind.UNIT
    return found
