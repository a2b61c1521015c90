"""Writing checklists: drafts, show-if, diffs, what a publish touches, versions that stay, the
XLSForm workbook both ways, and the manual's library. Built with the factories, on both databases."""

from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest
from openpyxl import Workbook
from pydantic import ValidationError

from foundation.base import utcnow
from foundation.org import Origin
from foundation.roles import Role
from inspections.authoring import (
    AuthoringRefused,
    diff,
    draft_of,
    impact,
    move_item,
    publish_draft,
    put_item,
    remove_item,
    report_open_drafts,
)
from inspections.checklists import Definition, Item, TemplateKind, current_version, upcoming_version
from inspections.library import copy_from_library, install_departments, library
from inspections.submission import InspectionSubmission, SubmissionRefused, submit_inspection
from inspections.xlsform import XlsFormRefused, read_xlsform, write_xlsform
from sync.schemas import OpenDraftIn
from tests import factories

LIFT = [
    {"id": "light", "type": "pass_fail", "label": "轿厢照明", "photo_on_fail": True},
    {"id": "why", "type": "text", "label": "原因", "show_if": {"item_id": "light", "equals": "fail"}},
    {"id": "read", "type": "instruction", "label": "检查时勿进入井道"},
]


def definition(items: list[dict]) -> Definition:
    return Definition.model_validate({"sections": [{"title": "电梯厅", "items": items}]})


def world(session):
    site = factories.site(session)
    area = factories.place(session, site, area_type="lift_hall")
    cleaner = factories.person(session, site)
    manager = factories.person(session, site, role=Role.MANAGER)
    template = factories.checklist(session, items=LIFT, area_type="lift_hall")
    return site, area, cleaner, manager, template


def submit(session, template, version, area, person, answers):
    payload = InspectionSubmission(
        inspection_id=uuid.uuid4(),
        template_id=template.id,
        template_version=version,
        site_id=area.site_id,
        location_id=area.id,
        started_at=utcnow() - timedelta(minutes=5),
        finished_at=utcnow(),
        answers=answers,
    )
    return submit_inspection(session, payload, actor=person, origin=Origin("web"), now=utcnow())


# Show-if and instructions (SYNC.md v1.1)


def test_a_hidden_item_is_not_required_and_its_answer_is_ignored(session):
    _, area, cleaner, _, template = world(session)
    passed = submit(
        session,
        template,
        1,
        area,
        cleaner,
        [
            {"item_id": "light", "value": "pass"},
            {"item_id": "why", "value": "不该出现"},
            {"item_id": "read", "value": "x"},
        ],
    )
    assert [a.item_id for a in passed.inspection.answers] == ["light"]
    with pytest.raises(SubmissionRefused) as refused:
        submit(session, template, 1, area, cleaner, [{"item_id": "light", "value": "fail", "photos": ["a" * 64]}])
    assert refused.value.item_errors == {"why": "required"}  # shown now, so asked


def test_a_failure_with_a_photo_item_of_its_own_is_photographed_there_and_nowhere_else():
    def definition(photo_on_fail: bool) -> Definition:
        items = [
            {"id": "mirror", "type": "pass_fail", "label": "镜子", "photo_on_fail": photo_on_fail},
            {
                "id": "mirror_photo",
                "type": "photo",
                "label": "镜子照片",
                "show_if": {"item_id": "mirror", "equals": "fail"},
            },
            {"id": "floor", "type": "pass_fail", "label": "地面"},
        ]
        return Definition.model_validate({"sections": [{"title": "卫生间", "items": items}]})

    assert definition(photo_on_fail=False).photographed_elsewhere == {"mirror"}
    assert (
        definition(photo_on_fail=True).photographed_elsewhere == set()
    )  # its own photo is required: it keeps its camera


