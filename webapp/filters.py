"""Template filters: times in the site's own zone, durations, money in yuan; invisible characters shown."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import format_timedelta

from foundation.text import visible


def localtime(value: datetime | None, site=None, fmt: str = "%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(site.timezone if site else "Asia/Shanghai")).strftime(fmt)


def yuan(cents: int) -> str:
    """Money is kept in cents (fen) and shown in yuan: ¥50,000.00."""
    return f"{'-' if cents < 0 else ''}¥{abs(cents) / 100:,.2f}"


def duration(value: timedelta) -> str:
    """How long, in the reader's language: "3 hours", "3小时"."""
    return format_timedelta(value, threshold=1.5)


def show_invisible(value):
    """Every ``{{ value }}`` of every page: text a person typed is drawn with its invisible
    characters spelled out, so a bidi override cannot turn one name into another. Markup
    (form widgets, rendered partials) is the app's own and passes as it is."""
    return visible(value) if type(value) is str else value


def init_app(app: Flask) -> None:
    app.jinja_env.finalize = show_invisible
    app.add_template_filter(localtime)
    app.add_template_filter(yuan)
    app.add_template_filter(duration)
