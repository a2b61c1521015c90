"""Bad input on every form: a clear message next to the field, and nothing changed."""

import io
import re

import pytest
import sqlalchemy as sa

from foundation.org import User
from foundation.photos import Photo
from inspections.records import Inspection
from tests.conftest import csrf_token, login, post_form
from tests.helpers import jpeg_bytes
from tickets.models import Ticket
from webapp.extensions import db


def _count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.mark.parametrize("language, message", [("en", "Wrong username or password."), ("zh-CN", "用户名或密码错误。")])
def test_wrong_password_says_so_in_the_browser_language(client, demo, language, message):
    response = client.post(
        "/login",
        data={"username": "chenmei", "password": "nope", "csrf_token": csrf_token(client)},
        headers={"Accept-Language": language},
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert client.get("/today").status_code == 302


def test_five_wrong_passwords_lock_the_login_page_even_for_the_right_one(client, demo):
    def attempt(password):
        return client.post(
            "/login",
            data={"username": "chenmei", "password": password, "csrf_token": csrf_token(client)},
            headers={"Accept-Language": "en"},
        )

    for _ in range(5):
        assert attempt("nope").status_code == 422
    response = attempt("demo1234")
    assert response.status_code == 429
    assert "Too many failed attempts. Wait 15 minutes" in response.get_data(as_text=True)
    assert client.get("/today").status_code == 302


def test_a_disabled_person_cannot_log_in(app, client, demo):
    with app.app_context():
        db.session.scalar(sa.select(User).where(User.username == "chenmei")).active = False
        db.session.commit()
    response = client.post(
        "/login", data={"username": "chenmei", "password": "demo1234", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 422


def test_login_never_redirects_to_another_host(client, demo):
    response = client.post(
        "/login?next=//evil.example/x",
        data={"username": "chenmei", "password": "demo1234", "csrf_token": csrf_token(client)},
    )
    assert response.headers["Location"] == "/today"


VALID_PERSON = {
    "username": "xiaoli",
    "display_name": "小李",
    "role": "cleaner",
    "department_id": "0",
    "sites": "1",
    "password": "longenough",
}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"username": "x"}, "Field must be between 3 and 64 characters long."),
        ({"username": "bad name!"}, "Letters, digits, dot, dash and underscore only."),
        ({"username": "chenmei"}, "This username is taken."),
        ({"display_name": ""}, "This field is required."),
        ({"role": "overlord"}, "Not a valid choice."),
        ({"sites": None}, "Choose at least one site."),
        ({"sites": "2"}, "is not a valid choice"),  # a manager of BY may not add staff to XH
        ({"password": "short"}, "At least 8 characters."),
    ],
)
def test_adding_a_person_with_bad_values(app, client, demo, change, message):
    login(client, "wangjl")
    data = {k: v for k, v in {**VALID_PERSON, **change}.items() if v is not None}
    before = _count(app, User)
    response = post_form(client, "/people", data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(app, User) == before


def test_adding_a_person_who_can_then_log_in(app, client, demo):
    login(client, "wangjl")
    response = post_form(client, "/people", VALID_PERSON)
    assert response.status_code == 303
    assert "小李 can now log in as xiaoli." in client.get("/people").get_data(as_text=True)
    client.post("/logout", data={"csrf_token": csrf_token(client, "/today")})
    login(client, "xiaoli", "longenough")


def test_resetting_a_password(app, client, demo):
    login(client, "wangjl")
    with app.app_context():
        cleaner_id = db.session.scalar(sa.select(User.id).where(User.username == "chenmei"))
    short = post_form(client, f"/people/{cleaner_id}/password", {"password": "abc"})
    assert short.status_code == 422 and "At least 8 characters." in short.get_data(as_text=True)
    assert post_form(client, f"/people/{cleaner_id}/password", {"password": "new-password-1"}).status_code == 303
    client.post("/logout", data={"csrf_token": csrf_token(client, "/today")})
    login(client, "chenmei", "new-password-1")


def _restroom_form(client) -> tuple[str, dict]:
    html = client.get("/today").get_data(as_text=True)
    link = (
        re.search(r'href="(/checklists/[^"]+)">\s*<span class="row-main">\s*<strong>清洁标准：卫生间', html)
        .group(1)
        .replace("&amp;", "&")
    )
    page = client.get(link).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|inspection_id|started_at|template_version)" value="([^"]*)"', page))
    items = re.findall(r'name="answer-([a-z_]+)" value="pass"', page)
    return link, {**fields, **{f"answer-{item}": "pass" for item in items}}


def test_a_checklist_shows_each_problem_next_to_its_item(app, client, demo):
    login(client, "chenmei")
    link, data = _restroom_form(client)
    data.pop("answer-drain")
    data["answer-odour"] = "fail"
    response = client.post(link, data={**data, "action": "submit"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "2 items need attention" in html
    assert re.search(r'id="item-drain".*?Answer this item\.', html, re.S)
    assert re.search(r'id="item-odour".*?A failed item needs a photo\.', html, re.S)
    assert _count(app, Inspection) == 0


def test_a_refused_photo_is_named_next_to_its_item_and_the_answers_stay(app, client, demo):
    login(client, "chenmei")
    link, data = _restroom_form(client)
    data["answer-odour"] = "fail"
    data["note-odour"] = "有异味"
    data["photo-odour"] = (io.BytesIO(b"GIF? no, just text"), "photo.jpg")
    response = client.post(link, data={**data, "action": "review"}, content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(r'id="item-odour".*?not a photo we can read', html, re.S)
    assert 'value="fail" checked' in html and "有异味" in html  # nothing typed is lost
    assert _count(app, Photo) == 0


def test_number_items_say_what_is_wrong(app, client, demo):
    login(client, "liuxia")
    with app.app_context():
        from foundation.org import Location, LocationKind
        from tests.helpers import template

        tpl = template("入伙单元验收（收楼）").id
        unit = db.session.scalars(sa.select(Location.id).where(Location.kind == LocationKind.UNIT)).first()
    link = f"/checklists/{tpl}?location={unit}"
    page = client.get(link).get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|inspection_id|started_at|template_version)" value="([^"]*)"', page))
    response = client.post(
        link,
        data={
            **fields,
            "answer-meter_electric": "十二",
            "answer-meter_water": "-3",
            "answer-keys": "99",
            "action": "review",
        },
    )
    html = response.get_data(as_text=True)
    assert re.search(r'id="item-meter_electric".*?Enter a number\.', html, re.S)
    assert re.search(r'id="item-meter_water".*?The lowest allowed value is 0\.', html, re.S)
    assert re.search(r'id="item-keys".*?The highest allowed value is 50\.', html, re.S)
    assert 'value="十二"' in html


@pytest.mark.photos
def test_review_then_send_opens_the_rework_ticket(app, client, demo):
    login(client, "chenmei")
    link, data = _restroom_form(client)
    data["answer-odour"] = "fail"
    data["photo-odour"] = (io.BytesIO(jpeg_bytes()), "odour.jpg")
    review = client.post(link, data={**data, "action": "review"}, content_type="multipart/form-data")
    html = review.get_data(as_text=True)
    assert review.status_code == 200
    assert "Check before sending" in html and "opens a Rework ticket" in html
    sha = re.search(r'name="photos-odour" value="([0-9a-f]{64})"', html).group(1)
    data.pop("photo-odour")
    sent = client.post(link, data={**data, "photos-odour": sha, "action": "submit"})
    assert sent.status_code == 303
    page = client.get(sent.headers["Location"]).get_data(as_text=True)
    assert "BY-20" in page and "Rework" in page
    assert _count(app, Ticket, Ticket.kind == "rework") == 1
    again = client.post(link, data={**data, "photos-odour": sha, "action": "submit"})  # a double tap
    assert again.status_code == 303 and _count(app, Inspection) == 1


def test_assigning_to_someone_not_offered_is_refused(app, client, demo):
    login(client, "wangjl")
    response = post_form(client, "/tickets/BY-20261126-0002/assign", {"department_id": "2", "assignee_id": "9999"})
    assert response.status_code == 422
    assert "Not a valid choice" in response.get_data(as_text=True)


def test_an_assignment_from_an_older_page_shows_what_changed_and_changes_nothing(app, client, demo):
    """The lead opened the ticket; meanwhile customer service assigned it to the engineer. The
    lead's assignment, made on what the page showed, would silently undo that: instead the page
    comes back saying what happened since, and nothing is saved."""
    login(client, "wangjl")
    page = client.get("/tickets/BY-20261126-0002").get_data(as_text=True)
    shown = re.search(r'name="base_version" type="hidden" value="(\d+)"', page) or re.search(
        r'type="hidden" name="base_version" value="(\d+)"', page
    )
    desk = app.test_client()
    login(desk, "liuxia")
    with app.app_context():
        engineer = db.session.scalar(sa.select(User).where(User.username == "lihua"))
        engineer_id, engineering = engineer.id, engineer.department_id
        cleaner = db.session.scalar(sa.select(User).where(User.username == "chenmei"))
        cleaner_id, cleaning = cleaner.id, cleaner.department_id
    fields = {"department_id": str(engineering), "assignee_id": str(engineer_id)}
    assert post_form(desk, "/tickets/BY-20261126-0002/assign", fields).status_code == 303
    stale = {"department_id": str(cleaning), "assignee_id": str(cleaner_id), "base_version": shown.group(1)}
    response = post_form(client, "/tickets/BY-20261126-0002/assign", stale)
    html = response.get_data(as_text=True)
    assert response.status_code == 409 and 'id="changed-meanwhile"' in html
    changed = html[
        html.index('id="changed-meanwhile"') : html.index("</section>", html.index('id="changed-meanwhile"'))
    ]
    assert "刘霞" in changed and "李华" in changed  # who did what since the page was shown
    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket).where(Ticket.number == "BY-20261126-0002"))
        assert ticket.assignee_id == engineer_id


def test_an_empty_comment_is_refused(app, client, demo):
    login(client, "wangjl")
    response = post_form(client, "/tickets/BY-20261126-0002/comment", {"text": "  "})
    assert response.status_code == 422
    assert "This field is required." in response.get_data(as_text=True)


def test_a_bystander_cannot_move_a_ticket(app, client, demo):
    login(client, "lihua")  # the engineer is not assigned to this repair
    response = post_form(client, "/tickets/BY-20261126-0002/transition", {"to": "resolved", "base_version": "1"})
    assert response.status_code == 403
