"""Checklist templates and their immutable versions.

A version's items live in one JSON document (``definition``), validated by the
pydantic models below. An edit publishes a new version; an inspection keeps the
version it was filled on, so old answers always read against their own items.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError
from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, joinedload, mapped_column, relationship

from foundation.base import Base, str_enum, utcnow
from foundation.org import Department, Site, User
from foundation.roles import OFFICE, Role


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


# What a failing item opens when its author said nothing else (an XLSForm without ``on_fail``):
# the ticket each kind of check leads to in the manual (§3.6.8 rework for cleaning, hazards for
# patrols, violations for fit-out, repairs at a handover or move-out), for the department that
# acts on it, due as the manual's own examples are.
DEFAULT_ON_FAIL: dict[TemplateKind, dict] = {
    TemplateKind.CLEANING: {"ticket_kind": "rework", "department": "cleaning", "due_hours": 2},
    TemplateKind.CLEANING_TASK: {"ticket_kind": "rework", "department": "cleaning", "due_hours": 24},
    TemplateKind.GREENING: {"ticket_kind": "rework", "department": "cleaning", "due_hours": 24},
    TemplateKind.PATROL: {"ticket_kind": "hazard", "department": "security", "due_hours": 24},
    TemplateKind.FITOUT: {"ticket_kind": "violation", "department": "engineering", "due_hours": 72},
    TemplateKind.HIDDEN_WORKS: {"ticket_kind": "violation", "department": "engineering", "due_hours": 72},
    TemplateKind.COMPLETION: {"ticket_kind": "violation", "department": "engineering", "due_hours": 72},
    TemplateKind.HANDOVER: {"ticket_kind": "repair", "department": "engineering", "due_hours": 72},
    TemplateKind.MOVEOUT: {"ticket_kind": "repair", "department": "engineering", "due_hours": 72},
    TemplateKind.SHIFT_HANDOVER: {"ticket_kind": "repair", "department": "customer_service", "due_hours": 24},
}

ItemType = Literal["pass_fail", "yes_no", "number", "text", "choice", "photo", "signature", "instruction"]
TicketKind = Literal["complaint", "repair", "violation", "hazard", "rework"]
TicketPriority = Literal["low", "normal", "high", "urgent"]
# The answers a show-if may wait for, by the type of the item it watches (SYNC.md v1.1).
SHOW_IF_VALUES = {"pass_fail": ("pass", "fail", "na"), "yes_no": ("yes", "no")}


class OnFail(BaseModel):
    """What a failed answer opens."""

    model_config = ConfigDict(extra="forbid")
    ticket_kind: TicketKind
    department: str  # a Department.code
    due_hours: Annotated[int, Field(gt=0, le=24 * 90)]
    priority: TicketPriority = "normal"
    role: Role | None = None  # who of the department takes it (inspections.routing), if not whoever is on duty


class ShowIf(BaseModel):
    """Ask the item only when an earlier item's answer equals ``equals``."""

    model_config = ConfigDict(extra="forbid")
    item_id: str
    equals: Annotated[str, Field(min_length=1, max_length=200)]


class WorkbookNames(BaseModel):
    """What an XLSForm workbook called an item's choices, kept so that its export is the workbook
    that came in (the engine itself answers with the labels)."""

    model_config = ConfigDict(extra="forbid")
    list_name: Annotated[str, Field(max_length=80)] = ""
    choice_names: list[Annotated[str, Field(max_length=80)]] = []


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[a-z0-9_\-]+$")]
    label: Annotated[str, Field(min_length=1, max_length=200)]
    standard: str = ""  # the wording of the standard, shown under the label
    label_en: Annotated[str, Field(max_length=200)] = ""  # shown to people who use the app in English
    standard_en: str = ""
    type: ItemType
    required: bool = True
    photo_on_fail: bool = False
    min: float | None = None
    max: float | None = None
    unit: str = ""
    choices: list[str] = []
    choices_en: list[str] = []  # the same choices in English, in the same order (or none)
    allows_na: bool = False  # a pass/fail item that may be answered N/A (不适用), as the manual scores it
    expected: Literal["yes", "no"] = "yes"  # for yes_no: the answer that passes
    weight: Annotated[float, Field(ge=0)] = 1.0
    on_fail: OnFail | None = None
    show_if: ShowIf | None = None
    workbook: WorkbookNames | None = None  # from an XLSForm import; the engine does not read it

    @model_validator(mode="before")
    @classmethod
    def _instruction_not_required(cls, data):
        if isinstance(data, dict) and data.get("type") == "instruction":
            data = {"required": False, **data}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> Item:
        if self.type == "choice" and not self.choices:
            raise PydanticCustomError("no_choices", "choice item {id} has no choices", {"id": self.id})
        if self.choices_en and len(self.choices_en) != len(self.choices):
            raise PydanticCustomError(
                "choices_en_count", "item {id}: not one English choice per choice", {"id": self.id}
            )
        if self.type == "choice" and len(set(self.choices)) != len(self.choices):
            raise PydanticCustomError("choice_twice", "choice item {id} lists a choice twice", {"id": self.id})
        if self.min is not None and self.max is not None and self.min > self.max:
            raise PydanticCustomError("min_above_max", "item {id}: min is above max", {"id": self.id})
        if self.type == "instruction" and (self.required or self.photo_on_fail or self.on_fail):
            raise PydanticCustomError(
                "instruction_answered",
                "instruction {id} is read, never answered: it cannot be required or fail",
                {"id": self.id},
            )
        if self.on_fail is not None and not self.can_fail:
            raise PydanticCustomError(
                "cannot_fail", "item {id} cannot fail, so it cannot open a ticket", {"id": self.id}
            )
        return self

    @property
    def answerable(self) -> bool:
        return self.type != "instruction"

    @property
    def can_fail(self) -> bool:
        return self.type in ("pass_fail", "yes_no")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    title_en: str = ""
    name: Annotated[str, Field(max_length=80)] = ""  # the XLSForm group's name, kept for its export
    items: list[Item]


