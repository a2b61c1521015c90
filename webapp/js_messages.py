"""The words the page scripts show, translated here and handed to them as JSON."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _

from inspections.checklists import Item
from webapp.labels import KIND_LABELS, answer_error_message

ERROR_CODES = ("required", "not_a_number", "below_min", "above_max", "bad_choice", "photo_required")


def page_messages() -> dict:
    return {
        "waiting": _("%(n)s waiting to send"),
        "done_waiting": _("Done, waiting to send"),
        "last_sync": _("last sync %(time)s"),
        "problems": _("%(n)s need your attention"),
        "status": {
            "waiting": _("Waiting to send"),
            "awaiting_photos": _("Sending photos"),
            "sent": _("Sent"),
            "rejected": _("Refused"),
            "conflict": _("Conflict"),
        },
        "fix": _("Fix"),
        "discard": _("Discard"),
        "ticket_change": _("Ticket change"),
        "discard_confirm": _("Discard this record? It will not be sent."),
        "unsent_on_logout": _("%(records)s records not yet sent and %(drafts)s drafts are on this phone."),
        "discard_everything_confirm": _(
            "Discard every unsent record and draft of yours on this phone? They cannot be recovered."
        ),
        "others_waiting": _("%(n)s records of another person are still waiting to be sent"),
        "photos_in": _("photos %(in)s/%(all)s uploaded"),
        "lapsed_own": _("Your sign-in has ended: %(n)s records are waiting. Sign in again to send them."),
        "lapsed_other": _("%(name)s's sign-in has ended: %(n)s records are waiting. Sign in again to send them."),
        "held": _("On this phone: %(waiting)s waiting, %(sent)s sent this week, photos %(size)s."),
        "storage_left": _("Storage left on this phone: %(free)s."),
    }


def checklist_messages() -> dict:
    placeholder = Item(id="x", label="x", type="number", min=-1, max=-1)
    errors = {
        code: answer_error_message(code, placeholder).replace("-1", "%(min)s" if code == "below_min" else "%(max)s")
        for code in ERROR_CODES
    }
    return {
        "errors": errors,
        "photo_unreadable": _("This photo could not be read. Take it again."),
        "photo_no_room": _("No room left on this phone: this photo was not kept."),
        "needs_attention": _("%(num)s items need attention"),
        "check_before_sending": _("Check before sending"),
        "answered": _("%(answered)s of %(total)s items answered."),
        "all_passed": _("Every item passed."),
        "preview_not_sent": _("This is a preview: nothing was saved or sent."),
        "opens_ticket": {kind: _("opens a %(kind)s ticket", kind=str(label)) for kind, label in KIND_LABELS.items()},
    }


def init_app(app: Flask) -> None:
    app.add_template_global(page_messages)
    app.add_template_global(checklist_messages)
