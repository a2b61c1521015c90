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
  ``on_fail`` (the ticket kind a failure opens, or ``none``), ``on_fail_department``,
  ``on_fail_due_hours``, ``on_fail_priority``, ``on_fail_role`` (who of the department takes it:
  ``supervisor``, ``engineer``…; inspections.routing). Without ``on_fail`` a pass/fail or yes/no item opens
  the ticket its checklist's kind implies (``DEFAULT_ON_FAIL``), as the builder's items do.
- ``na`` in a pass/fail list: the item may be answered N/A, which does not count in the score.

What the engine has no use for is kept so that the export is the workbook that came in: choice
names and lists, group names, the settings' ``form_id``, ``version`` and ``default_language``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from pydantic import ValidationError
from pyxform.errors import PyXFormError
from pyxform.xls2json import workbook_to_json
from pyxform.xls2json_backends import get_xlsform

from foundation.sheets import SheetLimits, SheetRefused, check_workbook, xlsx_row
from inspections.checklists import (
    DEFAULT_ON_FAIL,
    Definition,
    DefinitionProblem,
    Item,
    Section,
    TemplateKind,
    WorkbookSettings,
)

PASS_FAIL = ("pass", "fail", "na")
YES_NO = ("yes", "no")
SURVEY_COLUMNS = {
    "type", "name", "label", "label::zh", "label::en", "hint", "hint::zh", "hint::en", "required", "relevant",
    "constraint", "appearance", "weight", "photo_on_fail", "expected", "unit", "on_fail", "on_fail_department",
    "on_fail_due_hours", "on_fail_priority", "on_fail_role",
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


def read_xlsform(data: bytes, limits: SheetLimits = XLSFORM_LIMITS, kind: TemplateKind | None = None) -> Imported:
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
    lists = _choice_lists(choices, problems)
    sections, rows_of = _sections(survey, lists, problems, DEFAULT_ON_FAIL.get(kind))
    if problems:
        raise XlsFormRefused(problems)
    settings_row = settings.rows[0] if settings.rows else {}
    workbook = {
        key: str(settings_row[key]) for key in ("form_id", "version", "default_language") if settings_row.get(key)
    }
    if DEFAULT_FORM_ID.match(workbook.get("form_id", "")):
        del workbook["form_id"]  # the writer's own: the checklist it goes into names it anew
    if workbook.get("default_language") == DEFAULT_LANGUAGE:
        del workbook["default_language"]
    definition = Definition.model_construct(
        sections=sections, workbook=WorkbookSettings(**workbook) if workbook else None
    )
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
    title = settings_row.get("form_title") or (sections[0].title or "")
    return Imported(title=title, definition=Definition.model_validate(definition.model_dump()))


def _label(row: dict, column: str = "label") -> tuple[str, str]:
    return row.get(f"{column}::zh") or row.get(column) or row.get(f"{column}::en") or "", row.get(f"{column}::en") or ""


def _choice_lists(sheet: _Sheet, problems: list[Problem]) -> dict[str, dict[str, tuple[str, str]]]:
    """Each list's choices, name → (label, English label)."""
    lists: dict[str, dict[str, tuple[str, str]]] = {}
    for n, row in enumerate(sheet.rows, start=2):
        if not row:
            continue
        list_name, name = row.get("list_name"), row.get("name")
        if not list_name or not name:
            problems.append(Problem(sheet.name, n, sheet.column("name"), "choice_incomplete"))
            continue
        label, label_en = _label(row)
        lists.setdefault(list_name, {})[name] = (label or name, label_en)
    return lists


def _sections(
    sheet: _Sheet, lists: dict[str, dict[str, tuple[str, str]]], problems: list[Problem], on_fail: dict | None
) -> tuple[list[Section], dict[str, int]]:
    sections: list[Section] = []
    loose: list[Item] = []  # items outside a group, an untitled section where they stand
    current: Section | None = None

    def close_loose() -> None:
        if loose:
            sections.append(Section.model_construct(title="", title_en="", name="", items=loose.copy()))
            loose.clear()

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
            close_loose()
            title, title_en = _label(row)
            name = row.get("name", "")
            name = "" if name == _group_name(len(sections)) else name  # the writer's own
            current = Section.model_construct(title=title or name, title_en=title_en, name=name, items=[])
            continue
        if kind in ("end_group", "end group"):
            if current is not None:
                sections.append(current)
            current = None
            continue
        item = _item(sheet, n, row, kind, lists, kinds, problems, on_fail)
        if item is None:
            continue
        rows_of.setdefault(item.id, n)
        (current.items if current is not None else loose).append(item)
    if current is not None:
        problems.append(Problem(sheet.name, None, sheet.column("type"), "group_not_closed"))
    close_loose()
    return sections, rows_of


def _item(sheet, n, row, kind, lists, kinds, problems, on_fail) -> Item | None:
    def refuse(column: str, code: str, *args) -> None:
        problems.append(Problem(sheet.name, n, sheet.column(column), code, args))

    data: dict = {"id": row.get("name", "")}
    values: dict[str, str] = {}
    if kind.startswith("select_one "):
        list_name = kind.split(" ", 1)[1].strip()
        names = lists.get(list_name)
        if names is None:
            return refuse("type", "no_such_list", list_name)
        data["workbook"] = {"list_name": list_name}
        if {"pass", "fail"} <= set(names) <= set(PASS_FAIL):
            data["type"], values, data["allows_na"] = "pass_fail", {v: v for v in PASS_FAIL}, "na" in names
        elif set(names) == set(YES_NO):
            data["type"], values = "yes_no", {v: v for v in YES_NO}
        else:
            data["type"], data["choices"] = "choice", [label for label, _en in names.values()]
            english = [en for _label, en in names.values()]
            data["choices_en"] = english if any(english) else []
            data["workbook"]["choice_names"] = list(names)
            values = {name: label for name, (label, _en) in names.items()}
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
    if row.get("on_fail", "").strip().lower() == "none":
        pass  # the workbook says a failure opens nothing
    elif "on_fail" in row:
        data["on_fail"] = {
            "ticket_kind": row["on_fail"],
            "department": row.get("on_fail_department", ""),
            "due_hours": row.get("on_fail_due_hours", ""),
            "priority": row.get("on_fail_priority", "normal"),
            "role": row.get("on_fail_role") or None,
        }
    elif any(c in row for c in ("on_fail_department", "on_fail_due_hours", "on_fail_priority", "on_fail_role")):
        refuse("on_fail", "on_fail_missing")
    elif on_fail is not None and data.get("type") in ("pass_fail", "yes_no"):
        data["on_fail"] = dict(on_fail)
    data["workbook"] = _kept_names(data)
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
    "on_fail_due_hours", "on_fail_priority", "on_fail_role",
]  # fmt: skip
CHOICE_LABELS = {"pass": "合格", "fail": "不合格", "na": "不适用", "yes": "是", "no": "否"}
CHOICE_LABELS_EN = {"pass": "Pass", "fail": "Fail", "na": "N/A", "yes": "Yes", "no": "No"}