class WorkbookSettings(BaseModel):
    """An imported XLSForm's settings sheet, kept so that its export carries them back."""

    model_config = ConfigDict(extra="forbid")
    form_id: Annotated[str, Field(max_length=200)] = ""
    version: Annotated[str, Field(max_length=80)] = ""
    default_language: Annotated[str, Field(max_length=40)] = ""


class Definition(BaseModel):
    """A checklist's sections and items. Never changed once made (authoring edits a document
    and validates a new one), so its item list and map are made once: a pushed batch asks for
    them for every answer."""

    model_config = ConfigDict(extra="forbid")
    sections: list[Section]
    workbook: WorkbookSettings | None = None

    @model_validator(mode="after")
    def _well_formed(self) -> Definition:
        problem = next(iter(self.problems()), None)
        if problem:
            raise ValueError(problem.message)
        return self

    def problems(self) -> list[DefinitionProblem]:
        """What keeps this from being a checklist (what only the whole can break)."""
        found: list[DefinitionProblem] = []
        earlier: dict[str, Item] = {}
        for item in self.items():
            if item.id in earlier:
                found.append(DefinitionProblem(item.id, "duplicate_key"))
            condition = item.show_if
            if condition is not None:
                watched = earlier.get(condition.item_id)
                if condition.item_id == item.id:
                    found.append(DefinitionProblem(item.id, "show_if_self"))
                elif watched is None:
                    found.append(DefinitionProblem(item.id, "show_if_not_earlier", (condition.item_id,)))
                elif condition.equals not in show_if_values(watched):
                    found.append(DefinitionProblem(item.id, "show_if_not_an_answer", (condition.equals, watched.id)))
            earlier.setdefault(item.id, item)
        if not any(item.answerable for item in earlier.values()):
            found.append(DefinitionProblem(None, "nothing_to_answer"))
        return found

    # Kept in the instance's __dict__ (pydantic compares fields only, so two equal checklists
    # stay equal whichever was asked): plain attribute reads after the first.
    @cached_property
    def _items(self) -> list[Item]:
        return [item for section in self.sections for item in section.items]

    @cached_property
    def _item_map(self) -> dict[str, Item]:
        return {item.id: item for item in self._items}

    @cached_property
    def every_item_asked(self) -> bool:
        """No show-if and no instruction: every answer counts, whatever the others say."""
        return all(item.show_if is None and item.answerable for item in self._items)

    @cached_property
    def photographed_elsewhere(self) -> frozenset[str]:
        """Items whose answer shows a photo item of its own (XLSForm: an image ``relevant`` on
        it): that item is the one way to photograph the finding, so the watched item offers no
        camera unless it requires a photo itself (``photo_on_fail``)."""
        return frozenset(
            item.show_if.item_id
            for item in self._items
            if item.type == "photo" and item.show_if is not None
            if not self._item_map[item.show_if.item_id].photo_on_fail
        )

    def items(self) -> list[Item]:
        return self._items

    def item_map(self) -> dict[str, Item]:
        return self._item_map

    def shown(self, values: dict[str, object]) -> set[str]:
        """The ids of the items asked, given the answers' values by item id: an item whose
        show-if watches a hidden item is hidden too (the watched item comes first)."""
        shown: set[str] = set()
        for item in self.items():
            condition = item.show_if
            if condition is None or (condition.item_id in shown and values.get(condition.item_id) == condition.equals):
                shown.add(item.id)
        return shown


