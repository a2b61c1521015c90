"""Writing checklists: a draft beside the published versions, the difference between two
versions, what a publish would touch, and the publish itself.

Edits go to the template's draft (a Definition's JSON); phones never see it. Each edit keeps
every item valid on its own; what only the whole can break (a show-if that points at an item
now later or gone) is listed by ``Definition.problems`` and stops a publish, not an edit. Item
ids are the stable keys that answers, tickets and scores name: a label changes, a key never.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from datetime import datetime

from pypinyin import lazy_pinyin
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from foundation.base import utcnow
from foundation.org import Site, User
from foundation.roles import Role
from inspections.checklists import (
    ChecklistTemplate,
    Definition,
    Item,
    Section,
    TemplateKind,
    TemplateVersion,
    WorkbookSettings,
    current_version,
    get_template_version,
    publish_template_version,
)
from inspections.records import Assignment, Inspection, OpenDraft
from tickets.models import Ticket
from tickets.states import OPEN_STATES

NOTE_MAX = 500


def may_write(session: Session, person: User, template: ChecklistTemplate) -> bool:
    """Whoever changes a checklist (settings, draft, import into it, publish) may write
    checklists for every site that uses it: a site's own by its writers, a company-wide one by
    an administrator or a writer of every site. A manager of one site must not change what
    another site's guards walk with."""
    if not person.may_write_checklists:
        return False
    if person.role == Role.ADMIN:
        return True
    if template.site_id is not None:
        return person.may_see_site(template.site_id)
    return writes_for_every_site(session, person)


def writes_for_every_site(session: Session, person: User) -> bool:
    """May make or change a checklist for every site (a company-wide one)."""
    if person.role == Role.ADMIN:
        return person.may_write_checklists
    return person.may_write_checklists and set(session.scalars(select(Site.id))) <= set(person.site_ids)


class AuthoringRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def loose(document: dict) -> Definition:
    """A draft as a Definition whose items are each valid but whose whole may not be (yet)."""
    workbook = document.get("workbook")
    return Definition.model_construct(
        sections=[
            Section.model_construct(
                title=s["title"],
                title_en=s.get("title_en", ""),
                name=s.get("name", ""),
                items=[Item.model_validate(i) for i in s["items"]],
            )
            for s in document["sections"]
        ],
        workbook=WorkbookSettings.model_validate(workbook) if workbook else None,
    )


def suggest_key(label: str, label_en: str, taken: set[str]) -> str:
    """A key for a new item, from its label (the English words, else the Chinese in pinyin:
    轿厢地面 → jiao_xiang_di_mian), unique in the checklist. Suggested, never imposed: the
    author may write another, and once published it never changes."""
    words = label_en or " ".join(lazy_pinyin(label))
    base = re.sub(r"[^a-z0-9]+", "_", words.lower()).strip("_")[:32].strip("_") or "item"
    key, n = base, 2
    while key in taken:
        key, n = f"{base}_{n}", n + 1
    return key


def draft_changes_anything(session: Session, template: ChecklistTemplate) -> bool:
    """Whether the draft differs from the newest version: only then is publishing offered."""
    if template.draft is None:
        return False
    newest = get_template_version(session, template.id, template.current_version)
    return newest is None or not diff(newest.parsed(), loose(template.draft)).empty


def draft_of(session: Session, template: ChecklistTemplate) -> dict:
    """A copy of the template's draft to edit and ``_save`` (the JSON column notices a new value,
    not a change made in place), started from its newest version when there is none."""
    if template.draft is None:
        newest = get_template_version(session, template.id, template.current_version)
        # A copy: edits must never reach the published version's document.
        template.draft = (
            copy.deepcopy(newest.definition) if newest else {"sections": [{"title": template.title, "items": []}]}
        )
        template.draft_base = template.current_version
        template.draft_updated_at = utcnow()
    return copy.deepcopy(template.draft)


def new_checklist(
    session: Session,
    *,
    title: str,
    kind: TemplateKind,
    roles: list[str],
    site_id: int | None,
    area_type: str | None,
    definition: Definition | None = None,
) -> ChecklistTemplate:
    """A checklist nobody fills in yet: its settings and a draft (empty, or ``definition``).
    Phones get it with its first published version."""
    template = ChecklistTemplate(
        title=title, kind=kind, roles=roles, site_id=site_id, area_type=area_type, active=False
    )
    session.add(template)
    session.flush()
    if definition is None:
        draft_of(session, template)
    else:
        replace_draft(session, template, definition)
    return template


def replace_draft(session: Session, template: ChecklistTemplate, definition: Definition) -> None:
    """The draft becomes ``definition`` (an imported workbook), whatever it held."""
    draft_of(session, template)  # a new draft remembers the version it starts from
    _save(template, definition.model_dump(mode="json"))


