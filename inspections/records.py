"""What field staff are due to do (assignments) and what they did (inspections, answers)."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from foundation.base import Base, utcnow
from foundation.org import Location, Site, User
from inspections.checklists import ChecklistTemplate, TemplateVersion


class Assignment(Base):
    """A checklist someone is due to fill in at a location on a day (or from ``due_on`` until
    ``due_by``), made by hand or by a schedule (``schedules.py``) for one of its slots."""

    __tablename__ = "assignment"
    __table_args__ = (UniqueConstraint("schedule_id", "slot", "location_id", "assignee_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_template.id"))
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"))
    assignee_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    due_on: Mapped[date] = mapped_column(index=True)
    due_by: Mapped[date | None] = mapped_column()  # None: the same day
    schedule_id: Mapped[int | None] = mapped_column(ForeignKey("schedule.id"))
    slot: Mapped[str | None] = mapped_column(String(24))  # the schedule's occurrence: 2026-12-01T08:00
    due_at: Mapped[datetime | None] = mapped_column()  # a timed slot: due at this moment
    deadline: Mapped[datetime | None] = mapped_column()  # done after it is late; None: the end of the last day
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    site: Mapped[Site] = relationship()
    template: Mapped[ChecklistTemplate] = relationship()
    location: Mapped[Location] = relationship()
    assignee: Mapped[User] = relationship()

    @property
    def last_day(self) -> date:
        return self.due_by or self.due_on


class Inspection(Base):
    """A submitted checklist. Append-only: a correction is a new inspection that names this one."""

    __tablename__ = "inspection"
    # A site's day or weeks of checks, with the failed count, read from the index alone.
    # Records still waiting for photos are few: the console reads just them.
    __table_args__ = (
        Index("ix_inspection_site_finished", "site_id", "finished_at", "failed_count"),
        Index(
            "ix_inspection_awaiting_photos",
            "site_id",
            "received_at",
            sqlite_where=text("photos_missing > 0"),
            postgresql_where=text("photos_missing > 0"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)  # made by the device or the form
    template_version_id: Mapped[int] = mapped_column(ForeignKey("template_version.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("location.id"), index=True)
    assignment_id: Mapped[int | None] = mapped_column(ForeignKey("assignment.id"), index=True)
    inspector_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), index=True)
    device_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("device.id"))
    corrects_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("inspection.id"))
    # The device's clock (when the work was done) and the server's (when it arrived).
    started_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime] = mapped_column(index=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    clock_offset_ms: Mapped[int | None] = mapped_column(BigInteger)  # a phone reset to 2000 is years off
    clock_flagged: Mapped[bool] = mapped_column(default=False)
    geo: Mapped[dict | None] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(8))  # "web" or "sync"
    failed_count: Mapped[int] = mapped_column(default=0)
    score: Mapped[float | None] = mapped_column()  # 0–100 over the gradable items answered
    # For cleaning standards: which of the three checks (self, patrol, spot) this was.
    check_kind: Mapped[str | None] = mapped_column(String(8))
    # Photos it cites that its inspector has not uploaded yet (inspections/photo_reach.py).
    photos_missing: Mapped[int] = mapped_column(default=0, server_default="0")

    template_version: Mapped[TemplateVersion] = relationship()
    site: Mapped[Site] = relationship()
    location: Mapped[Location] = relationship()
    inspector: Mapped[User] = relationship()
    assignment: Mapped[Assignment | None] = relationship()
    answers: Mapped[list[Answer]] = relationship(
        back_populates="inspection", order_by="Answer.position", cascade="all, delete-orphan"
    )


class Answer(Base):
    __tablename__ = "answer"
    __table_args__ = (UniqueConstraint("inspection_id", "item_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    inspection_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("inspection.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column()
    value: Mapped[object] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    passed: Mapped[bool | None] = mapped_column()  # None: not a pass/fail item, or N/A

    inspection: Mapped[Inspection] = relationship(back_populates="answers")
    photos: Mapped[list[AnswerPhoto]] = relationship(order_by="AnswerPhoto.position", cascade="all, delete-orphan")


class AnswerPhoto(Base):
    """A photo an answer names. No foreign key to ``photo``: a synced record may name
    photos that have not been uploaded yet (they never hold a record back)."""

    __tablename__ = "answer_photo"

    answer_id: Mapped[int] = mapped_column(ForeignKey("answer.id", ondelete="CASCADE"), primary_key=True)
    photo_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    position: Mapped[int] = mapped_column()


class OpenDraft(Base):
    """A checklist being filled in on a phone, as the phone last reported it (SYNC.md extension
    ``PUT /api/v1/sync/drafts``): what a checklist's author weighs before publishing a change."""

    __tablename__ = "open_draft"

    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("device.id"), primary_key=True)
    inspection_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"))
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_template.id"), index=True)
    template_version: Mapped[int] = mapped_column()
    answered: Mapped[list[str]] = mapped_column(JSON, default=list)  # the item ids answered so far
    updated_at: Mapped[datetime] = mapped_column()  # on the phone
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
