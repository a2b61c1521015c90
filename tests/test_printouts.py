"""Printouts (reportlab, a CJK font): every kind of PDF keeps its words inside the page, whatever
the length of a contractor's or a checkpoint's name (a notice's closing rule once ran off the
right edge). Each on SQLite and PostgreSQL, with both photo stores."""

from __future__ import annotations

import uuid

import pypdfium2
import pytest
import sqlalchemy as sa
from reportlab.lib.pagesizes import A4

from inspections.fitout import FitoutProject
from inspections.patrol import PatrolRoute
from tests.conftest import login
from tests.helpers import jpeg_bytes
from tests.sync_client import get_token, put_photo
from tickets.models import Ticket
from webapp.extensions import db


def _characters_outside(pdf: bytes, margin_pt: float = 18) -> list[str]:
    document = pypdfium2.PdfDocument(pdf)
    outside = []
    for number, page in enumerate(document):
        width, height = page.get_size()
        text = page.get_textpage()
        for index in range(text.count_chars()):
            left, bottom, right, top = text.get_charbox(index)
            if left < margin_pt or right > width - margin_pt or bottom < margin_pt or top > height - margin_pt:
                outside.append(f"page {number + 1}: {text.get_text_range(index, 1)!r} at {left:.0f},{bottom:.0f}")
        text.close()
    document.close()
    return outside


@pytest.mark.photos
def test_every_kind_of_pdf_keeps_its_words_inside_the_page(app, client, demo):
    """A notice whose closing rule ran off the right edge; a long contractor; a long checkpoint."""
    long_name = "北京华艺装饰工程有限公司第三分公司（朝阳区建国路八十八号现代城项目部）" * 2
    with app.app_context():
        project = db.session.scalar(sa.select(FitoutProject))
        project.contractor = long_name
        route = db.session.scalar(sa.select(PatrolRoute))
        route.checkpoints[0].location.name = "地下二层东侧消防楼梯间防火门（靠近三号电梯厅与设备机房之间的通道）"
        db.session.commit()
        project_id, route_id = project.id, route.id
    token = get_token(client, "lihua")
    photo = jpeg_bytes(color="orange")
    put_photo(client, token, photo)
    login(client, "wangjl")
    from tests.test_crawl import _records_with_photos  # a violation with its photo, as phones make it

    _records_with_photos(app)
    with app.app_context():
        violation = db.session.scalar(sa.select(Ticket.number).where(Ticket.kind == "violation"))
        inspection = db.session.scalar(sa.select(sa.text("id")).select_from(sa.table("inspection")).limit(1))
    pdfs = {
        "notice": f"/fitout/{project_id}/notices/{violation}.pdf",
        "ticket": f"/tickets/{violation}.pdf",
        "inspection": f"/inspections/{uuid.UUID(str(inspection))}.pdf",
        "scores": "/cleaning/scores.pdf",
        "codes": f"/patrol/routes/{route_id}/codes.pdf",
    }
    for kind, url in pdfs.items():
        response = client.get(url)
        assert response.status_code == 200, (kind, response.status_code)
        assert _characters_outside(response.data) == [], kind
        assert _characters_outside(response.data, margin_pt=200), kind  # the measure sees the words
    assert A4[0] < 600  # the margins above are measured on A4 (595 pt wide)
