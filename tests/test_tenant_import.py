"""Tenants and units from a spreadsheet: all or nothing, and the same file twice changes nothing."""

import io
import re

import sqlalchemy as sa

from foundation.org import Location, LocationKind, Site, Tenant
from tests.conftest import login, logout, post_form
from webapp.extensions import db

GOOD = (
    "site,floor,unit,tenant,contact_name,contact_phone,moved_in_on\n"
    "BY,12F,1203,华信咨询有限公司,孙经理,13900000011,2026-10-01\n"
    "BY,15F,1501,北辰会计师事务所,钱女士,13900000012,\n"
    "BY,12F,1201,瑞丰科技有限公司,周先生,13800000009,\n"
)


def _post(client, text: str, encoding: str = "utf-8-sig"):
    """Upload for a preview; if the preview offers to apply, apply it (the manager confirms)."""
    preview = post_form(
        client,
        "/people/tenants/import",
        {"file": (io.BytesIO(text.encode(encoding)), "tenants.csv")},
        token_from="/people/tenants/import",
        content_type="multipart/form-data",
    )
    fields = dict(re.findall(r'name="(sheet|filename|digest)"[^>]*value="([^"]*)"', preview.get_data(as_text=True)))
    if preview.status_code != 200 or not fields:
        return preview
    return post_form(client, "/people/tenants/import/apply", fields, token_from="/people/tenants/import")


def _counts(app):
    with app.app_context():
        units = db.session.scalar(
            sa.select(sa.func.count()).select_from(Location).where(Location.kind == LocationKind.UNIT)
        )
        return units, db.session.scalar(sa.select(sa.func.count()).select_from(Tenant))


def test_importing_tenants_adds_units_and_updates_contacts_once(app, client, demo):
    login(client, "wangjl")
    units, tenants = _counts(app)
    preview = post_form(
        client,
        "/people/tenants/import",
        {"file": (io.BytesIO(GOOD.encode("gb18030")), "tenants.csv")},
        token_from="/people/tenants/import",
        content_type="multipart/form-data",
    )
    assert "would add 2 units and 2 tenants, and update 1" in preview.get_data(as_text=True)
    assert _counts(app) == (units, tenants)  # a preview changes nothing
    done = _post(client, GOOD, encoding="gb18030")  # as Chinese Excel saves it
    assert done.status_code == 303
    assert "2 new units, 2 new tenants, 1 updated" in client.get("/people/tenants/import").get_data(as_text=True)
    assert _counts(app) == (units + 2, tenants + 2)
    with app.app_context():
        ruifeng = db.session.scalar(sa.select(Tenant).where(Tenant.name == "瑞丰科技有限公司"))
        assert ruifeng.contact_phone == "13800000009"
        floor = db.session.scalar(sa.select(Location).join(Site).where(Site.code == "BY", Location.name == "15F"))
        assert floor.kind == LocationKind.FLOOR
    again = _post(client, GOOD)
    assert again.status_code == 303 and _counts(app) == (units + 2, tenants + 2)
    assert "0 new units, 0 new tenants, 0 updated" in client.get("/people/tenants/import").get_data(as_text=True)


def test_one_bad_row_imports_nothing_and_names_the_row(app, client, demo):
    login(client, "wangjl")
    before = _counts(app)
    bad = GOOD + "XH,1F,102,新客户,,,\nZZ,1F,1,某公司,,,yesterday\n"
    response = _post(client, bad)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Line 5: No site with the code “XH” among yours: use BY." in html  # 王经理 works at BY only
    assert "Line 6: No site with the code “ZZ” among yours: use BY." in html
    assert "Line 6: moved_in_on is not a date like 2026-11-26." in html
    assert _counts(app) == before
    assert _post(client, "name,phone\n张三,1\n").status_code == 422
    logout(client)
    login(client, "liuxia")
    assert client.get("/people/tenants/import").status_code == 403
