"""Template filters: times in the site's own zone, money in yuan."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask


def localtime(value: datetime | None, site=None, fmt: str = "%m-%d %H:%M") -> str:
    if value is None:
        return ""
    return value.astimezone(ZoneInfo(site.timezone if site else "Asia/Shanghai")).strftime(fmt)


def yuan(cents: int) -> str:
    """Money is kept in cents (fen) and shown in yuan: ¥50,000.00."""
    return f"{'-' if cents < 0 else ''}¥{abs(cents) / 100:,.2f}"


def init_app(app: Flask) -> None:
    app.add_template_filter(localtime)
    app.add_template_filter(yuan)