@dataclass(frozen=True)
class DefinitionProblem:
    item_id: str | None
    code: str
    args: tuple = ()

    @property
    def message(self) -> str:
        """In English, for an API error or a log; pages say it in the person's language."""
        item, args = self.item_id, self.args
        match self.code:
            case "duplicate_key":
                return f"the key {item} is used by two items"
            case "show_if_self":
                return f"item {item} is shown if its own answer is given"
            case "show_if_not_earlier":
                return f"item {item} is shown if {args[0]}, which is not an earlier item"
            case "show_if_not_an_answer":
                return f"item {item} waits for {args[0]!r}, not an answer of {args[1]}"
        return "a checklist needs at least one item to answer"


def show_if_values(item: Item) -> tuple[str, ...]:
    """The answers of ``item`` that a later item may be shown on."""
    if item.type == "choice":
        return tuple(item.choices)
    return SHOW_IF_VALUES.get(item.type, ())


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
    current_version: Mapped[int] = mapped_column(default=0)  # the newest published, maybe not yet in effect
    active: Mapped[bool] = mapped_column(default=True)
    # The edits not yet published: a Definition's JSON, and the version it was started from.
    draft: Mapped[dict | None] = mapped_column(JSON)
    draft_base: Mapped[int | None] = mapped_column()
    draft_updated_at: Mapped[datetime | None] = mapped_column()
    # Where a copy came from: the key of a library checklist (inspections/manual.json).
    library_key: Mapped[str | None] = mapped_column(String(40))

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
    note: Mapped[str] = mapped_column(String(500), default="")  # what changed, and why
    # New checks start on it from then on (None: from its publishing). Earlier ones keep theirs.
    effective_at: Mapped[datetime | None] = mapped_column()

    template: Mapped[ChecklistTemplate] = relationship(back_populates="versions")
    created_by: Mapped[User | None] = relationship()

    def in_effect(self, now: datetime) -> bool:
        return self.effective_at is None or self.effective_at <= now

    def parsed(self) -> Definition:
        # A version never changes once published, so the parse is kept on the loaded row: a
        # pushed batch reads the same version for each of its inspections.
        cached = self.__dict__.get("_parsed")
        if cached is None:
            cached = self.__dict__["_parsed"] = Definition.model_validate(self.definition)
        return cached


def publish_template_version(
    session: Session,
    template: ChecklistTemplate,
    definition: Definition,
    *,
    actor: User | None,
    note: str = "",
    effective_at: datetime | None = None,
) -> TemplateVersion:
    """Make ``definition`` the template's newest version; earlier versions stay as they were."""
    template.current_version += 1
    version = TemplateVersion(
        template=template,
        version=template.current_version,
        definition=definition.model_dump(mode="json"),
        created_by_id=actor.id if actor else None,
        note=note,
        effective_at=effective_at,
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
        select(TemplateVersion)
        .options(joinedload(TemplateVersion.template))  # asked for next, every time
        .where(TemplateVersion.template_id == template_id, TemplateVersion.version == version)
    )
    if found is not None:
        known[(template_id, version)] = found.id
    return found


def current_version(session: Session, template: ChecklistTemplate, now: datetime | None = None) -> TemplateVersion:
    """The version a check started now is filled on: the newest in effect."""
    now = now or utcnow()
    found = get_template_version(session, template.id, template.current_version)
    assert found is not None, f"template {template.id} has no version {template.current_version}"
    if found.in_effect(now):
        return found
    return session.scalars(
        select(TemplateVersion)
        .where(
            TemplateVersion.template_id == template.id,
            (TemplateVersion.effective_at.is_(None)) | (TemplateVersion.effective_at <= now),
        )
        .order_by(TemplateVersion.version.desc())
        .limit(1)
    ).one()


def version_at(session: Session, template: ChecklistTemplate, moment: datetime) -> TemplateVersion:
    """The version a check made at ``moment`` was filled on: the newest published by then and in
    effect then (the first one for a moment before any, a phone's clock being wrong)."""
    in_effect = (TemplateVersion.effective_at.is_(None)) | (TemplateVersion.effective_at <= moment)
    found = session.scalars(
        select(TemplateVersion)
        .where(TemplateVersion.template_id == template.id, TemplateVersion.created_at <= moment, in_effect)
        .order_by(TemplateVersion.version.desc())
        .limit(1)
    ).first()
    return found or get_template_version(session, template.id, 1)


def upcoming_version(session: Session, template: ChecklistTemplate, now: datetime | None = None):
    """The version published to take effect later, if any."""
    found = get_template_version(session, template.id, template.current_version)
    return None if found is None or found.in_effect(now or utcnow()) else found
