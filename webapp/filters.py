"""Template filters: times in the site's own zone."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask


def localtime(value: datetime | None, site=None, fmt: str = "%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(site.timezone if site else "Asia/Shanghai")).strftime(fmt)


def init_app(app: Flask) -> None:
    app.add_template_filter(localtime)
