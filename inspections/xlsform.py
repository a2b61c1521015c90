"""Checklists as XLSForm workbooks (survey, choices and settings sheets), the format the field
already keeps its forms in. pyxform, the reference parser, reads the workbook and checks it is an
XLSForm at all; this module maps the subset a checklist can hold and refuses the rest with the
sheet, row and column named. What it writes reads back to the same checklist.

The mapping, as someone who knows XLSForm expects it:
- ``begin_group``/``end_group``: a section (one level); rows outside a group form one section.
- ``select_one L``: a pass/fail item when list L has ``pass`` and ``fail`` (and maybe ``na``), a
  yes/no item when it has ``yes`` and ``no``, otherwise a choice of L's labels.
- ``integer``/``decimal``: a number, ``constraint`` only ``. >= a``, ``. <= b`` or both joined by ``and``.
- ``text``; ``image`` (a photo; a signature with appearance ``signature``); ``note``: an instruction.
- ``required`` yes/no; ``relevant`` only ``${item} = 'value'``: the item's show-if.
- ``label``/``hint`` in Chinese (``::zh`` or no language) and English (``::en``); a hint is the standard.
- Extra columns: ``weight``, ``photo_on_fail``, ``expected`` (the yes/no answer that passes), ``unit``,
  ``on_fail`` (the ticket kind a failure opens), ``on_fail_department``, ``on_fail_due_hours``,
  ``on_fail_priority``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from pydantic import ValidationError
from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from foundation.sheets import SheetLimits, SheetRefused, check_workbook, xlsx_row
from inspections.checklists import Definition, DefinitionProblem, Item, Section

PASS_FAIL = ("pass", "fail", "na")
YES_NO = ("yes", "no")
SURVEY_COLUMNS = {
    "type", "name", "label", "label::zh", "label::en", "hint", "hint::zh", "hint::en", "required", "relevant",
    "constraint", "appearance", "weight", "photo_on_fail", "expected", "unit", "on_fail", "on_fail_department",
    "on_fail_due_hours", "on_fail_priority",
}  # fmt: skip
CHOICES_COLUMNS = {"list_name", "name", "label", "label::zh", "label::en"}
SETTINGS_COLUMNS = {"form_title", "form_id", "version", "default_language"}
TYPES = {"integer": "number", "decimal": "number", "text": "text", "image": "photo", "note": "instruction"}
RELEVANT = re.compile(r"""^\s*\$\{([^}]+)\}\s*=\s*(?:'([^']*)'|"([^"]*)")\s*$""")
LIMIT = re.compile(r"^\s*\.\s*(>=|<=)\s*(-?\d+(?:\.\d+)?)\s*$")
YES = {"yes", "true", "1", "true()"}
NO = {"no", "false", "0", "false()", ""}


@dataclass
class Problem:
    sheet: str
    row: int | None  # as Excel numbers it (the header is row 1)
    column: str | None  # the header, with its letter: "relevant (G)"
    code: str  # what is wrong; webapp.checklists says it in words
    args: tuple = ()

    @property
    def message(self) -> str:
        """In English, for a log or a test; the import page says it in the person's language."""
        if self.code in DEFINITION_CODES:
            return DefinitionProblem(self.args[0], self.code, self.args[1:]).message
        return MESSAGES[self.code].format(*self.args[: MESSAGES[self.code].count("{")])


DEFINITION_CODES = {
    "duplicate_key",
    "show_if_self",
    "show_if_not_earlier",
    "show_if_not_an_answer",
    "nothing_to_answer",
}
MESSAGES = {
    "not_xlsform": "not an XLSForm workbook: {}",
    "no_survey": "the workbook has no survey sheet, or it is empty",
    "column_unsupported": "this column is not supported",
    "sheet_unsupported": "this sheet is not supported",
    "pyxform": "pyxform: {}",
    "choice_incomplete": "a choice needs a list_name and a name",
    "nested_group": "groups inside groups are not supported",
    "group_not_closed": "a begin_group has no end_group",
    "no_such_list": "no choices list named {}",
    "type_unsupported": "the type {} is not supported",
    "appearance_unsupported": "only the appearance signature of an image is supported",
    "not_yes_no": "{!r} is neither yes nor no",
    "relevant_unsupported": "only ${{item}} = 'value' is supported",
    "constraint_not_number": "only number limits are supported, on integer or decimal items",
    "constraint_unsupported": "only . >= a, . <= b or both joined by and are supported",
    "not_a_number": "{!r} is not a number",
    "on_fail_missing": "on_fail names the ticket kind a failure opens",
    "invalid": "{}",  # pydantic's words, and its error type
    # The workbook as a file (foundation.sheets), before any cell is read.
    "not_a_sheet": "not an XLSX workbook",
    "too_large": "larger than {} bytes",
    "unpacks_too_large": "its parts unpack to more than {} bytes",
    "compression": "compressed with a method XLSX does not use",
    "xml_entities": "its XML declares a DTD or entities",
    "too_many_rows": "more than {} rows",
    "too_many_columns": "more than {} columns",
}


