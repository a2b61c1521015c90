"""Patrol routes: ordered checkpoints on a schedule, and the scans that prove a round."""

from __future__ import annotations

import logging
import uuid
from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from foundation.base import Base, utcnow
from foundation.org import Location, LocationKind, Origin, Site, User
from foundation.places import checkpoint_code
from inspections.checklists import ChecklistTemplate, version_at
from inspections.submission import CLOCK_FLAG_MS, InspectionSubmission, submit_inspection


class PatrolRoute(Base):
    __tablename__ = "patrol_route"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    # {"start": "22:00", "end": "06:00", "every_minutes": 120, "window_minutes": 15}
    schedule: Mapped[dict] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(default=True)

    site: Mapped[Site] = relationship()
    checkpoints: Mapped[list[RouteCheckpoint]] = relationship(
        order_by="RouteCheckpoint.position", cascade="all, delete-orphan"
    )

    @property
    def stops(self) -> list[RouteCheckpoint]:
        """The checkpoints a guard walks: an archived place leaves the round (the route's page
        still lists it, marked, so a planner sees why)."""
        return [c for c in self.checkpoints if c.location.archived_at is None]


class RouteCheckpoint(Base):
    __tablename__ = "route_checkpoint"

    route_id: Mapped[int] = mapped_column(ForeignKey("patrol_route.id", ondelete="CASCADE"), primary_key=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), primary_key=True)
    position: Mapped[int] = mapped_column()
    template_id: Mapped[int | None] = mapped_column(ForeignKey("checklist_template.id"))

    location: Mapped[Location] = relationship()
    template: Mapped[ChecklistTemplate | None] = relationship()


class PatrolScan(Base):
    """A checkpoint scanned by a guard. ``scanned_at`` is the phone's clock; ``received_at`` ours."""

    __tablename__ = "patrol_scan"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # made by the device
    route_id: Mapped[int] = mapped_column(ForeignKey("patrol_route.id"), index=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    guard_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    inspection_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inspection.id"))
    scanned_at: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)  # a phone reset to 2000 is years off
    clock_flagged: Mapped[bool] = mapped_column(default=False)


def rotate_checkpoint_code(session: Session, checkpoint: Location, *, actor: User) -> str:
    """A new code for a lost or copied label: the old one stops working at once."""
    checkpoint.qr_code = checkpoint_code()
    session.flush()
    log.info("checkpoint %s code rotated by %s", checkpoint.id, actor.username)
    return checkpoint.qr_code


class ScanRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


log = logging.getLogger(__name__)

# A scan's checklist answers are stored as an inspection whose id derives from the scan's.
SCAN_INSPECTION_NAMESPACE = uuid.UUID("6f1d8a52-3b8e-4c1e-9a3e-5c0a7e1d2b44")


def record_scan(
    session: Session,
    *,
    scan_id: uuid.UUID,
    route_id: int,
    checkpoint_id: int,
    code: str,
    scanned_at: datetime,
    answers: list,
    actor: User,
    origin: Origin,
    now: datetime,
    clock_offset_ms: int | None = None,
    geo: dict | None = None,
    geo_status: str | None = None,
    template_version: int | None = None,
) -> tuple[PatrolScan, bool, list]:
    """Store a checkpoint scan (and its checklist answers). Returns the scan, whether it is new,
    and the tickets its failed answers opened. A code that does not match is refused. The answers
    are judged on the checklist version the phone showed (``template_version``), or without it on
    the one in effect when the guard scanned: a version published while a guard is offline does
    not refuse the round they walked."""
    existing = session.get(PatrolScan, scan_id)
    if existing is not None:
        return existing, False, []
    route = session.get(PatrolRoute, route_id)
    if route is None or not actor.may_see_site(route.site_id):
        raise ScanRefused("unknown_route", "no such route at your sites")
    stop = next((c for c in route.checkpoints if c.location_id == checkpoint_id), None)
    if stop is None:
        raise ScanRefused("unknown_checkpoint", "that checkpoint is not on this route")
    if stop.location.qr_code is None or _normalised(code) != _normalised(stop.location.qr_code):
        raise ScanRefused("wrong_code", "the code does not match the checkpoint")
    scan = PatrolScan(
        id=scan_id,
        route_id=route.id,
        checkpoint_id=checkpoint_id,
        guard_id=actor.id,
        device_id=origin.device_id,
        scanned_at=scanned_at,
        received_at=now,
        clock_offset_ms=clock_offset_ms,
        clock_flagged=clock_offset_ms is not None and abs(clock_offset_ms) > CLOCK_FLAG_MS,
    )
    tickets = []
    if answers and stop.template is not None:
        submitted = submit_inspection(
            session,
            InspectionSubmission(
                inspection_id=uuid.uuid5(SCAN_INSPECTION_NAMESPACE, str(scan_id)),
                template_id=stop.template.id,
                template_version=template_version or version_at(session, stop.template, scanned_at).version,
                site_id=route.site_id,
                location_id=checkpoint_id,
                started_at=scanned_at,
                finished_at=scanned_at,
                answers=answers,
                geo=geo,
                geo_status=geo_status,
            ),
            actor=actor,
            origin=origin,
            now=now,
            clock_offset_ms=clock_offset_ms,
        )
        scan.inspection_id = submitted.inspection.id
        tickets = submitted.tickets
    session.add(scan)
    session.flush()
    return scan, True, tickets


def _normalised(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


def create_route(session: Session, *, site: Site, name: str, schedule: dict, actor: User) -> PatrolRoute:
    route = PatrolRoute(site_id=site.id, name=name, schedule=schedule)
    session.add(route)
    session.flush()
    log.info("route %s (%s) created by %s", route.id, name, actor.username)
    return route


def add_checkpoint(
    session: Session,
    route: PatrolRoute,
    *,
    name: str,
    floor: Location | None,
    template: ChecklistTemplate | None,
    actor: User,
) -> Location:
    """A new checkpoint at the end of the route, with a fresh code to print."""
    checkpoint = Location(
        site_id=route.site_id,
        parent_id=floor.id if floor else None,
        kind=LocationKind.CHECKPOINT,
        name=name,
        qr_code=checkpoint_code(),
    )
    session.add(checkpoint)
    session.flush()
    return add_existing_checkpoint(session, route, checkpoint, template=template, actor=actor)


def add_existing_checkpoint(
    session: Session, route: PatrolRoute, checkpoint: Location, *, template: ChecklistTemplate | None, actor: User
) -> Location:
    """A checkpoint already in the site's places (imported, say) at the end of the route."""
    route.checkpoints.append(
        RouteCheckpoint(
            location_id=checkpoint.id, position=len(route.checkpoints), template_id=template.id if template else None
        )
    )
    session.flush()
    log.info("checkpoint %s added to route %s by %s", checkpoint.id, route.id, actor.username)
    return checkpoint


def move_checkpoint(session: Session, route: PatrolRoute, location_id: int, step: int) -> None:
    """Move a checkpoint one place earlier (-1) or later (+1) in the walking order."""
    stops = list(route.checkpoints)
    index = next(n for n, s in enumerate(stops) if s.location_id == location_id)
    other = index + step
    if 0 <= other < len(stops):
        stops[index], stops[other] = stops[other], stops[index]
        for position, stop in enumerate(stops):
            stop.position = position
        session.flush()
