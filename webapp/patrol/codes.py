"""Checkpoint codes to print and stick on walls: QR codes big enough to scan from a metre away."""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

import qrcode
import qrcode.image.svg
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph

from inspections.patrol import PatrolRoute
from webapp.fonts import reportlab_cjk_font

QR_SIZE = 90 * mm  # a phone camera reads a code this size from about a metre


def qr_svg(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    return image.to_string(encoding="unicode")


def _qr_png(text: str) -> bytes:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=20, border=2)
    code.add_data(text)
    out = io.BytesIO()
    code.make_image().save(out, format="PNG")
    return out.getvalue()


def codes_pdf(route: PatrolRoute) -> bytes:
    """Four checkpoints to an A4 page: the QR, the code to type, the name and where it is. Names
    wrap inside their quarter of the page, however long."""
    font = reportlab_cjk_font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"{route.site.name} · {route.name}")
    width, height = A4
    text_width = width / 2 - 28 * mm
    cells = [(15 * mm, height / 2), (width / 2 + 5 * mm, height / 2), (15 * mm, 12 * mm), (width / 2 + 5 * mm, 12 * mm)]

    def style(size: float) -> ParagraphStyle:
        return ParagraphStyle(f"s{size}", fontName=font, fontSize=size, leading=size * 1.25, wordWrap="CJK")

    for n, stop in enumerate(route.stops):
        if n and n % 4 == 0:
            pdf.showPage()
        x, y = cells[n % 4]
        location = stop.location
        top = y + 3 * mm  # the text stacks upwards from the cell's foot: caption, name, code
        for text, size in [
            (f"{route.site.name} · {route.name} · {n + 1}", 9),
            (location.name, 14),
            (location.qr_code, 20),
        ]:
            paragraph = Paragraph(escape(text), style(size))
            _, used = paragraph.wrapOn(pdf, text_width, height)
            paragraph.drawOn(pdf, x + 4 * mm, top)
            top += used + 1 * mm
        size = min(QR_SIZE, y + height / 2 - 16 * mm - top)  # whatever the text leaves of the cell
        pdf.drawImage(ImageReader(io.BytesIO(_qr_png(location.qr_code))), x, top, size, size)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
