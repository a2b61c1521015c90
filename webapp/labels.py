"""Words shown for the domain's codes, in the person's language."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from foundation import roles
from foundation.roles import Role
from inspections.checklists import Item

ROLE_LABELS = {
    Role.GUARD: _l("Security guard"),
    Role.CLEANER: _l("Cleaner"),
    Role.SUPERVISOR: _l("Cleaning lead / supervisor"),
    Role.ENGINEER: _l("Engineer"),
    Role.CUSTOMER_SERVICE: _l("Customer service"),
    Role.MANAGER: _l("Manager"),
    Role.ADMIN: _l("Administrator"),
}
PLACE_KIND_LABELS = {
    "building": _l("Building"),
    "floor": _l("Floor"),
    "unit": _l("Unit"),
    "area": _l("Area"),
    "checkpoint": _l("Patrol checkpoint"),
}
AREA_TYPE_LABELS = {
    "lobby": _l("Lobby and entrances"),
    "corridor": _l("Corridor"),
    "lift_hall": _l("Lift hall"),
    "restroom": _l("Restroom"),
    "stairwell": _l("Stairwell"),
    "car_park": _l("Car park"),
    "office": _l("Office"),
    "exterior": _l("Exterior"),
    "greening": _l("Greenery"),
    "front_desk": _l("Front desk"),
}
SCHEDULE_RULE_LABELS = {
    "every_shift": _l("Every shift"),
    "daily": _l("Daily"),
    "weekly": _l("Weekly"),
    "monthly": _l("Times a month"),
    "every_n_days": _l("Every n days"),
}
SCHEDULE_WHO_LABELS = {
    "on_duty": _l("Whoever is on duty there"),
    "person": _l("A person"),
    "role": _l("Everyone of a role"),
}
OCCURRENCE_LABELS = {
    "done": _l("Done on time"),
    "late": _l("Done late"),
    "missed": _l("Not done"),
    "due": _l("Still to do"),
    "planned": _l("Planned"),
}
WEEKDAY_LABELS = [_l("Mon"), _l("Tue"), _l("Wed"), _l("Thu"), _l("Fri"), _l("Sat"), _l("Sun")]
KIND_LABELS = {
    "complaint": _l("Complaint"),
    "repair": _l("Repair"),
    "violation": _l("Violation"),
    "hazard": _l("Hazard"),
    "rework": _l("Rework"),
}
STATE_LABELS = {
    "new": _l("New"),
    "assigned": _l("Assigned"),
    "in_progress": _l("In progress"),
    "resolved": _l("Resolved"),
    "closed": _l("Closed"),
}
# The button that moves a ticket to a state.
TRANSITION_LABELS = {
    "assigned": _l("Assign"),
    "in_progress": _l("Start work"),
    "resolved": _l("Mark resolved"),
    "closed": _l("Close"),
}
ROUND_LABELS = {
    "upcoming": _l("Upcoming"),
    "in_progress": _l("Under way"),
    "complete": _l("Complete"),
    "late": _l("Late"),
    "incomplete": _l("Incomplete"),
    "missed": _l("Missed"),
}
FITOUT_STATE_LABELS = {
    "applied": _l("Applied"),
    "approved": _l("Approved"),
    "in_progress": _l("Works under way"),
    "hidden_works_accepted": _l("Hidden works accepted"),
    "completed": _l("Completed"),
    "deposit_refunded": _l("Deposit refunded"),
}
DEPARTMENT_LABELS = {
    "customer_service": _l("Customer service dept."),
    "engineering": _l("Engineering dept."),
    "security": _l("Security dept."),
    "cleaning": _l("Cleaning dept."),
}
ACCEPTANCE_LABELS = {"hidden_works": _l("Hidden-works acceptance"), "completion": _l("Completion acceptance")}
STREAM_LABELS = {
    "patrol": _l("Patrol"),
    "cleaning": _l("Cleaning"),
    "fitout": _l("Fit-out"),
    "other": _l("Other checks"),
    "tickets": _l("Tickets"),
}
ENTRY_LABELS = {"deposit": _l("Deposit paid"), "penalty": _l("Penalty"), "refund": _l("Refund")}
TEMPLATE_KIND_LABELS = {
    "patrol": _l("Patrol"),
    "cleaning": _l("Cleaning"),
    "fitout": _l("Fit-out inspection"),
    "handover": _l("Unit handover"),
    "moveout": _l("Move-out"),
    "greening": _l("Greening"),
    "shift_handover": _l("Desk shift handover"),
    "cleaning_task": _l("Periodic cleaning task"),
    "hidden_works": _l("Hidden-works acceptance"),
    "completion": _l("Completion acceptance"),
}
ITEM_TYPE_LABELS = {
    "pass_fail": _l("Pass / fail"),
    "yes_no": _l("Yes / no"),
    "number": _l("Measurement"),
    "text": _l("Text"),
    "choice": _l("Choice"),
    "photo": _l("Photo"),
    "signature": _l("Signature"),
    "instruction": _l("Instruction (read, not answered)"),
}
# An item's settings, as the builder's form names them (a diff lists what changed by these).
ITEM_FIELD_LABELS = {
    "label": _l("Label"),
    "label_en": _l("Label in English"),
    "standard": _l("Standard"),
    "standard_en": _l("Standard in English"),
    "type": _l("Type"),
    "required": _l("Required"),
    "photo_on_fail": _l("Photo needed when it fails"),
    "min": _l("Lowest allowed"),
    "max": _l("Highest allowed"),
    "unit": _l("Unit of measure"),
    "choices": _l("Choices"),
    "choices_en": _l("Choices in English"),
    "allows_na": _l("May be answered N/A"),
    "workbook": _l("Names in the XLSForm workbook"),
    "expected": _l("The answer that passes"),
    "weight": _l("Weight in the score"),
    "on_fail": _l("A failure opens"),
    "show_if": _l("Ask only when"),
}
PRIORITY_LABELS = {"low": _l("Low"), "normal": _l("Normal"), "high": _l("High"), "urgent": _l("Urgent")}
ACTION_LABELS = {
    "created": _l("opened"),
    "transition": _l("changed state"),
    "assigned": _l("assigned"),
    "comment": _l("commented"),
    "reported": _l("reported it again"),
    "callback": _l("called the customer back"),
}
ANSWER_LABELS = {"pass": _l("Pass"), "fail": _l("Fail"), "na": _l("N/A"), "yes": _l("Yes"), "no": _l("No")}
# Where a change came from (foundation.org.Origin), as a ticket's history says it.
SOURCE_LABELS = {"web": _l("on the web"), "sync": _l("from a phone"), "cli": _l("from the shell")}
# The three checks of §3.6.8.
CHECK_LABELS = {"self": _l("Self-check"), "patrol": _l("Lead's patrol"), "spot": _l("Spot check")}
CHECK_SHORT_LABELS = {"self": _l("Self"), "patrol": _l("Patrol"), "spot": _l("Spot")}  # for chips on a phone


def answer_error_message(code: str, item: Item) -> str:
    match code:
        case "required":
            return _("Answer this item.")
        case "not_a_number":
            return _("Enter a number.")
        case "below_min":
            return _("The lowest allowed value is %(min)s.", min=_num(item.min))
        case "above_max":
            return _("The highest allowed value is %(max)s.", max=_num(item.max))
        case "bad_choice" | "bad_value":
            return _("Choose one of the options.")
        case "photo_required":
            return _("A failed item needs a photo.")
        case "control_character" | "invisible_character":
            from webapp.form_rules import TEXT_ERRORS

            return str(TEXT_ERRORS[code])
        case _:
            from webapp.photos.messages import photo_error_message

            return photo_error_message(code)


def notice_words(notice) -> tuple[str, str]:
    """A notice's title and line, in the reader's language (foundation.notices: what and facts)."""
    facts = notice.facts
    match notice.what:
        case "check_due":
            return _("Due now: %(title)s", title=facts["title"]), _("%(place)s · %(due)s", **facts)
        case "checks_today":
            title = ngettext("%(num)s check to do today", "%(num)s checks to do today", facts["count"])
            return title, facts["site"]
        case "ticket_assigned":
            title = _("Yours: %(title)s", title=facts["title"])
            return title, _("%(number)s · %(kind)s", number=facts["number"], kind=_label(KIND_LABELS, facts["kind"]))
        case "ticket_overdue":
            title = _("Overdue ticket: %(title)s", title=facts["title"])
            return title, _("%(number)s is past its due time.", number=facts["number"])
        case "ticket_due_soon":
            title = _("Due soon: %(title)s", title=facts["title"])
            return title, _("%(number)s is due in %(minutes)s min.", number=facts["number"], minutes=facts["minutes"])
        case "record_refused":
            title = _("Not accepted: %(what)s", what=_label(MUTATION_LABELS, facts["type"]))
            return title, _("Open the outbox on your phone to see why and fix it.")
        case "ticket_escalated":
            title = _("Ticket long overdue: %(title)s", title=facts["title"])
            return title, _("%(number)s is still not handled and has gone to the managers.", number=facts["number"])
        case "round_missed" | "round_incomplete":
            when = {"route": facts["route"], "due": facts["due"]}
            if notice.what == "round_missed":
                title = _("%(route)s %(due)s: missed", **when)
            else:
                title = _("%(route)s %(due)s: not finished", **when)
            line = ngettext("%(site)s · %(num)s checkpoint missed", "%(site)s · %(num)s checkpoints missed",
                            facts["missed"], site=facts["site"])  # fmt: skip
            return title, line
        case _:  # "text": words written when it was raised
            return facts.get("title", ""), facts.get("body", "")


# What a phone sends (sync.push.MUTATIONS), as its person would name it.
MUTATION_LABELS = {
    "inspection.submit": _l("a check"),
    "patrol.scan": _l("a patrol scan"),
    "ticket.create": _l("a new ticket"),
    "ticket.transition": _l("a ticket's change"),
    "ticket.comment": _l("a ticket comment"),
}

# What a person may have pushed to their phone, by the notices (foundation.notices ``what``) each covers.
PUSH_KINDS = {
    "assigned": (_l("A ticket given to me"), ("ticket_assigned",)),
    "due": (_l("A check of mine coming due"), ("check_due", "checks_today")),
    "overdue": (_l("A ticket of mine nearing or past its due time"), ("ticket_due_soon", "ticket_overdue")),
    "escalated": (_l("A long-overdue ticket that reached me"), ("ticket_escalated",)),
    "rounds": (_l("A patrol round missed or not finished"), ("round_missed", "round_incomplete")),
    "refused": (_l("A record of mine the server did not accept"), ("record_refused",)),
}

JOB_LABELS = {
    "assignments": _l("Make the checks the schedules have made due, and tell their people"),
    "missed_rounds": _l("Tell supervisors of missed patrol rounds"),
    "escalation": _l("Escalate overdue tickets"),
    "webhooks": _l("Send ticket events to webhooks"),
    "versions": _l("Send phones checklist versions as they take effect"),
    "push": _l("Send notices to phones (Web Push)"),
}


def _num(value: float | None) -> str:
    return "" if value is None else (str(int(value)) if float(value).is_integer() else str(value))


def in_reader_language(chinese: str, english: str) -> str:
    """A checklist's own words (an item's label, a section's title) in the reader's language:
    English when the reader reads English and the checklist has it."""
    locale = get_locale()
    return english if english and locale is not None and locale.language == "en" else chinese


def answer_label(value: str) -> str:
    """An answer's value (pass, fail, na, yes, no) as a person reads it."""
    return _label(ANSWER_LABELS, value)


