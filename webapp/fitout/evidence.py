"""Violation evidence: stamped copies of the photos and the rectification notice (整改通知)."""
from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from sqlalchemy.orm import Session

from inspections.fitout import FitoutProject
from inspections.photos import Photo, display_name, stamp
from tickets.models import Ticket
from webapp import photo_store
from webapp.fonts import cjk_font_path, reportlab_cjk_font


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
    deadline, and the stamped photos."""
    font = reportlab_cjk_font()
    tz = ZoneInfo(project.site.timezone)
    out = io.BytesIO()
    page = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    page.setTitle(f"整改通知 {ticket.number}")
    width, height = A4
    y = height - 20 * mm

    def text(line: str, size: float = 11, x: float = 20 * mm) -> None:
        nonlocal y
        page.setFont(font, size)
        page.drawString(x, y, line)
        y -= size * 0.5 * mm + 3 * mm

    text(f"{project.site.name} · 二次装修整改通知", 18)
    y -= 3 * mm
    created = ticket.events[0]
    for line in [
        f"编号：{ticket.number}",
        f"单元：{project.unit.full_name}    客户：{project.tenant.name if project.tenant else '—'}",
        f"施工单位：{project.contractor}    许可证：{project.permit_number}",
        f"违章事项：{ticket.title}",
        *[f"    {part}" for part in ticket.description.splitlines() if part],
        f"发现时间：{created.at.astimezone(tz):%Y-%m-%d %H:%M}    发现人：{created.actor.display_name if created.actor else '—'}",
        f"整改期限：{ticket.due_at.astimezone(tz):%Y-%m-%d %H:%M} 前",
        "请施工单位在期限内整改完毕，整改后由各部门复查；逾期未改的，按《二次装修施工单位违反有关安全管理处罚规定》处理，",
        "罚款从装修押金中扣除。",
    ]:
        text(line)
    shas = [p.photo_sha256 for p in ticket.photos][:4]
    box = (width - 50 * mm) / 2
    for n, sha in enumerate(shas):
        if not photo_store.store().exists(display_name(sha)):
            continue  # still on its way from the phone
        image = ImageReader(io.BytesIO(stamped_photo(session, ticket, sha)))
        iw, ih = image.getSize()
        scale = min(box / iw, box / ih)
        x = 20 * mm + (n % 2) * (box + 10 * mm)
        top = y - (n // 2) * (box + 8 * mm)
        page.drawImage(image, x, top - ih * scale, iw * scale, ih * scale)
    y -= ((len(shas) + 1) // 2) * (box + 8 * mm) + 5 * mm
    text(f"签发：{issued_by}    日期：{ticket.created_at.astimezone(tz):%Y-%m-%d}")
    text("施工单位签收：____________________    日期：____________")
    page.showPage()
    page.save()
    return out.getvalue()