def _save(template: ChecklistTemplate, document: dict) -> None:
    template.draft = document
    template.draft_updated_at = utcnow()


def _find(document: dict, item_id: str) -> tuple[int, int] | None:
    for s, section in enumerate(document["sections"]):
        for i, item in enumerate(section["items"]):
            if item["id"] == item_id:
                return s, i
    return None


def put_item(session: Session, template: ChecklistTemplate, item: Item, *, section: int, replacing: str | None) -> None:
    """Add ``item`` at the end of section ``section``, or put it in place of the item ``replacing``
    (whose key it keeps)."""
    document = draft_of(session, template)
    if not 0 <= section < len(document["sections"]):
        raise AuthoringRefused("no_section", "no such section")
    data = item.model_dump(mode="json", exclude_defaults=True) | {"id": item.id, "type": item.type}
    if replacing is None:
        if _find(document, item.id) is not None:
            raise AuthoringRefused("duplicate_key", f"the key {item.id} is already used by another item")
        document["sections"][section]["items"].append(data)
    else:
        where = _find(document, replacing) or _raise("no_item", "no such item in the draft")
        if item.id != replacing:
            raise AuthoringRefused("key_changed", "an item's key never changes: add a new item instead")
        document["sections"][where[0]]["items"][where[1]] = data
    _save(template, document)


def _raise(code: str, message: str):
    raise AuthoringRefused(code, message)


def remove_item(session: Session, template: ChecklistTemplate, item_id: str) -> None:
    document = draft_of(session, template)
    s, i = _find(document, item_id) or _raise("no_item", "no such item in the draft")
    del document["sections"][s]["items"][i]
    _save(template, document)


def move_item(session: Session, template: ChecklistTemplate, item_id: str, step: int) -> None:
    """One place up (-1) or down (+1); past a section's edge it joins the next section."""
    document = draft_of(session, template)
    s, i = _find(document, item_id) or _raise("no_item", "no such item in the draft")
    items = document["sections"][s]["items"]
    target = i + step
    if 0 <= target < len(items):
        items[i], items[target] = items[target], items[i]
    elif 0 <= s + step < len(document["sections"]):
        item = items.pop(i)
        neighbour = document["sections"][s + step]["items"]
        neighbour.insert(len(neighbour) if step < 0 else 0, item)
    _save(template, document)


def put_section(session: Session, template: ChecklistTemplate, title: str, *, index: int | None) -> None:
    """Add a section at the end, or rename section ``index``."""
    document = draft_of(session, template)
    if index is None:
        document["sections"].append({"title": title, "items": []})
    elif 0 <= index < len(document["sections"]):
        document["sections"][index]["title"] = title
    else:
        raise AuthoringRefused("no_section", "no such section")
    _save(template, document)


def remove_section(session: Session, template: ChecklistTemplate, index: int) -> None:
    document = draft_of(session, template)
    if not 0 <= index < len(document["sections"]):
        raise AuthoringRefused("no_section", "no such section")
    if document["sections"][index]["items"]:
        raise AuthoringRefused("section_not_empty", "move or remove its items first")
    del document["sections"][index]
    _save(template, document)


def discard_draft(template: ChecklistTemplate) -> None:
    template.draft = template.draft_base = template.draft_updated_at = None


@dataclass
class Change:
    before: Item
    after: Item
    fields: list[str]  # the Item fields that differ, e.g. ["label", "on_fail"]


@dataclass
class Diff:
    added: list[Item] = field(default_factory=list)
    removed: list[Item] = field(default_factory=list)
    changed: list[Change] = field(default_factory=list)
    moved: list[Item] = field(default_factory=list)  # the same item in another place or order
    sections_renamed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.moved or self.sections_renamed)

    @property
    def touched(self) -> set[str]:
        """The keys whose answers may no longer mean what they meant: removed or changed."""
        return {i.id for i in self.removed} | {c.before.id for c in self.changed}


def diff(before: Definition, after: Definition) -> Diff:
    """What ``after`` adds, removes and changes, item by item (by key)."""
    old, new = before.item_map(), after.item_map()
    result = Diff(
        added=[item for key, item in new.items() if key not in old],
        removed=[item for key, item in old.items() if key not in new],
    )
    for key, item in new.items():
        if key not in old:
            continue
        was, now = old[key].model_dump(), item.model_dump()
        fields = [name for name in now if now[name] != was[name]]
        if fields:
            result.changed.append(Change(old[key], item, fields))
    kept_before = [(s.title, i.id) for s in before.sections for i in s.items if i.id in new]
    kept_after = [(s.title, i.id) for s in after.sections for i in s.items if i.id in old]
    place_before = {key: (n, title) for n, (title, key) in enumerate(kept_before)}
    renamed = dict(zip([s.title for s in before.sections], [s.title for s in after.sections], strict=False))
    for n, (title, key) in enumerate(kept_after):
        was_n, was_title = place_before[key]
        if was_n != n or renamed.get(was_title, was_title) != title:
            result.moved.append(new[key])
    if len(before.sections) == len(after.sections):
        result.sections_renamed = [
            (a.title, b.title) for a, b in zip(before.sections, after.sections) if a.title != b.title
        ]
    return result


