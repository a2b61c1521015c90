"""Patrol routes: ordered checkpoints on a schedule, and the scans that prove a round."""
from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspections.base import Base, utcnow
from inspections.checklists import ChecklistTemplate
from inspections.org import Location, Site


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
    clock_offset_ms: Mapped[int | None] = mapped_column()
    clock_flagged: Mapped[bool] = mapped_column(default=False)
