"""The monthly score sheet as rows: one table of figures that the page, the XLSX and the PDF all
draw, so the three can never disagree."""

from __future__ import annotations

import io
from dataclasses import dataclass

from flask_babel import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm

from foundation.org import Location, Site, User
from foundation.sheets import xlsx_row
from inspections.cleaning_scores import CheckKind, MonthSheet
from webapp.printouts import Sheet

Cell = str | float | int | None


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[Cell]]


def cell_text(value: Cell) -> str:
    """How a figure reads on the page and in the PDF."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.1f}"
    return str(value)


def tables(sheet: MonthSheet, people: dict[int, User], areas: dict[int, Location]) -> list[Table]:
    checks = [_("Self-checks"), _("Patrols"), _("Spot checks")]
    cleaners = Table(
        _("Cleaners"),
        [
            _("Cleaner"),
            _("Points"),
            _("Points added"),
            _("Taken off"),
            *checks,
            _("Failed items"),
            _("Rework"),
            _("Rework late"),
            _("Hours to fix (mean)"),
        ],
        [
            [
                people[row.cleaner_id].display_name,
                row.points,
                row.added,
                row.taken_off,
                *(row.checks[k] for k in CheckKind),
                row.failed_items,
                row.rework,
                row.rework_late,
                row.mean_hours_to_fix,
            ]
            for row in sorted(sheet.cleaners, key=lambda r: (-r.points, people[r.cleaner_id].display_name))
        ],
    )
    area_table = Table(
        _("Areas"),
        [_("Area"), *checks, _("Mean score"), _("Failed items"), _("Rework"), _("Hours to fix (mean)")],
        [
            [
                areas[row.area_id].full_name,
                *(row.checks[k] for k in CheckKind),
                row.mean_score,
                row.failed_items,
                row.rework,
                row.mean_hours_to_fix,
            ]
            for row in sorted(sheet.areas, key=lambda r: r.area_id)
        ],
    )
    return [cleaners, area_table]


def rule_lines(sheet: MonthSheet) -> list[str]:
    """The scoring rule in words, printed under every copy of the sheet."""
    rule = sheet.rule
    return [
        _("Each cleaner starts the month with %(n)s points.", n=cell_text(float(rule.base_points))),
        _(
            "A failed item costs its weight × %(patrol)s at a lead's patrol, × %(spot)s at a spot check and "
            "× %(own)s at a self-check.",
            patrol=cell_text(float(rule.patrol_fail_points)),
            spot=cell_text(float(rule.spot_fail_points)),
            own=cell_text(float(rule.self_fail_points)),
        ),
        _("A rework not fixed by its due time costs %(n)s.", n=cell_text(float(rule.late_rework_points))),
        _("A spot check with nothing failed adds %(n)s.", n=cell_text(float(rule.clean_spot_points))),
        _(
            "Checks per area per day: %(own)s self-checks, %(patrol)s patrols, %(spot)s spot checks.",
            own=rule.self_target,
            patrol=rule.patrol_target,
            spot=rule.spot_target,
        ),
        _(
            "A check counts for whoever had the area on that shift: %(shifts)s.",
            shifts=", ".join(f"{s.name} {s.start:%H:%M}–{s.end:%H:%M}" for s in rule.shifts),
        ),
    ]


def sheet_title(site: Site, sheet: MonthSheet) -> str:
    return _("%(site)s · cleaning scores · %(month)s", site=site.name, month=sheet.month.strftime("%Y-%m"))


def xlsx(site: Site, sheet: MonthSheet, found: list[Table]) -> bytes:
    book = Workbook(write_only=True)  # every cell through foundation.sheets: names are never formulas
    for table in found:
        ws = book.create_sheet(table.title[:31])
        ws.column_dimensions["A"].width = 24
        ws.append(xlsx_row(ws, [sheet_title(site, sheet)]))
        header = xlsx_row(ws, table.header)
        for cell in header:
            cell.font = Font(bold=True)
        ws.append(header)
        for row in table.rows:
            ws.append(xlsx_row(ws, row))
    rules = book.create_sheet(_("Scoring rule")[:31])
    for line in rule_lines(sheet):
        rules.append(xlsx_row(rules, [line]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def pdf(site: Site, sheet: MonthSheet, found: list[Table]) -> bytes:
    """A landscape A4 sheet to pin on the wall: both tables and the rule, every cell wrapped."""
    out = Sheet(sheet_title(site, sheet), pagesize=landscape(A4))
    for table in found:
        out.heading(table.title)
        first = 50 * mm
        rest = (out.width - first) / (len(table.header) - 1)
        out.table(
            [table.header, *([cell_text(value) for value in row] for row in table.rows)],
            widths=[first] + [rest] * (len(table.header) - 1),
        )
    out.heading(_("Scoring rule"))
    for line in rule_lines(sheet):
        out.text(line)
    return out.pdf(sheet_title(site, sheet))
