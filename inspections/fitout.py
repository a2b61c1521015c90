"""Fit-out (二次装修) projects: a tenant's renovation under three departments' supervision."""
from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inspections.base import Base, str_enum
from inspections.org import Location, Site, Tenant


class FitoutState(str, enum.Enum):
    APPLIED = "applied"
    APPROVED = "approved"
    IN_PROGRESS = "in_progress"
    HIDDEN_WORKS_ACCEPTED = "hidden_works_accepted"
    COMPLETED = "completed"
    DEPOSIT_REFUNDED = "deposit_refunded"


class FitoutProject(Base):
    __tablename__ = "fitout_project"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenant.id"))
    contractor: Mapped[str] = mapped_column(String(200))
    permit_number: Mapped[str] = mapped_column(String(64))
    starts_on: Mapped[date] = mapped_column()
    ends_on: Mapped[date] = mapped_column()
    drawings_ref: Mapped[str] = mapped_column(String(200), default="")
    noisy_hours: Mapped[str] = mapped_column(String(64), default="")  # e.g. "12:00-14:00,18:00-08:00"
    deposit_cents: Mapped[int] = mapped_column(default=0)
    state: Mapped[FitoutState] = mapped_column(str_enum(FitoutState), default=FitoutState.APPLIED)

    site: Mapped[Site] = relationship()
    unit: Mapped[Location] = relationship()
    tenant: Mapped[Tenant | None] = relationship()