@pytest.mark.parametrize(
    ("items", "message"),
    [
        ([{"id": "a", "type": "pass_fail", "label": "A"}, {"id": "a", "type": "text", "label": "B"}], "used by two"),
        ([{"id": "a", "type": "pass_fail", "label": "A", "show_if": {"item_id": "a", "equals": "pass"}}], "its own"),
        (
            [
                {"id": "a", "type": "pass_fail", "label": "A", "show_if": {"item_id": "b", "equals": "yes"}},
                {"id": "b", "type": "yes_no", "label": "B"},
            ],
            "not an earlier item",
        ),
        (
            [
                {"id": "a", "type": "yes_no", "label": "A"},
                {"id": "b", "type": "text", "label": "B", "show_if": {"item_id": "a", "equals": "fail"}},
            ],
            "not an answer of a",
        ),
        ([{"id": "a", "type": "instruction", "label": "A"}], "at least one item to answer"),
    ],
)
def test_a_checklist_that_cannot_work_is_refused(items, message):
    with pytest.raises(ValidationError, match=message):
        definition(items)


def test_an_instruction_cannot_be_required_or_fail():
    with pytest.raises(ValidationError, match="never answered"):
        Item.model_validate({"id": "i", "type": "instruction", "label": "读", "required": True})


# Drafts, diff, publish


def test_edits_go_to_a_draft_and_publish_makes_a_new_version_that_keeps_the_old(session):
    _, area, cleaner, manager, template = world(session)
    put_item(
        session,
        template,
        Item(id="light", type="pass_fail", label="电梯轿厢照明", photo_on_fail=True),
        section=0,
        replacing="light",
    )
    put_item(session, template, Item(id="fan", type="pass_fail", label="轿厢风扇"), section=0, replacing=None)
    remove_item(session, template, "read")
    move_item(session, template, "fan", -1)
    assert current_version(session, template).version == 1  # phones still get version 1
    changes = diff(current_version(session, template).parsed(), Definition.model_validate(template.draft))
    assert [i.id for i in changes.added] == ["fan"]
    assert [i.id for i in changes.removed] == ["read"]
    assert [(c.after.id, c.fields) for c in changes.changed] == [("light", ["label"])]
    with pytest.raises(AuthoringRefused, match="what changed"):
        publish_draft(session, template, note="  ", actor=manager)
    version = publish_draft(session, template, note="加风扇，照明改名", actor=manager)
    assert (version.version, version.note, template.draft) == (2, "加风扇，照明改名", None)
    # A check started on version 1 still submits on version 1, and reads with its own items.
    old = submit(session, template, 1, area, cleaner, [{"item_id": "light", "value": "pass"}])
    assert old.inspection.template_version.version == 1
    with pytest.raises(AuthoringRefused, match="no draft|nothing"):
        publish_draft(session, template, note="again", actor=manager)


def test_a_key_never_changes_and_a_key_is_used_once(session):
    *_, template = world(session)
    with pytest.raises(AuthoringRefused, match="already used"):
        put_item(session, template, Item(id="light", type="text", label="x"), section=0, replacing=None)
    with pytest.raises(AuthoringRefused, match="never changes"):
        put_item(session, template, Item(id="lamp", type="text", label="x"), section=0, replacing="light")


def test_a_publish_that_leaves_a_show_if_pointing_nowhere_is_refused(session):
    *_, manager, template = world(session)
    remove_item(session, template, "light")  # "why" waits for it
    with pytest.raises(AuthoringRefused, match="not an earlier item"):
        publish_draft(session, template, note="去掉照明", actor=manager)


