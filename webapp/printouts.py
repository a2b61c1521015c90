"""Printable PDFs, built from flowing paragraphs so that every line wraps inside the margins:
one ticket or one inspection with their photos, in the reader's language (what a manager files,
hands to a contractor or takes to a meeting); ``Sheet`` also draws the rectification notice and
the monthly score sheet."""

from __future__ import annotations

import io
from collections.abc import Callable
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Image, KeepTogether, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from foundation.photos import display_name
from inspections.checklists import Definition
from inspections.records import Inspection
from tickets.models import Ticket
from webapp import photo_store
from webapp.filters import yuan
from webapp.fonts import reportlab_cjk_font
from webapp.labels import (
    ACTION_LABELS,
    CHECK_LABELS,
    KIND_LABELS,
    PRIORITY_LABELS,
    STATE_LABELS,
    _label,
    answer_text,
    answered_sections,
    department_label,
    in_reader_language,
)
from webapp.photos.views import viewable

MARGIN = 18 * mm
WIDTH = A4[0] - 2 * MARGIN  # the text column between the margins of a portrait page
PHOTO = (WIDTH - 6 * mm) / 2  # two photos a row


class Sheet:
    """A PDF built top to bottom from paragraphs, fact tables and photos."""

    def __init__(self, title: str, pagesize: tuple[float, float] = A4) -> None:
        font = reportlab_cjk_font()
        self.title = title
        self.pagesize = pagesize
        self.width = pagesize[0] - 2 * MARGIN
        # wordWrap CJK: Chinese has no spaces to break a line at.
        self.body = ParagraphStyle("body", fontName=font, fontSize=10, leading=14, wordWrap="CJK")
        self.small = ParagraphStyle("small", parent=self.body, fontSize=8.5, leading=11, textColor=colors.grey)
        self.h1 = ParagraphStyle("h1", parent=self.body, fontSize=16, leading=21, spaceAfter=4)
        self.h2 = ParagraphStyle("h2", parent=self.body, fontSize=12, leading=16, spaceBefore=8, spaceAfter=4)
        self.flow: list = [Paragraph(escape(title), self.h1)]

    def text(self, text: str, style: ParagraphStyle | None = None) -> None:
        self.flow.append(Paragraph(escape(text).replace("\n", "<br/>"), style or self.body))

    def heading(self, text: str) -> None:
        self.flow.append(Paragraph(escape(text), self.h2))

    def facts(self, rows: list[tuple[str, str]]) -> None:
        self.table([[k, v] for k, v in rows if v], widths=[32 * mm, self.width - 32 * mm], header=False)

    def table(self, rows: list[list[str]], widths: list[float], header: bool = True) -> None:
        if not rows:
            return
        cells = [[Paragraph(escape(str(c)).replace("\n", "<br/>"), self.body) for c in row] for row in rows]
        table = Table(cells, colWidths=widths, repeatRows=1 if header else 0)
        style = [("VALIGN", (0, 0), (-1, -1), "TOP"), ("LINEBELOW", (0, 0), (-1, -1), 0.3, colors.lightgrey)]
        if header:
            style.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e3f1ec")))
        table.setStyle(TableStyle(style))
        self.flow.append(table)

    def photos(self, shas: list[str], drawn: Callable[[str], bytes] | None = None) -> None:
        """The display copies (or what ``drawn`` makes of each), two a row; a photo still on its
        way from a phone, or not the reader's to see, is named instead."""
        cells = []
        shown = viewable(list(shas))
        for sha in dict.fromkeys(shas):
            if sha in shown and photo_store.store().exists(display_name(sha)):
                data = drawn(sha) if drawn else photo_store.store().get(display_name(sha))
                image = Image(io.BytesIO(data))
                scale = min(PHOTO / image.imageWidth, PHOTO / image.imageHeight)
                image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
                cells.append(image)
            else:
                cells.append(Paragraph(escape(_("Photo %(name)s has not arrived yet.", name=sha[:12])), self.small))
        rows = [cells[i : i + 2] + [""] * (2 - len(cells[i : i + 2])) for i in range(0, len(cells), 2)]
        if rows:
            table = Table(rows, colWidths=[PHOTO + 3 * mm] * 2)
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
            self.flow.append(KeepTogether(table) if len(rows) == 1 else table)

    def pdf(self, footer: str) -> bytes:
        out = io.BytesIO()

        def page_footer(canvas, doc) -> None:
            canvas.setFont(self.body.fontName, 8)
            canvas.setFillColor(colors.grey)
            canvas.drawString(MARGIN, 10 * mm, footer)
            canvas.drawRightString(self.pagesize[0] - MARGIN, 10 * mm, str(doc.page))

        doc = SimpleDocTemplate(
            out,
            pagesize=self.pagesize,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=16 * mm,
            bottomMargin=18 * mm,
            title=self.title,
        )
        doc.build(self.flow, onFirstPage=page_footer, onLaterPages=page_footer)
        return out.getvalue()


