"""The app's side of Web Push: a person's new notices worded in their language, sent by the
scheduled job with the server's VAPID key (foundation/web_push.py does the rest)."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import current_app
from flask_babel import force_locale, ngettext
from sqlalchemy.orm import Session

from foundation.notices import Notice
from foundation.org import User
from foundation.web_push import Message, send_pushes, vapid_sender
from inspections.shifts import held_until
from webapp.labels import notice_words

log = logging.getLogger(__name__)


def message_for(person: User, notices: list[Notice]) -> Message:
    """One notice as itself; several (a minute's worth of events) as one notification that
    names them and opens the newest's page."""
    newest = notices[-1]
    with force_locale(person.locale or "zh"):
        title, body = notice_words(newest)
        if len(notices) > 1:
            body = "\n".join(notice_words(n)[0] for n in reversed(notices))
            title = ngettext("%(num)s new notice", "%(num)s new notices", len(notices))
    return Message(title, body, newest.link or "/today", len(notices))


def push_job(session: Session, now) -> int:
    key = Path(current_app.config["VAPID_KEY_FILE"])
    if not key.exists():
        log.warning("no pushes: %s is missing (flask push keys makes it)", key)
        return 0
    sender = vapid_sender(key, current_app.config["VAPID_SUBJECT"])
    return send_pushes(session, now, message_for, sender, lambda person, at: held_until(session, person, at))
