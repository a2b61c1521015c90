"""Checkpoint codes to print and stick on walls: QR codes big enough to scan from a metre away."""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfgen import canvas

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
    """Four checkpoints to an A4 page: the QR, the code to type, the name and where it is."""
    font = reportlab_cjk_font()
    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=A4, pageCompression=1)
    pdf.setTitle(f"{route.site.name} · {route.name}")
    width, height = A4
    cells = [(15 * mm, height / 2), (width / 2 + 5 * mm, height / 2), (15 * mm, 12 * mm), (width / 2 + 5 * mm, 12 * mm)]
    for n, stop in enumerate(route.checkpoints):
        if n and n % 4 == 0:
            pdf.showPage()
        x, y = cells[n % 4]
        location = stop.location
        pdf.drawImage(ImageReader(io.BytesIO(_qr_png(location.qr_code))), x, y + 28 * mm, QR_SIZE, QR_SIZE)
        pdf.setFont(font, 20)
        pdf.drawString(x + 4 * mm, y + 19 * mm, location.qr_code)
        pdf.setFont(font, 14)
        pdf.drawString(x + 4 * mm, y + 11 * mm, location.name[:18])
        pdf.setFont(font, 9)
        pdf.drawString(x + 4 * mm, y + 5 * mm, f"{route.site.name} · {route.name} · {n + 1}"[:40])
    pdf.showPage()
    pdf.save()
    return out.getvalue()
