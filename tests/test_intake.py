"""The desk takes complaints and repairs on the phone; paid services are flagged with their
price; a second call about an open problem joins its ticket."""

import io

import pytest
import sqlalchemy as sa

from foundation.org import Location, Site, Tenant
from tests.conftest import login, logout, post_form
from tests.helpers import jpeg_bytes
from tickets.models import ServiceItem, Ticket
from webapp.extensions import db


def _ids(app):
    with app.app_context():
        unit = db.session.scalar(sa.select(Location).join(Site).where(Site.code == "BY", Location.name == "2201"))
        tenant = db.session.scalar(sa.select(Tenant).where(Tenant.unit_id == unit.id))
        items = {i.name: i.id for i in db.session.scalars(sa.select(ServiceItem))}
        return unit.id, tenant.id, items


def _call(unit_id, tenant_id, **extra):
    return {
        "kind": "repair",
        "location_id": unit_id,
        "tenant_id": tenant_id,
        "contact_name": "吴女士",
        "contact_phone": "13800000002",
        "title": "茶水间水龙头漏水",
        "description": "水龙头关不紧，一直滴水",
        "available": "工作日 9:00–17:00",
        "priority": "normal",
        **extra,
    }


@pytest.mark.photos
def test_a_paid_repair_is_flagged_with_its_price_and_carries_the_contact(app, client, demo):
    unit_id, tenant_id, items = _ids(app)
    login(client, "liuxia")
    response = post_form(
        client,
        "/tickets/new",
        {
            **_call(unit_id, tenant_id, service_item_id=items["单元内更换水龙头"]),
            "photos": (io.BytesIO(jpeg_bytes()), "tap.jpg"),
        },
        token_from="/tickets/new",
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "paid service ¥80.00" in page and "吴女士" in page and "13800000002" in page and "工作日 9:00–17:00" in page
    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket).where(Ticket.title == "茶水间水龙头漏水"))
        assert (ticket.kind, ticket.price_cents, ticket.department.code, len(ticket.photos)) == (
            "repair",
            8_000,
            "engineering",
            1,
        )
        assert ticket.tenant.name == "恒信律师事务所"


def test_a_second_call_about_the_same_open_problem_joins_its_ticket(app, client, demo):
    unit_id, tenant_id, items = _ids(app)
    login(client, "liuxia")
    first = post_form(client, "/tickets/new", _call(unit_id, tenant_id), token_from="/tickets/new")
    number = first.headers["Location"].rsplit("/", 1)[1]
    again = post_form(
        client,
        "/tickets/new",
        _call(unit_id, tenant_id, contact_name="周先生", title="还在漏水"),
        token_from="/tickets/new",
    )
    assert again.status_code == 409
    offer = again.get_data(as_text=True)
    assert number in offer and "Add this call to" in offer
    joined = post_form(
        client,
        "/tickets/new",
        _call(unit_id, tenant_id, contact_name="周先生", title="还在漏水", decision="join"),
        token_from="/tickets/new",
    )
    assert joined.headers["Location"].endswith(number)
    with app.app_context():
        repairs = db.session.scalars(
            sa.select(Ticket).where(Ticket.location_id == unit_id, Ticket.kind == "repair")
        ).all()
        assert len(repairs) == 1 and [e.action for e in repairs[0].events] == ["created", "reported"]
    separate = post_form(
        client, "/tickets/new", _call(unit_id, tenant_id, title="另一个问题", decision="new"), token_from="/tickets/new"
    )
    assert separate.status_code == 303 and not separate.headers["Location"].endswith(number)


def test_a_call_with_missing_or_bad_fields_shows_what_to_fix_and_opens_nothing(app, client, demo):
    unit_id, tenant_id, _ = _ids(app)
    login(client, "liuxia")
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(Ticket))
    bad = post_form(
        client,
        "/tickets/new",
        _call(unit_id, tenant_id, contact_phone="abc", title="", kind="wish"),
        token_from="/tickets/new",
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "A phone number." in html and "This field is required." in html
    assert "Not a valid choice" in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == before
    assert (
        "<script>"
        not in post_form(
            client,
            "/tickets/new",
            _call(unit_id, tenant_id, title="<script>x</script>", contact_phone=""),
            token_from="/tickets/new",
        )
        .get_data(as_text=True)
        .split("</header>", 1)[1]
    )
    logout(client)
    login(client, "lihua")
    assert client.get("/tickets/new").status_code == 403