def answer_text(answer, item: Item | None) -> str:
    """What a record says an answer was, the same on its page and on paper: pass, fail and N/A,
    yes and no, a choice in the reader's language, a number with its unit."""
    value = answer.value
    if item is None:
        return "" if value is None else str(value)
    match item.type:
        case "pass_fail" | "yes_no":
            return answer_label(value)
        case "signature":
            return _("Signed") if value else ""
        case "photo":
            return _("Photo") if answer.photos else ""
        case "choice" if value in item.choices and item.choices_en:
            return in_reader_language(value, item.choices_en[item.choices.index(value)])
        case "number" if value is not None:
            return f"{_num(value)} {item.unit}".strip()
    return "" if value is None else str(value)


def answered_sections(definition, answers) -> list[tuple[str, list[tuple[Item | None, object]]]]:
    """A record's answers in its checklist's order, under its section titles (in the reader's
    language); an answer to no item of the version last, untitled."""
    by_item = {answer.item_id: answer for answer in answers}
    sections = []
    for section in definition.sections:
        rows = [(item, by_item.pop(item.id)) for item in section.items if item.id in by_item]
        if rows:
            sections.append((in_reader_language(section.title, section.title_en), rows))
    if by_item:
        sections.append(("", [(None, answer) for answer in by_item.values()]))
    return sections


