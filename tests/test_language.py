"""Simplified Chinese and English, chosen per person and kept."""

import html
import re
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import (
    BadRequest,
    Conflict,
    Forbidden,
    ImATeapot,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
    UnsupportedMediaType,
)

from tests.conftest import login, post_form


def test_each_person_reads_their_own_language(client, demo):
    login(client, "chenmei", locale="zh")
    page = client.get("/today").get_data(as_text=True)
    assert 'lang="zh-CN"' in page and "今日" in page and "开始其他检查" in page
    post_form(client, "/language", {"locale": "en"})
    page = client.get("/today").get_data(as_text=True)
    assert 'lang="en"' in page and "Start another check" in page


def test_validation_messages_follow_the_language(client, demo):
    login(client, "wangjl", locale="zh")
    response = post_form(
        client, "/people", {"username": "ab", "display_name": "", "role": "cleaner", "sites": "1", "password": "x"}
    )
    html = response.get_data(as_text=True)
    assert "至少 8 个字符。" in html and "Field must be" not in html


def test_a_bad_language_choice_changes_nothing(client, demo):
    login(client, "chenmei", locale="zh")
    post_form(client, "/language", {"locale": "klingon"})
    assert "今日" in client.get("/today").get_data(as_text=True)


def test_every_message_has_its_chinese_words(tmp_path):
    """Every string the code and templates say, extracted as `make messages` does, has its Chinese:
    a new English string fails here, not on a guard's phone."""
    root = Path(__file__).parent.parent
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "-o",
            str(pot),
            ".",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    with pot.open("rb") as said, (root / "translations" / "zh" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        wanted, catalog = read_po(said), read_po(po)
    translated = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
    assert sorted(str(m.id) for m in wanted if m.id and m.id not in translated) == []


def test_an_english_reader_sees_a_checklists_own_english_words_and_one_name_per_department(app, client):
    """Item labels and section titles in English where the checklist has them (a record, the
    checklist page), and a department by one name per language on the ticket as on the console."""
    import sqlalchemy as sa

    from foundation.base import utcnow
    from foundation.org import Origin
    from inspections.checklists import ChecklistTemplate, Definition, TemplateKind, publish_template_version
    from inspections.library import install_departments
    from inspections.submission import submit_inspection
    from tests import factories
    from tests.helpers import submission
    from tickets.models import Ticket
    from webapp.extensions import db

    with app.app_context():
        install_departments(db.session)
        site = factories.site(db.session)
        restroom = factories.place(db.session, site, area_type="restroom")
        cleaner = factories.person(db.session, site, username="lucy", department_code="cleaning")
        template = ChecklistTemplate(
            kind=TemplateKind.CLEANING, title="卫生间", roles=["cleaner"], area_type="restroom"
        )
        db.session.add(template)
        db.session.flush()
        on_fail = {"ticket_kind": "rework", "department": "cleaning", "due_hours": 2}
        items = [
            {"id": "floor", "type": "pass_fail", "label": "地面干净", "label_en": "Floor clean", "on_fail": on_fail},
            {"id": "sink", "type": "pass_fail", "label": "洗手台", "label_en": "Wash basin"},
        ]
        definition = Definition.model_validate(
            {"sections": [{"title": "洁具", "title_en": "Fixtures", "items": items}]}
        )
        publish_template_version(db.session, template, definition, actor=None)
        answers = [
            {"item_id": "floor", "value": "fail", "photos": []},
            {"item_id": "sink", "value": "pass", "photos": []},
        ]
        made = submit_inspection(
            db.session, submission(template, restroom, answers), actor=cleaner, origin=Origin("web"), now=utcnow()
        )
        inspection_id, template_id, place_id = made.inspection.id, template.id, restroom.id
        number = db.session.scalar(sa.select(Ticket.number))
        db.session.commit()
    login(client, "lucy", factories.PASSWORD, locale="en")
    record = client.get(f"/inspections/{inspection_id}").get_data(as_text=True)
    # (The ticket it opened keeps the title it was given, in the words of its day.)
    assert "<strong>Floor clean</strong>" in record and "<strong>Wash basin</strong>" in record
    assert "<strong>地面干净</strong>" not in record
    page = client.get(f"/checklists/{template_id}?location={place_id}").get_data(as_text=True)
    assert "Fixtures" in page and "洁具" not in page
    ticket = client.get(f"/tickets/{number}").get_data(as_text=True)
    assert "保洁部" not in ticket and "Cleaning" in ticket
    post_form(client, "/language", {"locale": "zh"})
    record = client.get(f"/inspections/{inspection_id}").get_data(as_text=True)
    assert "<strong>地面干净</strong>" in record and "Floor clean" not in record


ERRORS = {
    "bad request": BadRequest(),
    "forbidden": Forbidden(),
    "not found": NotFound(),
    "not allowed": MethodNotAllowed(["POST"]),
    "conflict": Conflict(),
    "too large": RequestEntityTooLarge(),
    "not accepted": UnsupportedMediaType(),
    "teapot": ImATeapot(),  # a code with no words of its own: the general ones
    "a bug": RuntimeError("a bug"),
    "no database": OperationalError("SELECT 1", {}, Exception("the database is down")),
}


@pytest.mark.parametrize("error", ERRORS.values(), ids=ERRORS.keys())
def test_every_error_page_speaks_the_readers_language(app, error):
    """A 500 once said "The server encountered an internal error…" on a Chinese page, and a
    409 said "Conflict": each error page, in each language, is the reader's own words."""
    for language in ("zh", "en"):
        with app.test_request_context("/somewhere", headers={"Accept-Language": language}):
            response = app.make_response(app.handle_user_exception(error))
        main = re.search(r"<main.*?</main>", response.get_data(as_text=True), re.S).group(0)
        page = html.unescape(re.sub(r"<[^>]+>", " ", main))
        chinese = re.search(r"[\u4e00-\u9fff]", page)
        english_words = re.findall(r"[A-Za-z]{3,}", page)
        assert response.status_code >= 400
        if language == "zh":
            assert chinese and english_words == [], page
        else:
            assert not chinese and len(english_words) >= 4, page