def write_xlsform(title: str, form_id: str, definition: Definition) -> bytes:
    """The workbook of a checklist. One imported comes back with its own names (lists, choices,
    groups) and settings; where it has none, the names below are used, and the reader does not
    keep them (so a checklist exported and imported again is the same checklist)."""
    book = Workbook(write_only=True)  # every cell through foundation.sheets: a label is never a formula
    survey = book.create_sheet("survey")
    _put(survey, COLUMNS)
    lists = _Lists(book.create_sheet("choices"))
    items = definition.item_map()
    for n, section in enumerate(definition.sections):
        grouped = bool(section.title)
        if grouped:
            group = {"label::zh": section.title, "label::en": section.title_en}
            _put(survey, _row(type="begin_group", name=section.name or _group_name(n), **group))
        for item in section.items:
            _put(survey, _item_row(item, items, lists))
        if grouped:
            _put(survey, _row(type="end_group"))
    kept = definition.workbook or WorkbookSettings()
    settings = book.create_sheet("settings")
    _put(settings, ["form_title", "form_id", "version", "default_language"])
    _put(settings, [title, kept.form_id or form_id, kept.version, kept.default_language or DEFAULT_LANGUAGE])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# The names the writer gives what has none of its own; the reader keeps only other names.
DEFAULT_LANGUAGE = "zh"
DEFAULT_LISTS = {"pass_fail": ("pass", "fail"), "pass_fail_na": PASS_FAIL, "yes_no": YES_NO}
DEFAULT_FORM_ID = re.compile(r"^checklist_\d+$")


