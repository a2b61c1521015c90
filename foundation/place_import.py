"""A site's whole place tree in and out of a spreadsheet, previewed before anything changes.

One row per place: ``building``, ``floor``, ``place`` (its name; the columns above it say where
it is), ``kind`` (unit, area or checkpoint; buildings and floors are known by their columns),
``area_type`` (an area's cleaning standard) and ``archived``. Headers and values may be the
English keys or their Chinese names. A row may leave its building or floor implied: the file
``A座, 3F, 男卫生间`` creates A座 and 3F too. The file is the whole tree: a live place it does not
name is archived (never deleted), an archived one it names without ``archived`` comes back.

All or nothing: ``plan_import`` checks every row and returns what would be created, changed,
archived and restored, or the problems, each with its line; ``apply_plan`` does exactly the
plan. Exporting and importing the same tree changes nothing.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from foundation.base import bulk_insert
from foundation.memory import collector_paused
from foundation.org import Location, LocationKind, Site
from foundation.places import AREA_TYPES, PlaceRefused, check_place_name, checkpoint_code, site_tree
from foundation.sheets import SheetLimits, SheetRefused, columns_of, read_sheet

K = LocationKind
COLUMNS = ["building", "floor", "place", "kind", "area_type", "archived"]
ZH_COLUMNS = {
    "building": "楼栋",
    "floor": "楼层",
    "place": "位置",
    "kind": "类型",
    "area_type": "保洁区域类型",
    "archived": "已停用",
}
ZH_KINDS = {K.BUILDING: "楼栋", K.FLOOR: "楼层", K.UNIT: "单元", K.AREA: "区域", K.CHECKPOINT: "巡更点"}
ZH_AREA_TYPES = {
    "lobby": "大堂",
    "corridor": "走廊",
    "lift_hall": "电梯厅",
    "restroom": "卫生间",
    "stairwell": "楼梯间",
    "car_park": "停车场",
    "office": "办公区",
    "exterior": "外围",
    "greening": "绿化",
    "front_desk": "前台",
}


def _names(by_key: dict, zh: dict) -> dict:
    """What a cell may say for each value: its English key (in any case) or its Chinese name."""
    zh_by_key = {(k.value if isinstance(k, LocationKind) else k): name for k, name in zh.items()}
    return by_key | {zh_by_key[key]: value for key, value in by_key.items() if key in zh_by_key}


KIND_NAMES = _names({k.value: k for k in K}, ZH_KINDS)
INNER_KIND_NAMES = _names({k.value: k for k in (K.UNIT, K.AREA, K.CHECKPOINT)}, ZH_KINDS)  # a row's third level
AREA_TYPE_NAMES = _names({a: a for a in AREA_TYPES}, ZH_AREA_TYPES)
YES, NO = {"yes", "y", "true", "1", "x", "是", "停用", "已停用"}, {"", "no", "n", "false", "0", "否"}
MAX_ROWS = 20_000
Path = tuple[str, str, str]  # (building, floor, place); "" where the row has none


@dataclass(frozen=True)
class Problem:
    line: int | None  # None: the file as a whole
    code: str
    args: tuple = ()


@dataclass
class Planned:
    line: int | None  # None: implied by a row below it
    path: Path
    kind: LocationKind
    area_type: str | None
    archived: bool


@dataclass
class Plan:
    site_id: int
    create: list[Planned] = field(default_factory=list)
    change: list[tuple[Location, Planned, list[str]]] = field(default_factory=list)  # the fields that change
    archive: list[Location] = field(default_factory=list)
    restore: list[Location] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    rows: int = 0

    @property
    def empty(self) -> bool:
        return not (self.create or self.change or self.archive or self.restore)

    @property
    def digest(self) -> str:
        """Names the plan, so an apply can tell the tree moved on since its preview."""
        parts = [f"+{p.path}{p.kind.value}{p.area_type}{p.archived}" for p in self.create]
        parts += [f"~{place.id}{p.kind.value}{p.area_type}" for place, p, _ in self.change]
        parts += [f"-{p.id}" for p in self.archive] + [f"^{p.id}" for p in self.restore]
        return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def path_of(place: Location, by_id: dict[int, Location]) -> Path:
    building = floor = ""
    node = by_id.get(place.parent_id) if place.parent_id else None
    while node is not None:
        if node.kind == K.BUILDING:
            building = node.name
        elif node.kind == K.FLOOR:
            floor = node.name
        node = by_id.get(node.parent_id) if node.parent_id else None
    if place.kind == K.BUILDING:
        return (place.name, "", "")
    if place.kind == K.FLOOR:
        return (building, place.name, "")
    return (building, floor, place.name)


def export_rows(session: Session, site: Site, *, chinese: bool) -> tuple[list[str], list[list[str]]]:
    tree = site_tree(session, site)
    by_id = {place.id: place for place, _ in tree}
    header = [ZH_COLUMNS[c] for c in COLUMNS] if chinese else COLUMNS
    rows = []
    for place, _ in tree:
        area_type = place.area_type or ""
        rows.append(
            [
                *path_of(place, by_id),
                ZH_KINDS[place.kind] if chinese else place.kind.value,
                ZH_AREA_TYPES.get(area_type, area_type) if chinese else area_type,
                ("是" if chinese else "yes") if place.archived_at else "",
            ]
        )
    return header, rows


@collector_paused()
def plan_import(session: Session, site: Site, filename: str, data: bytes, limits: SheetLimits = SheetLimits()) -> Plan:
    plan = Plan(site.id)
    try:
        header, body = read_sheet(filename, data, limits)
    except SheetRefused as refused:
        plan.problems.append(Problem(None, refused.code, refused.facts))
        return plan
    columns = columns_of(header, COLUMNS, ZH_COLUMNS)
    missing = [c for c in ("building", "floor", "place") if c not in columns]
    if missing:
        plan.problems.append(Problem(None, "missing_columns", (", ".join(missing),)))
        return plan
    if len(body) > MAX_ROWS:
        plan.problems.append(Problem(None, "too_many_rows", (MAX_ROWS,)))
        return plan
    plan.rows = len(body)
    wanted: dict[Path, Planned] = {}
    good_names: set[str] = set()  # a building's name is on each of its rows: checked once
    for line, cells in body:
        value = {c: cells[i] if i < len(cells) else "" for c, i in columns.items()}
        planned = _row(line, value, plan.problems, good_names)
        if planned is None:
            continue
        if planned.path in wanted and wanted[planned.path].line is not None:
            plan.problems.append(Problem(line, "duplicate", (wanted[planned.path].line,)))
            continue
        wanted[planned.path] = planned
        for implied in _parents(planned.path):
            wanted.setdefault(implied, Planned(None, implied, _kind_of(implied), None, False))
    for path, planned in wanted.items():  # nothing live inside something archived
        if not planned.archived:
            for parent in _parents(path):
                if wanted[parent].archived:
                    plan.problems.append(Problem(planned.line, "inside_archived", (wanted[parent].line,)))
                    break
    if plan.problems:
        return plan
    _compare(session, site, wanted, plan)
    return plan


@collector_paused()
def apply_plan(session: Session, site: Site, plan: Plan, now: datetime) -> None:
    """Do exactly what the plan says: created by level (buildings, then floors, then the rest), so
    each row finds its parent; one insert per level (``bulk_insert``: the change log hears of them)."""
    assert not plan.problems and plan.site_id == site.id
    for place in plan.restore:
        place.archived_at = None
    for place, planned, _ in plan.change:
        place.kind, place.area_type = planned.kind, planned.area_type
        if planned.kind == K.CHECKPOINT and not place.qr_code:
            place.qr_code = checkpoint_code()
    for place in plan.archive:
        place.archived_at = now
    session.flush()
    by_id = {place.id: place for place, _ in site_tree(session, site)}
    ids = {path_of(place, by_id): place.id for place in reversed(by_id.values())}  # first of a name wins
    for level in (0, 1, 2):
        made = [planned for planned in plan.create if _depth(planned.path) == level]
        rows = [
            {
                "site_id": site.id,
                "parent_id": next((ids[p] for p in reversed(_parents(planned.path))), None),
                "kind": planned.kind,
                "name": [n for n in planned.path if n][-1],
                "area_type": planned.area_type,
                "qr_code": checkpoint_code() if planned.kind == K.CHECKPOINT else None,
                "archived_at": now if planned.archived else None,
            }
            for planned in made
        ]
        ids.update(zip((planned.path for planned in made), bulk_insert(session, Location, rows), strict=True))


def _row(line: int, value: dict[str, str], problems: list[Problem], good_names: set[str]) -> Planned | None:
    names = []
    for column in ("building", "floor", "place"):
        text = value.get(column, "")
        if text and text not in good_names:
            try:
                good_names.add(check_place_name(text))
            except PlaceRefused as refused:
                problems.append(Problem(line, refused.code, (column, *refused.args_)))
                return None
        names.append(text)
    path: Path = tuple(names)
    kind_text = value.get("kind", "").strip()
    kind = _kind_of(path)
    if path[2]:
        kind = INNER_KIND_NAMES.get(kind_text.lower()) if kind_text else K.AREA
        if kind is None:
            problems.append(Problem(line, "unknown_kind", (kind_text,)))
            return None
    elif kind_text and KIND_NAMES.get(kind_text.lower()) != kind:
        problems.append(Problem(line, "kind_mismatch", (kind_text,)))
        return None
    area_text = value.get("area_type", "").strip()
    area_type = None
    if area_text:
        area_type = AREA_TYPE_NAMES.get(area_text.lower())
        if area_type is None:
            problems.append(Problem(line, "unknown_area_type", (area_text,)))
            return None
        if kind != K.AREA:
            problems.append(Problem(line, "area_type_not_area", (area_text,)))
            return None
    archived_text = value.get("archived", "").strip().lower()
    if archived_text not in YES | NO:
        problems.append(Problem(line, "bad_archived", (archived_text,)))
        return None
    return Planned(line, path, kind, area_type, archived_text in YES)


def _kind_of(path: Path) -> LocationKind:
    if path[2]:
        return K.AREA
    return K.FLOOR if path[1] else K.BUILDING


def _depth(path: Path) -> int:
    return 2 if path[2] else (1 if path[1] else 0)


def _parents(path: Path) -> list[Path]:
    building, floor, place = path
    parents = []
    if building and (floor or place):
        parents.append((building, "", ""))
    if floor and place:
        parents.append((building, floor, ""))
    return parents


def _compare(session: Session, site: Site, wanted: dict[Path, Planned], plan: Plan) -> None:
    existing = [place for place, _ in site_tree(session, site)]
    by_id = {place.id: place for place in existing}
    matched: set[Path] = set()
    for place in existing:
        path = path_of(place, by_id)
        planned = wanted.get(path)
        if planned is None or path in matched:
            if place.archived_at is None:
                plan.archive.append(place)
            continue
        matched.add(path)
        if planned.line is None:  # implied by a row inside it: it stays as it is
            if place.archived_at is not None:
                plan.restore.append(place)
            continue
        if planned.archived and place.archived_at is None:
            plan.archive.append(place)
        elif not planned.archived and place.archived_at is not None:
            plan.restore.append(place)
        fields = [
            name
            for name, old, new in (
                ("kind", place.kind, planned.kind),
                ("area_type", place.area_type, planned.area_type),
            )
            if old != new
        ]
        if fields:
            plan.change.append((place, planned, fields))
    plan.create = [planned for path, planned in wanted.items() if path not in matched]