@dataclass
class Imported:
    title: str
    definition: Definition
    notices: list[str] = field(default_factory=list)  # what was read but is not kept


class XlsFormRefused(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = problems


class _Sheet:
    def __init__(self, name: str, rows: list[dict], header: list[dict]) -> None:
        self.name = name
        self.rows = rows
        self.columns = list(header[0]) if header else []

    def column(self, key: str) -> str:
        letter = get_column_letter(self.columns.index(key) + 1) if key in self.columns else "?"
        return f"{key} ({letter})"


# A checklist is read on a phone: a workbook of more rows is no checklist of this product.
XLSFORM_LIMITS = SheetLimits(max_rows=2_000)


def read_xlsform(data: bytes, limits: SheetLimits = XLSFORM_LIMITS) -> Imported:
    """A checklist from an XLSForm workbook; XlsFormRefused lists every problem found. The file is
    checked within the limits before pyxform reads it."""
    try:
        check_workbook(data, limits)
    except SheetRefused as refused:
        raise XlsFormRefused([Problem("", None, None, refused.code, refused.facts)]) from None
    try:
        book = get_xlsform(io.BytesIO(data))
    except (PyXFormError, ValueError, KeyError) as error:  # openpyxl's words for a sheet it cannot read
        raise XlsFormRefused([Problem("", None, None, "not_xlsform", (str(error),))]) from None
    survey = _Sheet("survey", book.survey or [], book.survey_header or [])
    choices = _Sheet("choices", book.choices or [], book.choices_header or [])
    settings = _Sheet("settings", book.settings or [], book.settings_header or [])
    problems: list[Problem] = []
    if not survey.rows:
        raise XlsFormRefused([Problem("survey", None, None, "no_survey")])
    for sheet, allowed in ((survey, SURVEY_COLUMNS), (choices, CHOICES_COLUMNS), (settings, SETTINGS_COLUMNS)):
        for column in sheet.columns:
            if column not in allowed:
                problems.append(Problem(sheet.name, 1, sheet.column(column), "column_unsupported"))
    for name in book.sheet_names or []:
        if name.lower() not in ("survey", "choices", "settings"):
            problems.append(Problem(name, None, None, "sheet_unsupported"))
    if problems:
        raise XlsFormRefused(problems)
    lists, notices = _choice_lists(choices, problems)
    sections, rows_of = _sections(survey, lists, problems)
    if problems:
        raise XlsFormRefused(problems)
    definition = Definition.model_construct(sections=sections)
    for problem in definition.problems():
        column = survey.column("name" if problem.code == "duplicate_key" else "relevant")
        args = (problem.item_id, *problem.args)
        problems.append(Problem("survey", rows_of.get(problem.item_id or ""), column, problem.code, args))
    if problems:
        raise XlsFormRefused(problems)
    # The subset is read; pyxform, the reference, has the last word on whether it is an XLSForm.
    try:
        workbook_to_json(book, form_name="data", fallback_form_name="data", warnings=[])
    except PyXFormError as error:
        raise XlsFormRefused([Problem("survey", None, None, "pyxform", (str(error),))]) from None
    title = (settings.rows[0].get("form_title") if settings.rows else None) or (sections[0].title or "")
    return Imported(title=title, definition=Definition.model_validate(definition.model_dump()), notices=notices)


def _label(row: dict, column: str = "label") -> tuple[str, str]:
    return row.get(f"{column}::zh") or row.get(column) or row.get(f"{column}::en") or "", row.get(f"{column}::en") or ""


def _choice_lists(sheet: _Sheet, problems: list[Problem]) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Each list's choices, name → label."""
    lists: dict[str, dict[str, str]] = {}
    english = False
    for n, row in enumerate(sheet.rows, start=2):
        if not row:
            continue
        list_name, name = row.get("list_name"), row.get("name")
        if not list_name or not name:
            problems.append(Problem(sheet.name, n, sheet.column("name"), "choice_incomplete"))
            continue
        label, label_en = _label(row)
        english |= bool(label_en) and label_en != label
        lists.setdefault(list_name, {})[name] = label or name
    notices = ["The English labels of choices are not kept: the phone shows the Chinese ones."] if english else []
    return lists, notices


def _sections(
    sheet: _Sheet, lists: dict[str, dict[str, str]], problems: list[Problem]
) -> tuple[list[Section], dict[str, int]]:
    sections: list[Section] = []
    loose: list[Item] = []
    current: Section | None = None
    rows_of: dict[str, int] = {}
    kinds: dict[str, tuple[str, dict[str, str]]] = {}  # item id → (type, choice name → value)
    for n, row in enumerate(sheet.rows, start=2):
        if not row:
            continue
        kind = re.sub(r"\s+", " ", row.get("type", "")).strip()
        if kind in ("begin_group", "begin group"):
            if current is not None:
                problems.append(Problem(sheet.name, n, sheet.column("type"), "nested_group"))
                continue
            current = Section.model_construct(title=_label(row)[0] or row.get("name", ""), items=[])
            continue
        if kind in ("end_group", "end group"):
            if current is not None:
                sections.append(current)
            current = None
            continue
        item = _item(sheet, n, row, kind, lists, kinds, problems)
        if item is None:
            continue
        rows_of.setdefault(item.id, n)
        (current.items if current is not None else loose).append(item)
    if current is not None:
        problems.append(Problem(sheet.name, None, sheet.column("type"), "group_not_closed"))
    if loose:
        sections.insert(0, Section.model_construct(title="", items=loose))
    return sections, rows_of


def _item(sheet, n, row, kind, lists, kinds, problems) -> Item | None:
    def refuse(column: str, code: str, *args) -> None:
        problems.append(Problem(sheet.name, n, sheet.column(column), code, args))

    data: dict = {"id": row.get("name", "")}
    values: dict[str, str] = {}
    if kind.startswith("select_one "):
        list_name = kind.split(" ", 1)[1].strip()
        names = lists.get(list_name)
        if names is None:
            return refuse("type", "no_such_list", list_name)
        if {"pass", "fail"} <= set(names) <= set(PASS_FAIL):
            data["type"], values = "pass_fail", {v: v for v in PASS_FAIL}
        elif set(names) == set(YES_NO):
            data["type"], values = "yes_no", {v: v for v in YES_NO}
        else:
            data["type"], data["choices"] = "choice", list(names.values())
            values = dict(names)
    elif kind in TYPES:
        data["type"] = TYPES[kind]
        if kind == "image" and row.get("appearance") == "signature":
            data["type"] = "signature"
    else:
        return refuse("type", "type_unsupported", kind or "(empty)")
    if row.get("appearance") and not (kind == "image" and row["appearance"] == "signature"):
        refuse("appearance", "appearance_unsupported")
    data["label"], data["label_en"] = _label(row)
    data["standard"], data["standard_en"] = _label(row, "hint")
    for column in ("required", "photo_on_fail"):
        raw = row.get(column, "").strip().lower()
        if raw not in YES | NO:
            refuse(column, "not_yes_no", row[column])
        data[column] = raw in YES
    if kind == "note":
        data.pop("required")
    if "relevant" in row:
        match = RELEVANT.match(row["relevant"])
        if not match:
            refuse("relevant", "relevant_unsupported")
        else:
            watched, wanted = match[1].strip(), match[2] if match[2] is not None else match[3]
            names = kinds.get(watched, (None, {}))[1]
            data["show_if"] = {"item_id": watched, "equals": names.get(wanted, wanted)}
    if "constraint" in row:
        if data["type"] != "number":
            refuse("constraint", "constraint_not_number")
        for part in re.split(r"\s+and\s+", row["constraint"]):
            match = LIMIT.match(part)
            if not match:
                refuse("constraint", "constraint_unsupported")
                break
            data["min" if match[1] == ">=" else "max"] = float(match[2])
    for column, key in (("weight", "weight"), ("on_fail_due_hours", "due_hours")):
        if column in row:
            try:
                number = float(row[column])
            except ValueError:
                refuse(column, "not_a_number", row[column])
                continue
            if key == "weight":
                data["weight"] = number
    for column in ("expected", "unit"):
        if column in row:
            data[column] = row[column]
    if "on_fail" in row:
        data["on_fail"] = {
            "ticket_kind": row["on_fail"],
            "department": row.get("on_fail_department", ""),
            "due_hours": row.get("on_fail_due_hours", ""),
            "priority": row.get("on_fail_priority", "normal"),
        }
    elif any(c in row for c in ("on_fail_department", "on_fail_due_hours", "on_fail_priority")):
        refuse("on_fail", "on_fail_missing")
    try:
        item = Item.model_validate(data)
    except ValidationError as error:
        for detail in error.errors():
            where = str(detail["loc"][0]) if detail["loc"] else "name"
            column = {"id": "name", "label": "label", "choices": "type", "ticket_kind": "on_fail"}.get(where, where)
            if where == "on_fail" and len(detail["loc"]) > 1:
                column = {"department": "on_fail_department", "due_hours": "on_fail_due_hours"}.get(
                    str(detail["loc"][1]), f"on_fail_{detail['loc'][1]}"
                )
                column = "on_fail" if column == "on_fail_ticket_kind" else column
            message = detail["msg"].removeprefix("Value error, ")
            if column not in sheet.columns:
                message, column = f"{column}: {message}", "on_fail" if where == "on_fail" else "name"
            refuse(column, "invalid", message, detail["type"])
        return None
    kinds[item.id] = (item.type, values)
    return item


# Writing: the same columns, in the order someone reading the sheet expects.
COLUMNS = [
    "type", "name", "label::zh", "label::en", "hint::zh", "hint::en", "required", "relevant", "constraint",
    "appearance", "weight", "photo_on_fail", "expected", "unit", "on_fail", "on_fail_department",
    "on_fail_due_hours", "on_fail_priority",
]  # fmt: skip
CHOICE_LABELS = {"pass": "合格", "fail": "不合格", "na": "不适用", "yes": "是", "no": "否"}
CHOICE_LABELS_EN = {"pass": "Pass", "fail": "Fail", "na": "N/A", "yes": "Yes", "no": "No"}


def write_xlsform(title: str, form_id: str, definition: Definition) -> bytes:
    book = Workbook(write_only=True)  # every cell through foundation.sheets: a label is never a formula
    survey = book.create_sheet("survey")
    _put(survey, COLUMNS)
    choices = book.create_sheet("choices")
    _put(choices, ["list_name", "name", "label::zh", "label::en"])
    for list_name, names in (("pass_fail", PASS_FAIL), ("yes_no", YES_NO)):
        for name in names:
            _put(choices, [list_name, name, CHOICE_LABELS[name], CHOICE_LABELS_EN[name]])
    items = definition.item_map()
    for n, section in enumerate(definition.sections):
        grouped = bool(section.title)
        if grouped:
            _put(survey, _row(type="begin_group", name=f"section_{n + 1}", **{"label::zh": section.title}))
        for item in section.items:
            _put(survey, _item_row(item, items, choices))
        if grouped:
            _put(survey, _row(type="end_group"))
    settings = book.create_sheet("settings")
    _put(settings, ["form_title", "form_id", "default_language"])
    _put(settings, [title, form_id, "zh"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _put(sheet, values: list) -> None:
    sheet.append(xlsx_row(sheet, values))


def _row(**values) -> list:
    return [values.get(column, "") for column in COLUMNS]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _item_row(item: Item, items: dict[str, Item], choices) -> list:
    kind = {"number": "decimal", "text": "text", "photo": "image", "signature": "image", "instruction": "note"}
    values = {"name": item.id, "label::zh": item.label, "label::en": item.label_en, "hint::zh": item.standard}
    values["hint::en"] = item.standard_en
    if item.type in ("pass_fail", "yes_no"):
        values["type"] = f"select_one {item.type}"
    elif item.type == "choice":
        list_name = f"{item.id}_choices"
        values["type"] = f"select_one {list_name}"
        for n, choice in enumerate(item.choices, start=1):
            _put(choices, [list_name, f"c{n}", choice, ""])
    else:
        values["type"] = kind[item.type]
    if item.type == "signature":
        values["appearance"] = "signature"
    if item.answerable:
        values["required"] = "yes" if item.required else "no"
    if item.show_if is not None:
        watched = items[item.show_if.item_id]
        equals = item.show_if.equals
        if watched.type == "choice":
            equals = f"c{watched.choices.index(equals) + 1}"
        values["relevant"] = f"${{{watched.id}}} = '{equals}'"
    limits = [f". {op} {_number(v)}" for op, v in ((">=", item.min), ("<=", item.max)) if v is not None]
    values["constraint"] = " and ".join(limits)
    values["weight"] = _number(item.weight) if item.weight != 1 else ""
    values["photo_on_fail"] = "yes" if item.photo_on_fail else ""
    values["expected"] = item.expected if item.type == "yes_no" and item.expected != "yes" else ""
    values["unit"] = item.unit
    if item.on_fail is not None:
        values["on_fail"] = item.on_fail.ticket_kind
        values["on_fail_department"] = item.on_fail.department
        values["on_fail_due_hours"] = str(item.on_fail.due_hours)
        values["on_fail_priority"] = item.on_fail.priority
    return _row(**values)
