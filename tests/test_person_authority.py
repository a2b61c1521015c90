"""Who may act on whom: every person action (edit, password reset, deactivation, device
revocation, an import that updates them) by every kind of actor, on people of one site and of
two, through the pages a manager uses. A manager of one site once took over the other site by
resetting the password of a guard who belonged to both."""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from foundation.base import utcnow
from foundation.org import Device, User
from foundation.roles import Role
from sync.tokens import issue_device_token
from tests import factories
from tests.conftest import csrf_token, login, post_form
from webapp.extensions import db


@dataclass
class World:
    ids: dict[str, int]
    devices: dict[str, str]
    sites: dict[str, int]


@pytest.fixture
def world(app) -> World:
    """Sites A and B; managers of A, of B and of both; an administrator; the people acted on."""
    with app.app_context():
        a, b = factories.site(db.session, code="A"), factories.site(db.session, code="B")
        people = {
            "admin": factories.person(db.session, role=Role.ADMIN, username="admin"),
            "manager_a": factories.person(db.session, a, role=Role.MANAGER, username="manager_a"),
            "manager_b": factories.person(db.session, b, role=Role.MANAGER, username="manager_b"),
            "manager_ab": factories.person(db.session, a, b, role=Role.MANAGER, username="manager_ab"),
            "guard_a": factories.person(db.session, a, role=Role.GUARD, username="guard_a"),
            "guard_ab": factories.person(db.session, a, b, role=Role.GUARD, username="guard_ab"),
            "other_admin": factories.person(db.session, role=Role.ADMIN, username="other_admin"),
        }
        devices = {
            name: str(issue_device_token(db.session, people[name], name="手机", user_agent="", now=utcnow())[0].id)
            for name in ("guard_a", "guard_ab", "other_admin")
        }
        db.session.commit()
        return World({k: v.id for k, v in people.items()}, devices, {"A": a.id, "B": b.id})


ACTED_ON = ["guard_a", "guard_ab", "other_admin"]
# Who each actor manages: the administrator everyone; a manager those whose every site is theirs.
MANAGES = {
    "admin": {"guard_a", "guard_ab", "other_admin"},
    "manager_ab": {"guard_a", "guard_ab"},
    "manager_a": {"guard_a"},
    "manager_b": set(),
}


def _hash(app, user_id: int) -> tuple[str, bool, str]:
    with app.app_context():
        user = db.session.get(User, user_id)
        return user.password_hash, user.active, user.display_name


def _revoked(app, device_id: str) -> bool:
    with app.app_context():
        return db.session.scalar(sa.select(Device.revoked_at).where(Device.id == uuid.UUID(device_id))) is not None


@pytest.mark.parametrize("actor", list(MANAGES))
def test_each_person_action_is_allowed_exactly_to_who_manages_every_site_of_the_person(app, client, world, actor):
    login(client, actor, factories.PASSWORD)
    for name in ACTED_ON:
        user_id, allowed = world.ids[name], name in MANAGES[actor]
        before = _hash(app, user_id)
        edit = post_form(
            client,
            f"/people/{user_id}",
            {"display_name": "被改名", "role": "manager", "department_id": 0, "sites": list(world.sites.values())},
            token_from="/people",
        )
        reset = post_form(client, f"/people/{user_id}/password", {"password": "taken-over-1"}, token_from="/people")
        deactivate = post_form(client, f"/people/{user_id}/active", {}, token_from="/people")
        revoke = post_form(client, f"/people/devices/{world.devices[name]}/revoke", {}, token_from="/people")
        after = _hash(app, user_id)
        if allowed:
            assert [r.status_code for r in (reset, deactivate, revoke)] == [303, 303, 303], (actor, name)
            assert edit.status_code in (303, 422), (actor, name)  # a manager may not give a site not theirs
            assert after[0] != before[0] and after[1] != before[1] and _revoked(app, world.devices[name])
        else:
            codes = [r.status_code for r in (edit, reset, deactivate, revoke)]
            assert codes == [404, 404, 404, 404], (actor, name, codes)
            assert after == before and not _revoked(app, world.devices[name]), (actor, name)


def test_a_manager_of_one_site_cannot_take_over_the_other_through_a_shared_guard(app, client, world):
    """The finding as it was reported: XH's manager edits the shared guard into a manager of
    both sites and resets the password; both are refused and the guard can still sign in."""
    login(client, "manager_a", factories.PASSWORD)
    guard = world.ids["guard_ab"]
    assert client.get(f"/people/{guard}").status_code == 404
    assert client.get(f"/people/{guard}/password").status_code == 404
    post_form(client, f"/people/{guard}/password", {"password": "taken-over-1"}, token_from="/people")
    client.post("/logout", data={})
    other = app.test_client()
    login(other, "guard_ab", factories.PASSWORD)
    assert other.get("/today").status_code == 200


@pytest.mark.parametrize("actor", list(MANAGES))
def test_an_import_updates_only_people_the_importer_manages(app, client, world, actor):
    login(client, actor, factories.PASSWORD)
    for name in ("guard_a", "guard_ab"):
        sheet = f"username,name,role,sites\n{name},改过的名字,guard,A\n".encode()
        preview = client.post(
            "/people/import",
            data={"csrf_token": csrf_token(client, "/people/import"), "file": (io.BytesIO(sheet), "people.csv")},
            content_type="multipart/form-data",
        )
        refused = f"{name} is not someone you manage." in preview.get_data(as_text=True)
        assert refused == (name not in MANAGES[actor]), (actor, name)


def test_the_people_list_shows_the_administrators_to_an_administrator(app, client, world):
    """Administrators belong to no site, so a list joined through sites left them out."""
    login(client, "admin", factories.PASSWORD)
    page = client.get("/people").get_data(as_text=True)
    assert f"/people/{world.ids['other_admin']}" in page and f"/people/{world.ids['guard_ab']}" in page
