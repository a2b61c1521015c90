"""管理 → 人员: a manager edits people and brings many in from a spreadsheet, previewed first;
a refusal names its row and changes nothing."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from foundation.org import User
from foundation.roles import Role
from tests.conftest import csrf_token, login, post_form
from webapp.extensions import db

HEADER = "用户名,姓名,角色,部门,项目,初始密码\n"


def upload(client, text: str):
    return post_form(
        client,
        "/people/import",
        {"file": (io.BytesIO(text.encode()), "people.csv")},
        token_from="/people/import",
        content_type="multipart/form-data",
    )


def person(app, username) -> User | None:
    with app.app_context():
        found = db.session.scalar(sa.select(User).where(User.username == username))
        if found is not None:
            found.site_codes = [s.code for s in found.sites]
            found.department_code = found.department.code if found.department else None
        return found


def test_a_manager_imports_people_after_a_preview(app, demo, client):
    login(client, "wangjl")
    preview = upload(
        client,
        HEADER
        + "wuxia,吴霞,保洁员,cleaning,BY,first-pass-1\nsunjie,孙杰,保安,保安部,BY,first-pass-2\nchenmei,陈梅,领班,cleaning,BY,\n",
    )
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "2 to add" in html and "1 to change" in html
    assert person(app, "wuxia") is None  # a preview changes nothing
    fields = dict(re.findall(r'name="(sheet|filename|digest)"[^>]*value="([^"]*)"', html))
    assert post_form(client, "/people/import/apply", fields, token_from="/people").status_code == 303
    wuxia = person(app, "wuxia")
    assert wuxia.role == Role.CLEANER and wuxia.site_codes == ["BY"] and wuxia.check_password("first-pass-1")
    assert person(app, "sunjie").department_code == "security"
    chenmei = person(app, "chenmei")
    assert chenmei.role == Role.SUPERVISOR and chenmei.check_password("demo1234")  # her password stays


def test_bad_rows_are_named_and_nobody_is_added(app, demo, client):
    login(client, "wangjl")
    response = upload(
        client,
        HEADER
        + "ok_one,好人,保洁员,,BY,first-pass-1\n"
        + "x,短名,保洁员,,BY,first-pass-1\n"  # line 3: username too short
        + "wu2,吴,园丁,,BY,first-pass-1\n"  # line 4: no such role
        + "wu3,吴,保洁员,,XH,first-pass-1\n"  # line 5: not the manager's site
        + "wu4,吴,保洁员,,BY,short\n"  # line 6: password too short
        + "wu5,吴,管理员,,BY,first-pass-1\n"  # line 7: a manager cannot make an administrator
        + "ok_one,好人,保洁员,,BY,first-pass-1\n",  # line 8: twice
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "Apply these changes" not in html
    for line in (3, 4, 5, 6, 7, 8):
        assert f"Line {line}:" in html
    assert "Line 2:" not in html
    assert person(app, "ok_one") is None


def test_a_manager_edits_roles_and_sites_within_their_own(app, demo, client):
    login(client, "wangjl")
    chenmei = person(app, "chenmei")
    with app.app_context():
        by = [s for s in db.session.scalar(sa.select(User).where(User.username == "wangjl")).sites][0].id
    response = post_form(
        client,
        f"/people/{chenmei.id}",
        {"display_name": "陈梅", "role": "supervisor", "department_id": 0, "sites": [by]},
        token_from="/people",
    )
    assert response.status_code == 303
    assert person(app, "chenmei").role == Role.SUPERVISOR
    page = client.get(f"/people/{chenmei.id}").get_data(as_text=True)
    assert "data-duties" in page and "大堂" in page  # her areas and shifts, with where to change them
    me = person(app, "wangjl")
    refused = post_form(
        client,
        f"/people/{me.id}",
        {"display_name": "王经理", "role": "cleaner", "department_id": 0, "sites": [by]},
        token_from="/people",
    )
    assert refused.status_code == 422 and "You cannot change your own role." in refused.get_data(as_text=True)
    assert person(app, "wangjl").role == Role.MANAGER


def test_another_sites_manager_cannot_edit_or_see_them(app, demo, client):
    chenmei = person(app, "chenmei")
    login(client, "hemin")  # XH's manager does not manage BY's cleaners
    assert client.get(f"/people/{chenmei.id}").status_code == 404


def test_a_manager_deactivates_someone_who_left_and_is_offered_nothing_they_may_not_do(app, client, demo):
    login(client, "wangjl")
    page = client.get("/people").get_data(as_text=True)
    with app.app_context():
        admin = db.session.scalar(sa.select(User.id).where(User.username == "admin"))
        cleaner = db.session.scalar(sa.select(User.id).where(User.username == "chenmei"))
    assert f"/people/{admin}/password" not in page and f"/people/{cleaner}/password" in page
    assert post_form(client, f"/people/{cleaner}/active", {}).status_code == 303
    gone = app.test_client()
    refused = gone.post("/login", data={"username": "chenmei", "password": "demo1234", "csrf_token": csrf_token(gone)})
    assert refused.status_code == 422
    assert post_form(client, f"/people/{admin}/active", {}).status_code == 404


def test_an_import_hashes_every_password_before_it_writes(app, demo, client, monkeypatch):
    """A writing transaction holds every phone's pull back until it ends (sync/changes.py), and a
    password takes ~0.1 s to hash: an import of 200 people must not hold pulls for 20 s. Every
    password is hashed before the first person is written."""
    import foundation.org
    import foundation.people_import

    order: list[str] = []
    hash_password = foundation.org.hash_password

    def hashing(password):
        order.append("hash")
        return hash_password(password)

    def writing(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("INSERT INTO APP_USER"):
            order.append("write")

    monkeypatch.setattr(foundation.people_import, "hash_password", hashing)
    login(client, "wangjl")
    rows = "".join(f"import{n:02d},导入{n},保洁员,cleaning,BY,first-pass-{n:02d}\n" for n in range(5))
    html = upload(client, HEADER + rows).get_data(as_text=True)
    fields = dict(re.findall(r'name="(sheet|filename|digest)"[^>]*value="([^"]*)"', html))
    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", writing)
    try:
        assert post_form(client, "/people/import/apply", fields, token_from="/people").status_code == 303
    finally:
        sa.event.remove(engine, "before_cursor_execute", writing)
    assert order == ["hash"] * 5 + ["write"] * order.count("write") and "write" in order
    assert person(app, "import03").check_password("first-pass-03")