def test_the_impact_counts_drafts_on_phones_due_checks_and_open_tickets(session):
    site, area, cleaner, manager, template = world(session)
    from foundation.org import Device
    from inspections.records import Assignment

    device = Device(user_id=cleaner.id, name="phone", token_hash=uuid.uuid4().hex)
    session.add(device)
    session.add(
        Assignment(
            site_id=site.id,
            template_id=template.id,
            location_id=area.id,
            assignee_id=cleaner.id,
            due_on=utcnow().date(),
        )
    )
    session.flush()
    now = utcnow()
    report_open_drafts(
        session,
        device_id=device.id,
        user=cleaner,
        drafts=[
            OpenDraftIn(
                inspection_id=uuid.uuid4(),
                template_id=template.id,
                template_version=1,
                answered=["light"],
                updated_at=now,
            ),
            OpenDraftIn(
                inspection_id=uuid.uuid4(), template_id=template.id, template_version=1, answered=[], updated_at=now
            ),
            OpenDraftIn(
                inspection_id=uuid.uuid4(), template_id=template.id, template_version=9, answered=[], updated_at=now
            ),
        ],
        now=now,
    )
    put_item(
        session,
        template,
        Item(id="light", type="pass_fail", label="照明", photo_on_fail=False),
        section=0,
        replacing="light",
    )
    changes = diff(current_version(session, template).parsed(), Definition.model_validate(template.draft))
    found = impact(session, template, changes, now)
    assert (found.drafts, found.drafts_touched, found.assignments, found.tickets_touched) == (2, 1, 1, 0)


def test_a_version_published_for_later_takes_effect_then(session):
    *_, manager, template = world(session)
    draft_of(session, template)
    put_item(session, template, Item(id="fan", type="pass_fail", label="风扇"), section=0, replacing=None)
    later = utcnow() + timedelta(days=1)
    publish_draft(session, template, note="12-01 起", actor=manager, effective_at=later)
    assert current_version(session, template).version == 1
    assert upcoming_version(session, template).version == 2
    assert current_version(session, template, later + timedelta(seconds=1)).version == 2


# XLSForm


def workbook(survey: list[list], choices: list[list] | None = None, settings: list[list] | None = None) -> bytes:
    book = Workbook()
    book.active.title = "survey"
    for row in survey:
        book.active.append(row)
    sheet = book.create_sheet("choices")
    for row in choices or [
        ["list_name", "name", "label"],
        ["pass_fail", "pass", "合格"],
        ["pass_fail", "fail", "不合格"],
    ]:
        sheet.append(row)
    sheet = book.create_sheet("settings")
    for row in settings or [["form_title", "form_id"], ["电梯厅", "lift"]]:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


HEAD = [
    "type",
    "name",
    "label::zh",
    "label::en",
    "hint",
    "required",
    "relevant",
    "constraint",
    "weight",
    "on_fail",
    "on_fail_department",
    "on_fail_due_hours",
]


def test_an_xlsform_maps_as_someone_who_knows_xlsform_expects():
    data = workbook(
        [
            HEAD,
            ["begin_group", "hall", "电梯厅", "Lift hall", "", "", "", "", "", "", "", ""],
            [
                "select_one pass_fail",
                "light",
                "轿厢照明",
                "Car lighting",
                "照明正常",
                "yes",
                "",
                "",
                "2",
                "rework",
                "cleaning",
                "2",
            ],
            ["text", "why", "原因", "", "", "yes", "${light} = 'fail'", "", "", "", "", ""],
            ["note", "mind", "勿进入井道", "", "", "", "", "", "", "", "", ""],
            ["decimal", "temp", "温度", "", "", "no", "", ". >= 0 and . <= 40", "", "", "", ""],
            ["select_one door", "door", "厅门", "", "", "yes", "", "", "", "", "", ""],
            ["image", "sign", "签名", "", "", "no", "${door} = 'open'", "", "", "", "", ""],
            ["end_group", "", "", "", "", "", "", "", "", "", "", ""],
        ],
        choices=[
            ["list_name", "name", "label"],
            ["pass_fail", "pass", "合格"],
            ["pass_fail", "fail", "不合格"],
            ["door", "open", "开着"],
            ["door", "shut", "关着"],
        ],
    )
    imported = read_xlsform(data)
    items = imported.definition.item_map()
    assert imported.title == "电梯厅" and imported.definition.sections[0].title == "电梯厅"
    assert (items["light"].type, items["light"].label_en, items["light"].standard, items["light"].weight) == (
        "pass_fail",
        "Car lighting",
        "照明正常",
        2,
    )
    assert items["light"].on_fail.ticket_kind == "rework" and items["light"].on_fail.due_hours == 2
    assert items["why"].show_if.model_dump() == {"item_id": "light", "equals": "fail"}
    assert items["mind"].type == "instruction" and not items["mind"].required
    assert (items["temp"].min, items["temp"].max, items["temp"].required) == (0, 40, False)
    assert items["door"].choices == ["开着", "关着"]
    assert items["sign"].show_if.equals == "开着"  # the choice's name read as its label