def ticket_pdf(ticket: Ticket, printed_by: str, now) -> bytes:
    tz = ZoneInfo(ticket.site.timezone)

    def at(moment) -> str:
        return f"{moment.astimezone(tz):%Y-%m-%d %H:%M}" if moment else ""

    sheet = Sheet(f"{ticket.number} · {ticket.title}")
    department = ticket.department
    sheet.facts(
        [
            (_("Kind"), _label(KIND_LABELS, ticket.kind)),
            (_("State"), _label(STATE_LABELS, ticket.state)),
            (_("Priority"), _label(PRIORITY_LABELS, ticket.priority)),
            (_("Site"), ticket.site.name),
            (_("Where"), ticket.location.full_name if ticket.location else ""),
            (_("Department"), department_label(department.code) if department else ""),
            (_("Assignee"), ticket.assignee.display_name if ticket.assignee else ""),
            (_("Customer"), ticket.tenant.name if ticket.tenant else ""),
            (_("Contact"), " ".join(p for p in (ticket.contact_name, ticket.contact_phone) if p)),
            (_("Available"), ticket.available),
            (_("Paid service"), yuan(ticket.price_cents) if ticket.price_cents else ""),
            (_("Opened"), at(ticket.created_at)),
            (_("Due"), at(ticket.due_at)),
            (_("Closed"), at(ticket.closed_at)),
        ]
    )
    if ticket.description:
        sheet.heading(_("What was reported"))
        sheet.text(ticket.description)
    if ticket.photos:
        sheet.heading(_("Photos"))
        sheet.photos([p.photo_sha256 for p in ticket.photos])
    sheet.heading(_("History"))
    sheet.table(
        [[_("When"), _("Who"), _("What"), _("Note")]]
        + [[at(e.at), e.actor.display_name if e.actor else "", _event_text(e), e.note] for e in ticket.events],
        widths=[30 * mm, 26 * mm, 40 * mm, WIDTH - 96 * mm],
    )
    return sheet.pdf(_("%(site)s · printed %(at)s by %(who)s", site=ticket.site.name, at=at(now), who=printed_by))


def _event_text(event) -> str:
    text = _label(ACTION_LABELS, event.action)
    if event.to_state:
        text += f" → {_label(STATE_LABELS, event.to_state)}"
    if event.action == "callback":
        data = event.data
        text += " · " + (
            _("not reached")
            if not data.get("reached")
            else _("satisfied")
            if data.get("satisfied")
            else _("not satisfied")
        )
    return text


def inspection_pdf(inspection: Inspection, definition: Definition, printed_by: str, now) -> bytes:
    tz = ZoneInfo(inspection.site.timezone)
    template = inspection.template_version.template
    sheet = Sheet(template.title)
    sheet.facts(
        [
            (_("Site"), inspection.site.name),
            (_("Checklist version"), str(inspection.template_version.version)),
            (_("Where"), inspection.location.full_name),
            (_("Inspector"), inspection.inspector.display_name),
            (_("Finished"), f"{inspection.finished_at.astimezone(tz):%Y-%m-%d %H:%M}"),
            (_("Check"), _label(CHECK_LABELS, inspection.check_kind) if inspection.check_kind else ""),
            (_("Score"), f"{inspection.score:g}" if inspection.score is not None else ""),
            (_("Failed items"), str(inspection.failed_count)),
        ]
    )
    for title, rows in answered_sections(definition, inspection.answers):
        sheet.heading(title or _("Answers"))
        for item, answer in rows:
            label = in_reader_language(item.label, item.label_en) if item else answer.item_id
            sheet.table([[label, answer_text(answer, item)]], widths=[WIDTH - 30 * mm, 30 * mm], header=False)
            if answer.note:
                sheet.text(answer.note, sheet.small)
            if answer.photos:  # a signature is drawn as a photo too
                sheet.photos([p.photo_sha256 for p in answer.photos])
    sheet.flow.append(Spacer(1, 4 * mm))
    return sheet.pdf(
        _(
            "%(site)s · printed %(at)s by %(who)s",
            site=inspection.site.name,
            at=f"{now.astimezone(tz):%Y-%m-%d %H:%M}",
            who=printed_by,
        )
    )
