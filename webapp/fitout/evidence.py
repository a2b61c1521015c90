"""Violation evidence: stamped copies of the photos and the rectification notice (整改通知)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from foundation.photos import Photo, display_name, stamp
from inspections.fitout import FitoutProject
from tickets.models import Ticket
from webapp import photo_store
from webapp.fonts import cjk_font_path
from webapp.printouts import Sheet


def stamp_lines(session: Session, ticket: Ticket, sha256: str) -> list[str]:
    """Time taken (the camera's, else when it was reported), site, unit, and who saw it."""
    tz = ZoneInfo(ticket.site.timezone)
    event = next((e for e in ticket.events if sha256 in e.data.get("photos", [])), ticket.events[0])
    photo = session.get(Photo, sha256)
    taken = (photo.captured_at if photo and photo.captured_at else event.at).astimezone(tz)
    who = event.actor.display_name if event.actor else ""
    place = ticket.location.full_name if ticket.location else ""
    return [f"{taken:%Y-%m-%d %H:%M}", f"{ticket.site.name} · {place}", f"{ticket.number} · {who}"]


def stamped_photo(session: Session, ticket: Ticket, sha256: str) -> bytes:
    display = photo_store.store().get(display_name(sha256))
    return stamp(display, stamp_lines(session, ticket, sha256), cjk_font_path())


def notice_pdf(session: Session, project: FitoutProject, ticket: Ticket, issued_by: str) -> bytes:
    """整改通知 for the contractor: the rule broken, where, when and by whom it was seen, the
    deadline, and the stamped photos. In Chinese whatever the reader's language: it is handed
    to the contractor. Every paragraph wraps inside the margins."""
    tz = ZoneInfo(project.site.timezone)
    created = ticket.events[0]
    sheet = Sheet(f"{project.site.name} · 二次装修整改通知")
    sheet.facts(
        [
            ("编号", ticket.number),
            ("单元", project.unit.full_name),
            ("客户", project.tenant.name if project.tenant else "—"),
            ("施工单位", project.contractor),
            ("许可证", project.permit_number),
            ("违章事项", ticket.title),
            ("情况说明", ticket.description),
            ("发现时间", f"{created.at.astimezone(tz):%Y-%m-%d %H:%M}"),
            ("发现人", created.actor.display_name if created.actor else "—"),
            ("整改期限", f"{ticket.due_at.astimezone(tz):%Y-%m-%d %H:%M} 前"),
        ]
    )
    sheet.text(
        "请施工单位在期限内整改完毕，整改后由各部门复查；逾期未改的，按《二次装修施工单位违反有关安全管理处罚规定》"
        "处理，罚款从装修押金中扣除。"
    )
    sheet.photos([p.photo_sha256 for p in ticket.photos][:4], drawn=lambda sha: stamped_photo(session, ticket, sha))
    sheet.text(f"签发：{issued_by}    日期：{ticket.created_at.astimezone(tz):%Y-%m-%d}")
    sheet.text("施工单位签收：____________________    日期：____________")
    return sheet.pdf(f"{project.site.name} · {ticket.number}")