def test_who_takes_a_failure_comes_in_and_goes_out_in_the_on_fail_role_column():
    head = [*HEAD, "on_fail_role"]
    row = ["select_one pass_fail", "floor", "地面", "", "", "yes", "", "", "", "rework", "cleaning", "2", "supervisor"]
    choices = [["list_name", "name", "label"], ["pass_fail", "pass", "合格"], ["pass_fail", "fail", "不合格"]]
    imported = read_xlsform(workbook([head, row], choices=choices))
    assert imported.definition.item_map()["floor"].on_fail.role == Role.SUPERVISOR
    again = read_xlsform(write_xlsform(imported.title, "floor-check", imported.definition))
    assert again.definition.item_map()["floor"].on_fail.role == Role.SUPERVISOR
    with pytest.raises(XlsFormRefused) as refused:
        read_xlsform(workbook([head, [*row[:-1], "boss"]], choices=choices))
    assert "on_fail_role" in str(refused.value.problems)


def test_an_exported_workbook_imports_back_unchanged(session):
    install_departments(session)
    for entry in library().values():
        exported = write_xlsform(entry.title, entry.key, entry.definition())
        again = read_xlsform(exported)
        assert again.definition.workbook.form_id == entry.key  # a form_id of its own is kept
        assert again.definition.model_copy(update={"workbook": None}) == entry.definition(), entry.key
        assert again.title == entry.title


def problems_of(data: bytes) -> list[tuple]:
    with pytest.raises(XlsFormRefused) as refused:
        read_xlsform(data)
    return [(p.sheet, p.row, p.column, p.message) for p in refused.value.problems]


def test_what_a_checklist_cannot_hold_is_refused_by_sheet_row_and_column():
    found = problems_of(
        workbook(
            [
                ["type", "name", "label", "relevant", "constraint", "calculation"],
                ["select_one pass_fail", "light", "照明", "", "", ""],
                ["select_multiple pass_fail", "many", "多选", "", "", ""],
                ["integer", "temp", "温度", "${light} != 'fail'", "regex(., '[0-9]')", ""],
            ]
        )
    )
    assert found == [("survey", 1, "calculation (F)", "this column is not supported")]
    found = problems_of(
        workbook(
            [
                ["type", "name", "label", "relevant", "constraint"],
                ["select_one pass_fail", "light", "照明", "", ""],
                ["select_multiple pass_fail", "many", "多选", "", ""],
                ["integer", "temp", "温度", "${light} != 'fail'", "regex(., '[0-9]')"],
                ["begin_repeat", "r", "重复", "", ""],
            ]
        )
    )
    assert ("survey", 3, "type (A)", "the type select_multiple pass_fail is not supported") in found
    assert ("survey", 4, "relevant (D)", "only ${item} = 'value' is supported") in found
    assert ("survey", 4, "constraint (E)", "only . >= a, . <= b or both joined by and are supported") in found
    assert ("survey", 5, "type (A)", "the type begin_repeat is not supported") in found