def _group_name(n: int) -> str:
    return f"section_{n + 1}"


def _choice_list_name(item_id: str) -> str:
    return f"{item_id}_choices"


def _choice_names(count: int) -> list[str]:
    return [f"c{n}" for n in range(1, count + 1)]


def _kept_names(data: dict) -> dict | None:
    """An item's list and choice names as read, unless they are the ones the writer gives."""
    names = data.get("workbook") or {}
    list_name, choice_names = names.get("list_name", ""), names.get("choice_names", [])
    if data.get("type") == "choice":
        if list_name == _choice_list_name(data["id"]) and choice_names == _choice_names(len(choice_names)):
            return None
    elif list_name in DEFAULT_LISTS:
        return None
    return names or None


class _Lists:
    """The choices sheet: each list written once, under the item's own list name when it has one
    and no other item wrote different choices under it."""

    def __init__(self, sheet) -> None:
        self.sheet = sheet
        _put(sheet, ["list_name", "name", "label::zh", "label::en"])
        self.written: dict[str, list[tuple[str, str, str]]] = {}

    def name(self, preferred: str, default: str, rows: list[tuple[str, str, str]]) -> str:
        for name in (preferred, default, f"{default}_{len(self.written) + 1}"):
            if not name or self.written.get(name, rows) != rows:
                continue
            if name not in self.written:
                self.written[name] = rows
                for choice, label, label_en in rows:
                    _put(self.sheet, [name, choice, label, label_en])
            return name
        raise AssertionError("unreachable: the last name is new")


def _put(sheet, values: list) -> None:
    sheet.append(xlsx_row(sheet, values))


def _row(**values) -> list:
    return [values.get(column, "") for column in COLUMNS]


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _item_row(item: Item, items: dict[str, Item], lists: _Lists) -> list:
    kind = {"number": "decimal", "text": "text", "photo": "image", "signature": "image", "instruction": "note"}
    values = {"name": item.id, "label::zh": item.label, "label::en": item.label_en, "hint::zh": item.standard}
    values["hint::en"] = item.standard_en
    own = item.workbook.list_name if item.workbook else ""
    if item.type in ("pass_fail", "yes_no"):
        answers = ("pass", "fail", "na") if item.allows_na else ("pass", "fail")
        answers = answers if item.type == "pass_fail" else YES_NO
        default = "pass_fail_na" if item.allows_na else item.type
        rows = [(v, CHOICE_LABELS[v], CHOICE_LABELS_EN[v]) for v in answers]
        values["type"] = f"select_one {lists.name(own, default, rows)}"
    elif item.type == "choice":
        names = (item.workbook.choice_names if item.workbook else []) or []
        names = names if len(names) == len(item.choices) else _choice_names(len(item.choices))
        english = item.choices_en or [""] * len(item.choices)
        rows = list(zip(names, item.choices, english, strict=True))
        values["type"] = f"select_one {lists.name(own, _choice_list_name(item.id), rows)}"
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
            names = (watched.workbook.choice_names if watched.workbook else []) or []
            names = names if len(names) == len(watched.choices) else _choice_names(len(watched.choices))
            equals = names[watched.choices.index(equals)]
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
        values["on_fail_role"] = item.on_fail.role.value if item.on_fail.role else ""
    elif item.can_fail:
        values["on_fail"] = "none"  # said, so that no kind's default is added when it comes back
    return _row(**values)
