"""Sessions the server ends: logout, a password reset, deactivation and a revoked phone end the
web session on every copy of its cookie, and the device token with it; a session lasts a shift,
or 30 days on the person's own phone, across app restarts."""

from datetime import timedelta

import sqlalchemy as sa

from foundation.org import Device, User
from foundation.sessions import WebSession
from tests.conftest import csrf_token, login, logout, post_form
from webapp.extensions import db


def _token(client) -> str:
    return client.post("/device-token", headers={"X-CSRFToken": csrf_token(client, "/today")}).get_json()["token"]


def _copy(app, client):
    """A second browser holding a copy of ``client``'s cookie (taken by someone, or a backup)."""
    thief = app.test_client()
    cookie = client.get_cookie("session")
    thief.set_cookie(cookie.key, cookie.value)
    return thief


def _pull(client, token) -> int:
    return client.get("/api/v1/sync/pull", headers={"Authorization": f"Bearer {token}"}).status_code


def _user(app, username) -> User:
    return db.session.scalar(sa.select(User).where(User.username == username))


def test_a_copy_of_the_cookie_taken_before_logout_opens_nothing_after_it(app, client, demo):
    login(client, "chenmei")
    copy = _copy(app, client)
    assert copy.get("/today").status_code == 200
    assert logout(client).status_code == 303
    assert copy.get("/today").status_code == 302
    commented = copy.post(
        "/tickets/BY-20261126-0002/comment", data={"text": "still here?"}, headers={"X-CSRFToken": "x"}
    )
    assert commented.status_code in (302, 400)
    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).select_from(WebSession).where(WebSession.ended_at.is_(None)))
            == 0
        )


def test_logout_that_keeps_sending_leaves_the_phones_token_until_the_phone_gives_it_back(app, client, demo):
    login(client, "chenmei")
    token = _token(client)
    assert post_form(client, "/logout", {"keep_sending": "1"}).status_code == 303
    assert client.get("/today").status_code == 302  # the web session is over …
    assert _pull(client, token) == 200  # … the unsent records still go, with the person's own token
    assert client.delete("/api/v1/auth/token", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert _pull(client, token) == 401


def test_a_password_reset_ends_every_session_and_token_of_that_person(app, client, demo):
    guard = app.test_client()
    login(guard, "zhangwei")
    token = _token(guard)
    login(client, "wangjl")
    with app.app_context():
        guard_id = _user(app, "zhangwei").id
    assert post_form(client, f"/people/{guard_id}/password", {"password": "a-new-one-2026"}).status_code == 303
    assert guard.get("/today").status_code == 302
    assert _pull(guard, token) == 401
    assert client.get("/today").status_code == 200  # the manager who reset it stays in


def test_deactivation_ends_the_session_and_the_token(app, client, demo):
    cleaner = app.test_client()
    login(cleaner, "chenmei")
    token = _token(cleaner)
    login(client, "wangjl")
    with app.app_context():
        cleaner_id = _user(app, "chenmei").id
    assert post_form(client, f"/people/{cleaner_id}/active", {}).status_code == 303
    assert cleaner.get("/today").status_code == 302
    assert _pull(cleaner, token) == 401


def test_a_revoked_phone_loses_its_browser_session_too(app, client, demo):
    phone = app.test_client()
    login(phone, "chenmei")
    _token(phone)
    login(client, "wangjl")
    with app.app_context():
        device = db.session.scalar(sa.select(Device).where(Device.user_id == _user(app, "chenmei").id))
        device_id = device.id
    assert post_form(client, f"/people/devices/{device_id}/revoke", {}).status_code == 303
    assert phone.get("/today").status_code == 302


def test_a_phone_that_holds_a_live_token_keeps_it_in_a_new_session(app, client, demo):
    login(client, "chenmei")
    token = _token(client)
    logout_with_keep = post_form(client, "/logout", {"keep_sending": "1"})
    assert logout_with_keep.status_code == 303
    login(client, "chenmei")
    body = client.post(
        "/device-token", headers={"X-CSRFToken": csrf_token(client, "/today"), "Authorization": f"Bearer {token}"}
    ).get_json()
    assert body["token"] == token
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Device)) == 1
    # Another person's token is never adopted: they get their own.
    other = app.test_client()
    login(other, "zhangwei")
    theirs = other.post(
        "/device-token", headers={"X-CSRFToken": csrf_token(other, "/today"), "Authorization": f"Bearer {token}"}
    ).get_json()
    assert theirs["token"] != token


def test_a_session_lasts_the_shift_or_thirty_days_on_ones_own_phone(app, client, demo):
    shared = app.test_client()
    login(shared, "zhangwei")
    own = app.test_client()
    own.post(
        "/login",
        data={"username": "chenmei", "password": "demo1234", "own_phone": "y", "csrf_token": csrf_token(own)},
    )
    cookie = own.get_cookie("session")
    assert cookie.expires is not None  # kept across an app restart, not a browser-session cookie
    with app.app_context():
        lengths = {
            web.user.username: web.expires_at - web.created_at for web in db.session.scalars(sa.select(WebSession))
        }
        assert lengths == {"zhangwei": timedelta(hours=12), "chenmei": timedelta(days=30)}
        # Thirteen hours later the shift's session is over; the own phone's is not.
        for web in db.session.scalars(sa.select(WebSession)):
            web.created_at -= timedelta(hours=13)
            web.expires_at -= timedelta(hours=13)
        db.session.commit()
    assert shared.get("/today").status_code == 302
    assert own.get("/today").status_code == 200


def test_a_browser_that_asks_again_in_one_session_loses_the_token_it_had(app, client, demo):
    login(client, "chenmei")
    first = _token(client)
    second = _token(client)  # the first answer never reached the page (a reload cut it off)
    assert first != second
    assert _pull(client, first) == 401 and _pull(client, second) == 200
    assert client.get("/today").status_code == 200


def test_pages_opened_at_once_after_login_share_one_form_token(app, client, demo):
    """Right after login the phone opens Today while its service worker fetches the offline pages:
    whichever answer's cookie lands last, the form token on Today is still good (the session has
    its token from the login on, so no page makes one the cookie then forgets)."""
    response = client.post(
        "/login", data={"username": "chenmei", "password": "demo1234", "csrf_token": csrf_token(client)}
    )
    assert response.status_code == 303
    signed_in = client.get_cookie("session").value
    today_token = csrf_token(client, "/today")
    client.set_cookie("session", signed_in)  # the worker's fetch, begun before Today's answer,
    assert client.get("/outbox").status_code == 200  # ends after it: its cookie is the one kept
    answer = client.post("/device-token", headers={"X-CSRFToken": today_token})
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]


def test_a_refused_stale_form_leaves_no_new_session_behind(app, demo, client):
    """A phone's stale logout, refused, once set a new session cookie over the one the login
    page had just begun, and the login that followed was refused too."""
    token = csrf_token(client, "/login")  # the login page, its session begun
    stale = client.post("/logout", data={"csrf_token": "stale"})  # the phone's old logout, meanwhile
    assert stale.status_code == 400 and not stale.headers.getlist("Set-Cookie")
    signed_in = client.post("/login", data={"username": "chenmei", "password": "demo1234", "csrf_token": token})
    assert signed_in.status_code == 303