def test_duplicate_keys_and_a_show_if_forward_or_on_itself_are_refused_with_their_row():
    found = problems_of(
        workbook(
            [
                ["type", "name", "label", "relevant"],
                ["select_one pass_fail", "light", "照明", "${fan} = 'pass'"],
                ["select_one pass_fail", "fan", "风扇", "${fan} = 'pass'"],
                ["begin_group", "g", "组", ""],
                ["text", "light", "又一个照明", ""],
                ["end_group", "", "", ""],
            ]
        )
    )
    assert ("survey", 2, "relevant (D)", "item light is shown if fan, which is not an earlier item") in found
    assert ("survey", 3, "relevant (D)", "item fan is shown if its own answer is given") in found
    assert ("survey", 2, "name (B)", "the key light is used by two items") in found


def test_a_workbook_that_is_not_one_is_refused():
    assert problems_of(b"PK not really")[0][3] == "not an XLSX workbook"


# The library


def test_a_copy_remembers_its_library_entry_and_is_the_companys_own(session):
    install_departments(session)
    site = factories.site(session)
    copy = copy_from_library(session, "cleaning_lobby", actor=None, site_id=site.id)
    assert (copy.library_key, copy.site_id, copy.current_version, copy.title) == (
        "cleaning_lobby",
        site.id,
        1,
        library()["cleaning_lobby"].title,
    )
    assert current_version(session, copy).parsed() == library()["cleaning_lobby"].definition()