@dataclass
class Impact:
    """What refers to the items a publish removes or changes."""

    drafts: int  # checklists being filled in on phones, on any version of this one
    drafts_touched: int  # ... of which answer an item removed or changed
    assignments: int  # due and not done: they will open on the new version
    tickets_touched: int  # open tickets opened by a removed or changed item


def impact(session: Session, template: ChecklistTemplate, changes: Diff, now: datetime) -> Impact:
    sent = select(Inspection.id).where(Inspection.id == OpenDraft.inspection_id).exists()
    drafts = session.scalars(
        select(OpenDraft.answered).where(OpenDraft.template_id == template.id, ~sent)  # sent since the report: done
    ).all()
    done = select(Inspection.id).where(Inspection.assignment_id == Assignment.id).exists()
    assignments = session.scalar(
        select(func.count())
        .select_from(Assignment)
        .where(
            Assignment.template_id == template.id,
            or_(Assignment.deadline.is_(None), Assignment.deadline >= now),
            func.coalesce(Assignment.due_by, Assignment.due_on) >= now.date(),
            ~done,
        )
    )
    tickets = 0
    if changes.touched:
        tickets = session.scalar(
            select(func.count())
            .select_from(Ticket)
            .join(Inspection, Ticket.inspection_id == Inspection.id)
            .join(TemplateVersion, Inspection.template_version_id == TemplateVersion.id)
            .where(
                TemplateVersion.template_id == template.id,
                Ticket.item_id.in_(changes.touched),
                Ticket.state.in_(OPEN_STATES),
            )
        )
    return Impact(
        drafts=len(drafts),
        drafts_touched=sum(bool(changes.touched & set(answered)) for answered in drafts),
        assignments=assignments,
        tickets_touched=tickets,
    )


def report_open_drafts(session: Session, *, device_id, user: User, drafts: list, now: datetime) -> None:
    """Replace what a device said it has under way for ``user`` (each: inspection_id, template_id,
    template_version, location_id, answered, updated_at). Checklists it does not know are left out."""
    session.execute(delete(OpenDraft).where(OpenDraft.device_id == device_id))
    known = {
        (template_id, version)
        for template_id, version in session.execute(
            select(TemplateVersion.template_id, TemplateVersion.version).where(
                TemplateVersion.template_id.in_({d.template_id for d in drafts})
            )
        )
    }
    session.add_all(
        OpenDraft(
            device_id=device_id,
            inspection_id=d.inspection_id,
            user_id=user.id,
            template_id=d.template_id,
            template_version=d.template_version,
            answered=list(dict.fromkeys(d.answered)),
            updated_at=d.updated_at,
            reported_at=now,
        )
        for d in {d.inspection_id: d for d in drafts}.values()
        if (d.template_id, d.template_version) in known
    )


def publish_draft(
    session: Session, template: ChecklistTemplate, *, note: str, actor: User, effective_at: datetime | None = None
) -> TemplateVersion:
    """The draft becomes the template's next version, with ``note`` saying what changed."""
    if template.draft is None:
        raise AuthoringRefused("no_draft", "there is nothing to publish")
    note = note.strip()
    if not note:
        raise AuthoringRefused("note_required", "say what changed and why")
    if len(note) > NOTE_MAX:
        raise AuthoringRefused("note_too_long", f"the note is longer than {NOTE_MAX} characters")
    problems = loose(template.draft).problems()
    if problems:
        raise AuthoringRefused("draft_invalid", problems[0].message)
    definition = Definition.model_validate(template.draft)
    newest = get_template_version(session, template.id, template.current_version)
    if newest is not None and diff(newest.parsed(), definition).empty:
        raise AuthoringRefused("nothing_changed", "the draft is the same as the newest version")
    now = utcnow()
    if effective_at is not None and effective_at <= now:
        effective_at = None
    version = publish_template_version(session, template, definition, actor=actor, note=note, effective_at=effective_at)
    template.active = True  # a new checklist is filled in from its first version on
    discard_draft(template)
    return version


def version_in_use(session: Session, template: ChecklistTemplate) -> TemplateVersion | None:
    """The version new checks start on now, if one was ever published."""
    return current_version(session, template) if template.current_version else None
