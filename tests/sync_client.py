"""A small client of the sync API, written against SYNC.md alone, for the tests."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timezone

import sqlalchemy as sa

from tests.helpers import NOW


def get_token(client, username: str, password: str = "demo1234", device_name: str = "测试手机") -> str:
    response = client.post(
        "/api/v1/auth/token", json={"username": username, "password": password, "device_name": device_name}
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["token"]


def auth(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def push(client, token: str, mutations: list[dict], device_time: datetime | None = None):
    device_time = device_time or datetime.now(timezone.utc)
    return client.post(
        "/api/v1/sync/push", json={"device_time": device_time.isoformat(), "mutations": mutations}, headers=auth(token)
    )


def mutation(type_: str, payload: dict, mutation_id: str | None = None) -> dict:
    return {"id": mutation_id or str(uuid.uuid4()), "type": type_, "payload": payload}


def pull_all(client, token: str, cursor: str | None = None, limit: int = 200) -> tuple[list[dict], str]:
    changes = []
    while True:
        query = f"?limit={limit}" + (f"&cursor={cursor}" if cursor else "")
        body = client.get(f"/api/v1/sync/pull{query}", headers=auth(token)).get_json()
        changes += body["changes"]
        cursor = body["cursor"]
        if not body["has_more"]:
            return changes, cursor


def put_photo(client, token: str, data: bytes, content_type: str = "image/jpeg"):
    sha = hashlib.sha256(data).hexdigest()
    return client.put(f"/api/v1/photos/{sha}", data=data, headers={**auth(token), "Content-Type": content_type})


def inspection_payload(
    template: dict,
    location_id: int,
    site_id: int,
    fail: str | None = None,
    photos: list[str] = (),
    inspection_id: str | None = None,
) -> dict:
    answers = []
    for section in template["sections"]:
        for item in section["items"]:
            value = "fail" if item["id"] == fail else "pass"
            answers.append(
                {"item_id": item["id"], "value": value, "photos": list(photos) if item["id"] == fail else []}
            )
    return {
        "inspection_id": inspection_id or str(uuid.uuid4()),
        "template_id": template["id"],
        "template_version": template["version"],
        "site_id": site_id,
        "location_id": location_id,
        "started_at": NOW.isoformat(),
        "finished_at": NOW.isoformat(),
        "answers": answers,
    }


def site_id_of(app, code: str) -> int:
    from foundation.org import Site
    from webapp.extensions import db

    with app.app_context():
        return db.session.scalar(sa.select(Site.id).where(Site.code == code))


def ticket_create(site_id: int, title: str = "走廊灯不亮", photos=()) -> dict:
    """A phone's report of a repair (a ``ticket.create`` mutation)."""
    return mutation(
        "ticket.create",
        {"ticket_id": str(uuid.uuid4()), "kind": "repair", "title": title, "site_id": site_id, "photos": list(photos)},
    )