def _customer_workbook() -> bytes:
    """A workbook as a customer brings it: their own group, list and choice names, both
    languages, N/A in a pass/fail list, a limited decimal, a show-if photo, a signature, and
    settings of their own."""
    book = Workbook()
    survey = book.active
    survey.title = "survey"
    for row in [
        ["type", "name", "label::zh", "label::en", "hint::zh", "required", "relevant", "constraint", "appearance"],
        ["note", "intro", "请逐项检查", "Check each item", "", "", "", "", ""],
        ["begin_group", "car", "轿厢", "Car", "", "", "", "", ""],
        ["select_one pf", "floor", "轿厢地面", "Car floor", "无污迹", "yes", "", "", ""],
        ["select_one smell", "odour", "异味", "Odour", "", "yes", "", "", ""],
        ["image", "odour_photo", "异味照片", "Photo of the odour", "", "no", "${odour} = 'strong'", "", ""],
        ["end_group", "", "", "", "", "", "", "", ""],
        ["begin_group", "hall", "电梯厅", "Lift hall", "", "", "", "", ""],
        ["select_one yn", "lit", "照明正常", "Lights work", "", "yes", "", "", ""],
        ["decimal", "temp", "温度", "Temperature", "", "yes", "", ". >= 10 and . <= 35", ""],
        ["image", "sign", "签字", "Signature", "", "yes", "", "", "signature"],
        ["end_group", "", "", "", "", "", "", "", ""],
        ["text", "remarks", "其他情况", "Anything else", "", "", "", "", ""],  # after the groups, not before
    ]:
        survey.append(row)
    choices = book.create_sheet("choices")
    for row in [
        ["list_name", "name", "label::zh", "label::en"],
        ["pf", "pass", "合格", "Pass"],
        ["pf", "fail", "不合格", "Fail"],
        ["pf", "na", "不适用", "N/A"],
        ["smell", "none", "无", "None"],
        ["smell", "slight", "轻微", "Slight"],
        ["smell", "strong", "明显", "Strong"],
        ["yn", "yes", "是", "Yes"],
        ["yn", "no", "否", "No"],
    ]:
        choices.append(row)
    settings = book.create_sheet("settings")
    settings.append(["form_title", "form_id", "version", "default_language"])
    settings.append(["电梯日检", "lift_daily", "2026120301", "zh"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _as_pyxform_reads_it(data: bytes) -> dict:
    """The form as pyxform, the XLSForm reference, reads it, question by question: what a person
    who wrote the workbook would check came back (names, types, both languages, binds, choices)."""
    from pyxform.xls2json import workbook_to_json
    from pyxform.xls2json_backends import get_xlsform

    form = workbook_to_json(get_xlsform(io.BytesIO(data)), form_name="data", fallback_form_name="data", warnings=[])

    def words(value) -> dict:
        return {k: v for k, v in value.items() if v} if isinstance(value, dict) else ({"zh": value} if value else {})

    def flag(value) -> bool:
        return str(value).lower() in ("yes", "true()", "true")

    def question(node) -> dict:
        bind = node.get("bind", {})
        return {
            "type": node["type"],
            "label": words(node.get("label")),
            "hint": words(node.get("hint")),
            "required": flag(bind.get("required", "")),
            "relevant": "".join(bind.get("relevant", "").split()),
            "constraint": "".join(bind.get("constraint", "").split()),
            "appearance": node.get("control", {}).get("appearance", ""),
            "choices": [(c["name"], words(c["label"])) for c in node.get("choices", [])],
            "children": [
                (child["name"], question(child)) for child in node.get("children", []) if child["name"] != "meta"
            ],
        }

    return {
        "settings": (form["id_string"], form.get("version"), form.get("default_language"), form["title"]),
        "questions": [(child["name"], question(child)) for child in form["children"] if child["name"] != "meta"],
    }


def test_a_customers_workbook_comes_back_as_it_went_in():
    original = _customer_workbook()
    imported = read_xlsform(original)
    floor = imported.definition.item_map()["floor"]
    assert floor.allows_na and floor.on_fail is None  # no kind given: nothing implied
    assert imported.definition.item_map()["odour"].choices_en == ["None", "Slight", "Strong"]
    assert [s.title_en for s in imported.definition.sections if s.title] == ["Car", "Lift hall"]
    assert [i.id for i in imported.definition.sections[-1].items] == ["remarks"]  # where it stood
    exported = write_xlsform(imported.title, "checklist_7", imported.definition)
    assert _as_pyxform_reads_it(exported) == _as_pyxform_reads_it(original)
    assert read_xlsform(exported).definition == imported.definition


def test_an_imported_item_opens_the_ticket_its_checklists_kind_implies_unless_the_workbook_says():
    imported = read_xlsform(_customer_workbook(), kind=TemplateKind.CLEANING)
    items = imported.definition.item_map()
    assert items["floor"].on_fail.ticket_kind == "rework" and items["floor"].on_fail.department == "cleaning"
    assert items["lit"].on_fail.ticket_kind == "rework"
    assert items["temp"].on_fail is None  # a number cannot fail
    again = read_xlsform(write_xlsform(imported.title, "x", imported.definition), kind=TemplateKind.PATROL)
    assert again.definition.item_map()["floor"].on_fail.ticket_kind == "rework"  # as written, not the kind's


def test_na_is_an_answer_of_a_pass_fail_item_that_allows_it_and_does_not_count_in_the_score(session):
    install_departments(session)
    site = factories.site(session)
    restroom = factories.place(session, site, area_type="restroom")
    items = [
        {"id": "floor", "type": "pass_fail", "label": "地面", "allows_na": True},
        {"id": "sink", "type": "pass_fail", "label": "洗手台"},
    ]
    template = factories.checklist(session, items=items, site=site)
    cleaner = factories.person(session, site)
    answers = [{"item_id": "floor", "value": "na", "photos": []}, {"item_id": "sink", "value": "pass", "photos": []}]
    inspection = submit(session, template, 1, restroom, cleaner, answers)
    assert inspection.inspection.score == 100.0  # N/A is not counted, the one graded item passed
    refused = [{"item_id": "floor", "value": "pass", "photos": []}, {"item_id": "sink", "value": "na", "photos": []}]
    with pytest.raises(SubmissionRefused):
        submit(session, template, 1, restroom, cleaner, refused)
