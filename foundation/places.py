"""A site's places as a tree: buildings, floors, and in them units, areas and patrol checkpoints.

Places are archived, never deleted: records, tickets and rounds cite them. An archived place
leaves phones and pickers and keeps its history; its children go with it.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.org import Location, LocationKind, Site
from foundation.text import TextRefused, check_name

K = LocationKind
# The area types of §3.6.2/§3.6.5, each with its own cleaning standard; then the other areas a
# checklist names: greenery (§3.7.3) and the front desk (the shift handover).
CLEANING_AREA_TYPES = ["lobby", "corridor", "lift_hall", "restroom", "stairwell", "car_park", "office", "exterior"]
AREA_TYPES = [*CLEANING_AREA_TYPES, "greening", "front_desk"]
# What may hold what: a building holds floors and places, a floor holds places; None is the site.
PARENT_KINDS: dict[LocationKind, set[LocationKind | None]] = {
    K.BUILDING: {None},
    K.FLOOR: {None, K.BUILDING},
    K.UNIT: {None, K.BUILDING, K.FLOOR},
    K.AREA: {None, K.BUILDING, K.FLOOR},
    K.CHECKPOINT: {None, K.BUILDING, K.FLOOR},
}
MAX_NAME = 120
CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: the code is typed by hand


class PlaceRefused(ValueError):
    """Why a change to the places was refused; ``code`` and ``args`` are for pages to word."""

    def __init__(self, code: str, *args) -> None:
        super().__init__(code, *args)
        self.code = code
        self.args_ = args


def checkpoint_code() -> str:
    """A code that cannot be guessed from the checkpoint's name, printed under its QR."""
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    return f"{raw[:4]}-{raw[4:]}"


def check_place_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise PlaceRefused("empty")
    if len(name) > MAX_NAME:
        raise PlaceRefused("too_long", MAX_NAME)
    try:
        return check_name(name)
    except TextRefused as refused:
        raise PlaceRefused(refused.code) from None


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PlaceRefused("unknown_timezone", name) from None
    if name not in available_timezones():
        raise PlaceRefused("unknown_timezone", name)
    return name


def create_site(session: Session, *, code: str, name: str, timezone: str, address: str = "") -> Site:
    code = code.strip().upper()
    if session.scalar(select(Site.id).where(Site.code == code)) is not None:
        raise PlaceRefused("code_taken", code)
    site = Site(code=code, name=check_place_name(name), timezone=check_timezone(timezone), address=address.strip())
    session.add(site)
    session.flush()
    return site


def edit_site(site: Site, *, name: str, timezone: str, address: str) -> None:
    """The code stays: it prefixes every ticket number the site ever gave."""
    site.name = check_place_name(name)
    site.timezone = check_timezone(timezone)
    site.address = address.strip()


def add_place(
    session: Session,
    site: Site,
    *,
    kind: LocationKind,
    name: str,
    parent: Location | None = None,
    area_type: str | None = None,
) -> Location:
    name = check_place_name(name)
    _check_parent(kind, parent, site)
    _check_unique(session, site, parent, name, None)
    place = Location(
        site_id=site.id,
        kind=kind,
        name=name,
        parent_id=parent.id if parent else None,
        area_type=_area_type(kind, area_type),
        qr_code=checkpoint_code() if kind == K.CHECKPOINT else None,
    )
    session.add(place)
    session.flush()
    return place


def edit_place(session: Session, place: Location, *, name: str, parent: Location | None, area_type: str | None) -> None:
    """Rename, move or retype a place. Its history stays with it: records cite its id. (A place
    cannot end up inside itself: what may hold what goes one way, buildings over floors over rooms.)"""
    name = check_place_name(name)
    site = session.get(Site, place.site_id)
    _check_parent(place.kind, parent, site)
    _check_unique(session, site, parent, name, place)
    place.name = name
    place.parent_id = parent.id if parent else None
    place.parent = parent
    place.area_type = _area_type(place.kind, area_type)
    session.flush()


def archive_place(session: Session, place: Location, now: datetime) -> list[Location]:
    """Archive a place and everything in it; returns what was archived."""
    archived = [p for p in [place, *descendants(session, place)] if p.archived_at is None]
    for p in archived:
        p.archived_at = now
    session.flush()
    return archived


def restore_place(session: Session, place: Location) -> None:
    """Bring a place back (and whatever holds it, so it has somewhere to be)."""
    node = place
    while node is not None:
        if node.archived_at is not None:
            _check_unique(session, session.get(Site, node.site_id), node.parent, node.name, node)
        node.archived_at = None
        node = node.parent
    session.flush()


def descendants(session: Session, place: Location) -> list[Location]:
    children = defaultdict(list)
    for p in session.scalars(select(Location).where(Location.site_id == place.site_id)):
        children[p.parent_id].append(p)
    found, todo = [], [place.id]
    while todo:
        for child in children[todo.pop()]:
            found.append(child)
            todo.append(child.id)
    return found


def site_tree(session: Session, site: Site, *, archived: bool = True) -> list[tuple[Location, int]]:
    """The site's places in tree order (each after its parent, siblings in creation order), with depth."""
    children = defaultdict(list)
    for p in session.scalars(select(Location).where(Location.site_id == site.id).order_by(Location.id)):
        if archived or p.archived_at is None:
            children[p.parent_id].append(p)
    out: list[tuple[Location, int]] = []
    stack = [(p, 0) for p in reversed(children[None])]
    while stack:
        place, depth = stack.pop()
        out.append((place, depth))
        stack.extend((child, depth + 1) for child in reversed(children[place.id]))
    return out


def holders(session: Session, site: Site, kind: LocationKind, *, exclude: Location | None = None) -> list[Location]:
    """The live places that may hold a place of ``kind`` (for a picker)."""
    allowed = {k for k in PARENT_KINDS[kind] if k is not None}
    skip = {exclude.id, *(d.id for d in descendants(session, exclude))} if exclude else set()
    return [p for p, _ in site_tree(session, site, archived=False) if p.kind in allowed and p.id not in skip]


def _check_parent(kind: LocationKind, parent: Location | None, site: Site) -> None:
    if parent is not None and (parent.site_id != site.id or parent.archived_at is not None):
        raise PlaceRefused("bad_parent")
    if (parent.kind if parent else None) not in PARENT_KINDS[kind]:
        raise PlaceRefused("wrong_parent_kind", kind.value, parent.kind.value if parent else None)


def _check_unique(session: Session, site: Site, parent: Location | None, name: str, place: Location | None) -> None:
    query = select(Location.id).where(
        Location.site_id == site.id,
        Location.parent_id.is_(None) if parent is None else Location.parent_id == parent.id,
        Location.name == name,
        Location.archived_at.is_(None),
    )
    if place is not None and place.id is not None:
        query = query.where(Location.id != place.id)
    if session.scalar(query.limit(1)) is not None:
        raise PlaceRefused("name_taken", name)


def _area_type(kind: LocationKind, area_type: str | None) -> str | None:
    if kind != K.AREA or not area_type:
        return None
    if area_type not in AREA_TYPES:
        raise PlaceRefused("unknown_area_type", area_type)
    return area_type