def department_label(code: str) -> str:
    """A department's one name in the reader's language (the table, never the row's own name)."""
    return _label(DEPARTMENT_LABELS, code)


def role_label(role) -> str:
    return _label(ROLE_LABELS, role)


def _label(table: dict, key) -> str:
    key = getattr(key, "value", key)
    return str(table.get(key, key))


def init_app(app: Flask) -> None:
    app.add_template_global(lambda kind: _label(KIND_LABELS, kind), "kind_label")
    app.add_template_global(lambda name: _label(JOB_LABELS, name), "job_label")
    app.add_template_global(lambda state: _label(STATE_LABELS, state), "state_label")
    app.add_template_global(lambda state: _label(TRANSITION_LABELS, state), "transition_label")
    app.add_template_global(lambda p: _label(PRIORITY_LABELS, p), "priority_label")
    app.add_template_global(role_label)
    app.add_template_global(lambda action: _label(ACTION_LABELS, action), "action_label")
    app.add_template_global(lambda source: _label(SOURCE_LABELS, source), "source_label")
    app.add_template_global(in_reader_language, "in_reader_language")
    app.add_template_global(lambda status: _label(ROUND_LABELS, status), "round_status_label")
    app.add_template_global(lambda kind: _label(CHECK_LABELS, kind), "check_label")
    app.add_template_global(lambda state: _label(FITOUT_STATE_LABELS, state), "fitout_state_label")
    app.add_template_global(department_label, "department_label")
    app.add_template_global(answer_label, "answer_label")
    app.add_template_global(answer_text, "answer_text")
    app.add_template_global(answered_sections, "answered_sections")
    app.add_template_global(lambda kind: _label(ACCEPTANCE_LABELS, kind), "acceptance_label")
    app.add_template_global(lambda kind: _label(ENTRY_LABELS, kind), "entry_label")
    app.add_template_global(lambda stream: _label(STREAM_LABELS, stream), "stream_label")
    app.add_template_global(lambda kind: _label(CHECK_SHORT_LABELS, kind), "check_short_label")
    app.add_template_global(lambda kind: _label(TEMPLATE_KIND_LABELS, kind), "template_kind_label")
    app.add_template_global(lambda kind: _label(PLACE_KIND_LABELS, kind), "place_kind_label")
    app.add_template_global(lambda kind: _label(ITEM_TYPE_LABELS, kind), "item_type_label")
    app.add_template_global(lambda kind: _label(AREA_TYPE_LABELS, kind), "area_type_label")
    app.add_template_global(lambda rule: _label(SCHEDULE_RULE_LABELS, rule), "schedule_rule_label")
    app.add_template_global(lambda who: _label(SCHEDULE_WHO_LABELS, who), "schedule_who_label")
    app.add_template_global(lambda status: _label(OCCURRENCE_LABELS, status), "occurrence_label")
    app.add_template_global(lambda n: str(WEEKDAY_LABELS[n]), "weekday_label")
    app.add_template_global(roles, "roles")  # templates name role sets as views do: roles.OFFICE
    app.add_template_global(answer_error_message, "answer_error_message")
    app.add_template_global(notice_words, "notice_words")
    app.add_template_global(timedelta, "timedelta")
