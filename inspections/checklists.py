"""Checklist templates and their immutable versions.

A version's items live in one JSON document (``definition``), validated by the
pydantic models below. An edit publishes a new version; an inspection keeps the
version it was filled on, so old answers always read against their own items.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from foundation.base import Base, str_enum, utcnow
from foundation.org import Department, Site, User
from foundation.roles import OFFICE


class TemplateKind(str, enum.Enum):
    PATROL = "patrol"
    CLEANING = "cleaning"
    FITOUT = "fitout"
    HANDOVER = "handover"  # unit handover at move-in (§3.1.4)
    MOVEOUT = "moveout"  # move-out inspection (§3.13.4)
    GREENING = "greening"  # §3.7.3
    SHIFT_HANDOVER = "shift_handover"  # front desk (§3.9.1)
    CLEANING_TASK = "cleaning_task"  # a periodic cleaning job done (§3.6.6)
    HIDDEN_WORKS = "hidden_works"  # fit-out hidden-works acceptance sign-off (§3.2.4 4] 5])
    COMPLETION = "completion"  # fit-out completion acceptance sign-off (§3.2.4 5.)


ItemType = Literal["pass_fail", "yes_no", "number", "text", "choice", "photo", "signature"]
TicketKind = Literal["complaint", "repair", "violation", "hazard", "rework"]


class OnFail(BaseModel):
    """What a failed answer opens."""

    model_config = ConfigDict(extra="forbid")
    ticket_kind: TicketKind
    department: str  # a Department.code
    due_hours: Annotated[int, Field(gt=0, le=24 * 90)]


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_\-]+$")]
    label: Annotated[str, Field(min_length=1, max_length=200)]
    standard: str = ""  # the wording of the standard, shown under the label
    type: ItemType
    required: bool = True
    photo_on_fail: bool = False
    min: float | None = None
    max: float | None = None
    unit: str = ""
    choices: list[str] = []
    expected: Literal["yes", "no"] = "yes"  # for yes_no: the answer that passes
    weight: Annotated[float, Field(ge=0)] = 1.0
    on_fail: OnFail | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Item:
        if self.type == "choice" and not self.choices:
            raise ValueError(f"choice item {self.id} has no choices")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"item {self.id}: min is above max")
        return self

    @property
    def can_fail(self) -> bool:
        return self.type in ("pass_fail", "yes_no")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    items: list[Item]


class Definition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sections: list[Section]

    @model_validator(mode="after")
    def _unique_ids(self) -> Definition:
        ids = [item.id for item in self.items()]
        if len(ids) != len(set(ids)):
            raise ValueError("item ids must be unique within a template")
        if not ids:
            raise ValueError("a template needs at least one item")
        return self

    def items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    def item_map(self) -> dict[str, Item]:
        return {item.id: item for item in self.items()}


class ChecklistTemplate(Base):
    __tablename__ = "checklist_template"

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("site.id"), index=True)  # None: every site
    kind: Mapped[TemplateKind] = mapped_column(str_enum(TemplateKind))
    title: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    # Which roles may fill it in, e.g. ["cleaner", "supervisor", "customer_service"].
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    # For cleaning standards: the area type it applies to.
    area_type: Mapped[str | None] = mapped_column(String(32))
    current_version: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)

    site: Mapped[Site | None] = relationship()
    department: Mapped[Department | None] = relationship()
    versions: Mapped[list[TemplateVersion]] = relationship(
        back_populates="template", order_by="TemplateVersion.version"
    )

    def may_be_filled_by(self, user: User) -> bool:
        return self.active and (user.role in self.roles or user.role in OFFICE)

    def applies_to_site(self, site_id: int) -> bool:
        return self.site_id is None or self.site_id == site_id


class TemplateVersion(Base):
    __tablename__ = "template_version"
    __table_args__ = (UniqueConstraint("template_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template_id: Mapped[int] = mapped_column(ForeignKey("checklist_template.id"))
    version: Mapped[int] = mapped_column()
    definition: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    template: Mapped[ChecklistTemplate] = relationship(back_populates="versions")

    def parsed(self) -> Definition:
        # A version never changes once published, so the parse is kept on the loaded row: a
        # pushed batch reads the same version for each of its inspections.
        cached = self.__dict__.get("_parsed")
        if cached is None:
            cached = self.__dict__["_parsed"] = Definition.model_validate(self.definition)
        return cached


def publish_template_version(
    session: Session, template: ChecklistTemplate, definition: Definition, *, actor: User | None
) -> TemplateVersion:
    """Make ``definition`` the template's newest version; earlier versions stay as they were."""
    template.current_version += 1
    version = TemplateVersion(
        template=template,
        version=template.current_version,
        definition=definition.model_dump(mode="json"),
        created_by_id=actor.id if actor else None,
    )
    session.add(version)
    session.flush()
    return version


def get_template_version(session: Session, template_id: int, version: int) -> TemplateVersion | None:
    # Versions never change: remember where each is for the session's life (a pushed batch
    # asks for the same one again and again).
    known = session.info.setdefault("template_versions", {})
    if (template_id, version) in known:
        return session.get(TemplateVersion, known[(template_id, version)])
    found = session.scalar(
        select(TemplateVersion).where(TemplateVersion.template_id == template_id, TemplateVersion.version == version)
    )
    if found is not None:
        known[(template_id, version)] = found.id
    return found


def current_version(session: Session, template: ChecklistTemplate) -> TemplateVersion:
    found = get_template_version(session, template.id, template.current_version)
    assert found is not None, f"template {template.id} has no version {template.current_version}"
    return found
