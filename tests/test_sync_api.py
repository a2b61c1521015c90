"""The sync API against SYNC.md, on SQLite and PostgreSQL."""

import gc
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from foundation.org import Device
from foundation.photos import Photo, original_name
from inspections.records import Inspection
from sync.models import AppliedMutation
from tests.helpers import jpeg_bytes, sha
from tests.sync_client import (
    auth,
    get_token,
    inspection_payload,
    mutation,
    pull_all,
    push,
    put_photo,
    site_id_of,
    ticket_create,
)
from tickets.models import Ticket
from webapp.extensions import db


def count(app, model, *where) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def error_shape(response) -> dict:
    body = response.get_json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]


@pytest.fixture
def world(app, client, demo):
    """A cleaner's token and what the pull told her: the restroom standard and a restroom."""
    token = get_token(client, "chenmei")
    changes, cursor = pull_all(client, token)
    templates = {c["data"]["title"]: c["data"] for c in changes if c["entity"] == "template"}
    restroom = next(c["data"] for c in changes if c["entity"] == "location" and c["data"]["area_type"] == "restroom")
    return {
        "token": token,
        "template": templates["清洁标准：卫生间"],
        "restroom": restroom,
        "cursor": cursor,
        "changes": changes,
    }


def restroom_check(world, **kwargs) -> dict:
    return inspection_payload(world["template"], world["restroom"]["id"], world["restroom"]["site_id"], **kwargs)


# --- tokens ---------------------------------------------------------------------------------


def test_token_for_good_credentials_names_the_user_and_sites(client, demo):
    response = client.post(
        "/api/v1/auth/token", json={"username": "chenmei", "password": "demo1234", "device_name": "陈梅的手机"}
    )
    body = response.get_json()
    assert response.status_code == 201
    assert body["user"]["username"] == "chenmei" and body["user"]["role"] == "cleaner"
    assert len(body["user"]["site_ids"]) == 1 and uuid.UUID(body["device_id"])


def test_wrong_credentials_then_rate_limited(app, client, demo):
    for _ in range(5):
        response = client.post(
            "/api/v1/auth/token", json={"username": "chenmei", "password": "guess", "device_name": "x"}
        )
        assert response.status_code == 401 and error_shape(response)["code"] == "wrong_credentials"
    response = client.post(
        "/api/v1/auth/token", json={"username": "chenmei", "password": "demo1234", "device_name": "x"}
    )
    assert response.status_code == 429 and error_shape(response)["code"] == "too_many_attempts"


def test_many_usernames_tried_from_one_address_are_rate_limited_there_only(app, client, demo):
    from foundation.people import LOGIN_MAX_FAILURES_PER_ADDRESS

    def token(username, password, address):
        return client.post(
            "/api/v1/auth/token",
            json={"username": username, "password": password, "device_name": "x"},
            environ_base={"REMOTE_ADDR": address},
        )

    # Fewer than five tries at each name, so no single account is locked.
    for n in range(LOGIN_MAX_FAILURES_PER_ADDRESS):
        assert token(f"guess{n % 10}", "guess", "203.0.113.7").status_code == 401
    response = token("chenmei", "demo1234", "203.0.113.7")
    assert response.status_code == 429 and error_shape(response)["code"] == "too_many_attempts"
    assert token("chenmei", "demo1234", "198.51.100.2").status_code == 201


def test_tokens_are_stored_hashed(app, client, demo):
    token = get_token(client, "chenmei")
    with app.app_context():
        stored = db.session.scalar(sa.select(Device.token_hash))
    assert token not in stored and stored == __import__("hashlib").sha256(token.encode()).hexdigest()


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic abc"])
def test_missing_or_unknown_tokens_get_401(client, demo, header):
    headers = {"Authorization": header} if header else {}
    response = client.get("/api/v1/sync/pull", headers=headers)
    assert response.status_code == 401 and error_shape(response)["code"] == "unauthorized"


def test_a_revoked_token_stops_at_once(client, demo):
    token = get_token(client, "chenmei")
    assert client.get("/api/v1/sync/pull", headers=auth(token)).status_code == 200
    assert client.delete("/api/v1/auth/token", headers=auth(token)).status_code == 204
    assert client.get("/api/v1/sync/pull", headers=auth(token)).status_code == 401


def test_a_disabled_persons_token_stops_at_once(app, client, demo):
    token = get_token(client, "chenmei")
    with app.app_context():
        from foundation.org import User

        db.session.scalar(sa.select(User).where(User.username == "chenmei")).active = False
        db.session.commit()
    assert client.get("/api/v1/sync/pull", headers=auth(token)).status_code == 401


# --- push -----------------------------------------------------------------------------------


@pytest.mark.photos
def test_an_inspection_with_a_failed_item_opens_one_ticket_and_awaits_its_photo(app, client, world):
    photo = jpeg_bytes()
    result = push(
        client,
        world["token"],
        [mutation("inspection.submit", restroom_check(world, fail="odour", photos=[sha(photo)]))],
    )
    [outcome] = result.get_json()["results"]
    assert result.status_code == 200
    assert outcome["status"] == "applied"
    assert outcome["missing_photos"] == [sha(photo)]
    [number] = outcome["entity"]["tickets"]
    assert number.startswith("BY-")
    assert client.head(f"/api/v1/photos/{sha(photo)}", headers=auth(world["token"])).status_code == 404
    assert put_photo(client, world["token"], photo).status_code == 201
    assert put_photo(client, world["token"], photo).status_code == 200
    assert client.head(f"/api/v1/photos/{sha(photo)}", headers=auth(world["token"])).status_code == 200
    assert count(app, Inspection) == 1 and count(app, Ticket, Ticket.number == number) == 1


def test_the_same_mutation_twice_is_a_duplicate_with_the_first_outcome(app, client, world):
    sent = mutation("inspection.submit", restroom_check(world, fail="mirrors", photos=["ab" * 32]))
    first = push(client, world["token"], [sent]).get_json()["results"][0]
    again = push(client, world["token"], [sent]).get_json()["results"][0]
    assert first["status"] == "applied" and again["status"] == "duplicate"
    assert again["entity"] == first["entity"] and again["first_status"] == "applied"
    assert count(app, Inspection) == 1 and count(app, Ticket, Ticket.kind == "rework") == 1


def test_the_same_record_under_another_mutation_id_is_a_duplicate(app, client, world):
    payload = restroom_check(world)
    first = push(client, world["token"], [mutation("inspection.submit", payload)]).get_json()["results"][0]
    second = push(client, world["token"], [mutation("inspection.submit", payload)]).get_json()["results"][0]
    assert (first["status"], second["status"]) == ("applied", "duplicate")
    assert count(app, Inspection) == 1


def _race(app, calls):
    """Run each call in its own thread at the same moment; return their responses."""
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def run(n, call):
        client = app.test_client()
        barrier.wait()
        results[n] = call(client)

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_the_same_mutation_from_two_threads_applies_once(app, world):
    sent = mutation("inspection.submit", restroom_check(world, fail="odour", photos=["cd" * 32]))
    responses = _race(app, [lambda c: push(c, world["token"], [sent])] * 2)
    statuses = sorted(r.get_json()["results"][0]["status"] for r in responses)
    assert statuses == ["applied", "duplicate"]
    assert count(app, Inspection) == 1 and count(app, Ticket, Ticket.kind == "rework") == 1
    assert count(app, AppliedMutation) == 1


def test_the_same_record_from_two_devices_at_once_applies_once(app, client, world):
    """Two phones of one person (one restored from the other's backup) send the same record at
    the same moment: no device row serialises them, so the database's unique keys decide (on
    PostgreSQL the two transactions really overlap, and the loser's insert fails there)."""
    other_phone = get_token(client, "chenmei", device_name="备用手机")
    payload = restroom_check(world, fail="odour", photos=["cd" * 32])
    responses = _race(
        app,
        [
            lambda c: push(c, world["token"], [mutation("inspection.submit", payload)]),
            lambda c: push(c, other_phone, [mutation("inspection.submit", payload)]),
        ],
    )
    statuses = sorted(r.get_json()["results"][0]["status"] for r in responses)
    assert statuses == ["applied", "duplicate"]
    assert count(app, Inspection) == 1 and count(app, Ticket, Ticket.kind == "rework") == 1


def test_the_same_record_from_two_threads_under_two_ids_applies_once(app, world):
    payload = restroom_check(world)
    responses = _race(
        app,
        [
            lambda c: push(c, world["token"], [mutation("inspection.submit", payload)]),
            lambda c: push(c, world["token"], [mutation("inspection.submit", payload)]),
        ],
    )
    statuses = sorted(r.get_json()["results"][0]["status"] for r in responses)
    assert statuses == ["applied", "duplicate"]
    assert count(app, Inspection) == 1


def test_interleaved_batches_from_several_devices(app, client, world):
    other = get_token(client, "zhaoling")  # the cleaning lead, on another phone
    checks = [restroom_check(world) for _ in range(6)]
    mine = [mutation("inspection.submit", c) for c in checks[:3]]
    hers = [mutation("inspection.submit", c) for c in checks[3:]]
    batches = [
        (world["token"], [mine[2], mine[0]]),
        (other, [hers[1]]),
        (world["token"], [mine[1], mine[0]]),
        (other, [hers[0], hers[2], hers[1]]),
    ]
    statuses = [r["status"] for token, batch in batches for r in push(client, token, batch).get_json()["results"]]
    assert statuses == ["applied", "applied", "applied", "applied", "duplicate", "applied", "applied", "duplicate"]
    assert count(app, Inspection) == 6


def test_one_rejected_mutation_does_not_block_the_others(app, client, world):
    good, bad = restroom_check(world), restroom_check(world)
    bad["answers"][0]["value"] = 42
    results = push(
        client, world["token"], [mutation("inspection.submit", bad), mutation("inspection.submit", good)]
    ).get_json()["results"]
    assert [r["status"] for r in results] == ["rejected", "applied"]
    assert results[0]["error"]["code"] == "invalid_answers"
    assert results[0]["error"]["details"] == {"fixtures": "bad_value"}
    assert count(app, Inspection) == 1


def test_a_mixed_batch_keeps_each_mutations_fate_and_order(app, client, world):
    """Plain inspections are written together, the rest one by one: a phone sees no difference."""
    plain = [mutation("inspection.submit", restroom_check(world)) for _ in range(3)]
    failing = mutation("inspection.submit", restroom_check(world, fail="odour", photos=["ab" * 32]))
    bad = restroom_check(world)
    bad["answers"][0]["value"] = 42
    same_record = mutation("inspection.submit", plain[0]["payload"])  # another id, the same record
    batch = [plain[0], plain[1], mutation("inspection.submit", bad), failing, plain[0], plain[2], same_record]
    results = push(client, world["token"], batch).get_json()["results"]
    assert [r["id"] for r in results] == [m["id"] for m in batch], results
    assert [r["status"] for r in results] == [
        "applied", "applied", "rejected", "applied", "duplicate", "applied", "duplicate"
    ], results  # fmt: skip
    assert results[4] == {**results[0], "status": "duplicate", "first_status": "applied"}  # the first outcome
    assert len(results[3]["entity"]["tickets"]) == 1 and results[0]["entity"]["tickets"] == []
    assert count(app, Inspection) == 4 and count(app, AppliedMutation) == 5
    again = push(client, world["token"], batch).get_json()["results"]  # the whole batch resent
    assert [r["status"] for r in again] == ["duplicate"] * 2 + ["rejected"] + ["duplicate"] * 4
    assert count(app, Inspection) == 4


def test_a_rejected_mutation_may_be_sent_again_once_fixed(app, client, world):
    payload = restroom_check(world)
    payload["answers"] = payload["answers"][1:]
    sent = mutation("inspection.submit", payload)
    assert push(client, world["token"], [sent]).get_json()["results"][0]["status"] == "rejected"
    sent["payload"] = restroom_check(world, inspection_id=payload["inspection_id"])
    assert push(client, world["token"], [sent]).get_json()["results"][0]["status"] == "applied"


def _reject_cases(world):
    other_site = restroom_check(world)
    other_site["site_id"] = 999
    unknown_item = restroom_check(world)
    unknown_item["answers"].append({"item_id": "no_such", "value": "pass"})
    extra_field = restroom_check(world)
    extra_field["mood"] = "happy"
    missing = restroom_check(world)
    del missing["started_at"]
    naive_time = restroom_check(world)
    naive_time["finished_at"] = "2026-11-26T10:00:00"
    bad_photo = restroom_check(world, fail="odour", photos=["not-a-hash"])
    return [
        (mutation("inspection.submit", unknown_item), "invalid_answers"),
        (mutation("inspection.submit", other_site), "site_forbidden"),
        (mutation("inspection.submit", extra_field), "invalid_payload"),
        (mutation("inspection.submit", missing), "invalid_payload"),
        (mutation("inspection.submit", naive_time), "invalid_payload"),
        (mutation("inspection.submit", bad_photo), "invalid_payload"),
        (mutation("inspection.teleport", {}), "unknown_type"),
        (mutation("ticket.comment", {"ticket_id": str(uuid.uuid4()), "text": "hi"}), "unknown_ticket"),
        (
            mutation(
                "ticket.create",
                {
                    "ticket_id": str(uuid.uuid4()),
                    "kind": "complaint",
                    "title": "x",
                    "site_id": world["restroom"]["site_id"],
                },
            ),
            "kind_forbidden",
        ),
    ]


def test_every_validation_rule_rejects_and_stores_nothing(app, client, world):
    cases = _reject_cases(world)
    results = push(client, world["token"], [m for m, _ in cases]).get_json()["results"]
    assert [(r["status"], r["error"]["code"]) for r in results] == [("rejected", code) for _, code in cases]
    assert count(app, Inspection) == 0 and count(app, AppliedMutation) == 0
    assert count(app, Ticket) == 4  # the demo's own


@pytest.mark.parametrize(
    "body, status, code",
    [
        (b"{not json", 400, "malformed_json"),
        (b'{"device_time": 5, "mutations": []}', 422, "invalid_body"),
        (b'{"device_time": "2026-11-26T10:00:00+08:00", "mutations": "all"}', 422, "invalid_body"),
        (b"[]", 422, "invalid_body"),
    ],
)
def test_malformed_pushes_are_4xx_in_the_documented_shape(client, world, body, status, code):
    response = client.post(
        "/api/v1/sync/push", data=body, headers={**auth(world["token"]), "Content-Type": "application/json"}
    )
    assert response.status_code == status and error_shape(response)["code"] == code
    assert gc.isenabled()  # paused for the batch, back on after a refusal too


def test_501_mutations_are_too_many(app, client, world):
    mutations = [mutation("inspection.submit", restroom_check(world)) for _ in range(501)]
    response = push(client, world["token"], mutations)
    assert response.status_code == 413 and error_shape(response)["code"] == "too_many_mutations"
    assert count(app, Inspection) == 0
    assert gc.isenabled()


def test_a_device_clock_an_hour_off_is_flagged(app, client, world):
    result = push(
        client,
        world["token"],
        [mutation("inspection.submit", restroom_check(world))],
        device_time=datetime.now(timezone.utc) + timedelta(hours=1),
    ).get_json()["results"][0]
    assert result["entity"]["clock_flagged"] is True
    with app.app_context():
        device = db.session.scalar(sa.select(Device))
        assert abs(device.clock_offset_ms - 3_600_000) < 60_000


def test_a_phone_whose_clock_reset_to_2000_still_syncs_and_is_flagged(app, client, world):
    # A flat battery sends some phones back to 1 January 2000: 27 years off does not fit an int32.
    response = push(
        client,
        world["token"],
        [mutation("inspection.submit", restroom_check(world))],
        device_time=datetime(2000, 1, 1, tzinfo=timezone.utc),
    )
    assert response.status_code == 200
    assert response.get_json()["results"][0]["entity"]["clock_flagged"] is True
    with app.app_context():
        assert db.session.scalar(sa.select(Device.clock_offset_ms)) < -800_000_000_000


def _ticket(client, token, number):
    changes, _ = pull_all(client, token)
    return next(c["data"] for c in changes if c["entity"] == "ticket" and c["data"]["number"] == number)


def test_a_stale_transition_that_no_longer_makes_sense_is_a_conflict(client, demo):
    engineer, lead = get_token(client, "lihua"), get_token(client, "wangjl")
    leak = _ticket(client, engineer, "BY-20261126-0001")  # assigned to the engineer
    start = push(
        client,
        engineer,
        [
            mutation(
                "ticket.transition", {"ticket_id": leak["id"], "to": "in_progress", "base_version": leak["version"]}
            )
        ],
    ).get_json()["results"][0]
    assert start["status"] == "applied"
    resolved = push(
        client,
        engineer,
        [
            mutation(
                "ticket.transition",
                {"ticket_id": leak["id"], "to": "resolved", "base_version": start["entity"]["version"]},
            )
        ],
    ).get_json()
    closed = push(
        client,
        lead,
        [
            mutation(
                "ticket.transition",
                {"ticket_id": leak["id"], "to": "closed", "base_version": resolved["results"][0]["entity"]["version"]},
            )
        ],
    ).get_json()["results"][0]
    assert closed["status"] == "applied"
    # The engineer's phone still thinks it is in progress and adds a second "resolved".
    stale_mutation = mutation(
        "ticket.transition", {"ticket_id": leak["id"], "to": "in_progress", "base_version": start["entity"]["version"]}
    )
    stale = push(client, engineer, [stale_mutation]).get_json()
    result = stale["results"][0]
    assert result["status"] == "conflict"
    assert result["entity"]["state"] == "closed"
    # The answer was lost; meanwhile the lead reopened the leak. The phone sends its change again:
    # still refused, and told how the ticket stands now (not a "duplicate" it would take for sent).
    reopened = push(
        client,
        lead,
        [
            mutation(
                "ticket.transition",
                {"ticket_id": leak["id"], "to": "in_progress", "base_version": closed["entity"]["version"]},
            )
        ],
    ).get_json()["results"][0]
    assert reopened["status"] == "applied"
    again = push(client, engineer, [stale_mutation]).get_json()["results"][0]
    assert again["status"] == "conflict"
    assert (again["entity"]["state"], again["entity"]["version"]) == ("in_progress", reopened["entity"]["version"])


def test_a_stale_transition_that_still_makes_sense_is_applied(client, demo):
    engineer, lead = get_token(client, "lihua"), get_token(client, "wangjl")
    leak = _ticket(client, engineer, "BY-20261126-0001")
    push(client, lead, [mutation("ticket.comment", {"ticket_id": leak["id"], "text": "材料已到"})])
    result = push(
        client,
        engineer,
        [
            mutation(
                "ticket.transition", {"ticket_id": leak["id"], "to": "in_progress", "base_version": leak["version"]}
            )
        ],
    ).get_json()["results"][0]
    assert result["status"] == "applied" and result["entity"]["state"] == "in_progress"


def test_a_write_the_database_refuses_is_rejected_with_its_reason_not_called_a_duplicate(app, client, demo):
    """Only the same mutation, or the same record, is a duplicate: any other rule the database
    enforces (here one the test adds) rejects that mutation, which the phone keeps to be fixed,
    and the rest of the batch is applied."""
    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            db.session.execute(sa.text("ALTER TABLE ticket ADD CONSTRAINT no_test_title CHECK (title <> '禁止的标题')"))
        else:
            db.session.execute(
                sa.text(
                    "CREATE TRIGGER no_test_title BEFORE INSERT ON ticket WHEN NEW.title = '禁止的标题' "
                    "BEGIN SELECT RAISE(ABORT, 'no_test_title'); END"
                )
            )
        db.session.commit()
    guard = get_token(client, "zhangwei")
    site_id = site_id_of(app, "BY")
    refused, fine = ticket_create(site_id, "禁止的标题"), ticket_create(site_id, "楼梯灯不亮")
    results = push(client, guard, [refused, fine]).get_json()["results"]
    assert [r["status"] for r in results] == ["rejected", "applied"]
    assert results[0]["error"]["code"] == "not_stored"
    assert count(app, Ticket, Ticket.title == "禁止的标题") == 0
    assert count(app, AppliedMutation, AppliedMutation.id == uuid.UUID(refused["id"])) == 0  # may come again


def test_a_ticket_reported_from_the_field(app, client, demo):
    guard = get_token(client, "zhangwei")
    changes, _ = pull_all(client, guard)
    checkpoint = next(c["data"] for c in changes if c["entity"] == "location" and c["data"]["kind"] == "checkpoint")
    ticket_id = str(uuid.uuid4())
    payload = {
        "ticket_id": ticket_id,
        "kind": "hazard",
        "title": "B3 消防门被杂物堵住",
        "site_id": checkpoint["site_id"],
        "location_id": checkpoint["id"],
        "priority": "high",
        "geo": {"lat": 39.98765, "lon": 116.31234, "accuracy_m": 30},
    }
    first = push(client, guard, [mutation("ticket.create", payload)]).get_json()["results"][0]
    again = push(client, guard, [mutation("ticket.create", payload)]).get_json()["results"][0]
    assert first["status"] == "applied" and first["entity"]["kind"] == "hazard"
    assert again["status"] == "duplicate"
    assert count(app, Ticket, Ticket.title == "B3 消防门被杂物堵住") == 1
    from tests.conftest import login

    login(client, "zhangwei")
    page = client.get(f"/tickets/{first['entity']['number']}").get_data(as_text=True)
    assert "39.98765, 116.31234 (within 30 m)" in page  # where the guard stood


# --- photos ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, name, content_type, status, code",
    [
        (jpeg_bytes(), "0" * 64, "image/jpeg", 400, "photo_hash_mismatch"),
        (b"plain text", None, "image/jpeg", 415, "photo_not_an_image"),
        (jpeg_bytes(), None, "text/plain", 415, "photo_unsupported_type"),
        (jpeg_bytes()[:700], None, "image/jpeg", 415, "photo_not_an_image"),
        (jpeg_bytes(), "NOT-HEX", "image/jpeg", 400, "bad_photo_name"),
    ],
)
@pytest.mark.photos
def test_refused_photo_uploads_store_nothing(app, client, world, data, name, content_type, status, code):
    response = client.put(
        f"/api/v1/photos/{name or sha(data)}", data=data, headers={**auth(world["token"]), "Content-Type": content_type}
    )
    assert response.status_code == status and error_shape(response)["code"] == code
    assert count(app, Photo) == 0 and not app.extensions["photo_store"].exists(original_name(sha(data)))


@pytest.mark.photos
def test_photos_over_the_limits(app, client, world):
    app.config["PHOTO_MAX_BYTES"] = 5000
    big = jpeg_bytes((900, 900), color="#123456") + b"\0" * 6000
    assert put_photo(client, world["token"], big).status_code == 413
    app.config["PHOTO_MAX_BYTES"] = 15 * 1024 * 1024
    app.config["PHOTO_MAX_PIXELS"] = 1000
    response = put_photo(client, world["token"], jpeg_bytes((100, 100)))
    assert response.status_code == 422 and error_shape(response)["code"] == "photo_too_many_pixels"
    assert count(app, Photo) == 0


# --- pull -----------------------------------------------------------------------------------


def test_pull_from_the_beginning_has_what_the_person_needs(world):
    entities = {c["entity"] for c in world["changes"]}
    assert {"site", "location", "template", "assignment"} <= entities
    template = world["template"]
    item = template["sections"][0]["items"][0]
    assert template["kind"] == "cleaning" and template["version"] == 1
    assert {"id", "label", "type", "required", "photo_on_fail", "min", "max"} <= set(item)
    assert all("site_id" in c["data"] for c in world["changes"] if c["entity"] != "template")
    # A cleaner sees no checkpoint codes and no patrol routes.
    assert "route" not in entities


def test_pull_returns_only_what_changed_since_the_cursor(app, client, world):
    changes, cursor = pull_all(client, world["token"], world["cursor"])
    assert changes == []
    push(
        client, world["token"], [mutation("inspection.submit", restroom_check(world, fail="odour", photos=["ef" * 32]))]
    )
    changes, _ = pull_all(client, world["token"], cursor)
    assert [(c["entity"], c["data"]["kind"]) for c in changes] == [("ticket", "rework")]


def test_a_device_that_keeps_no_copy_starts_from_now(client, world):
    """The phone keeps no copy of the server's data: its first pull (``from=now``, an extension)
    downloads none of the site's history, and the next brings only what changed since."""
    now = client.get("/api/v1/sync/pull?from=now", headers=auth(world["token"])).get_json()
    assert now["changes"] == [] and now["has_more"] is False and "reset" not in now
    assert pull_all(client, world["token"], now["cursor"])[0] == []
    failed = restroom_check(world, fail="odour", photos=["ef" * 32])
    [result] = push(client, world["token"], [mutation("inspection.submit", failed)]).get_json()["results"]
    assert result["status"] == "applied"
    changes, _ = pull_all(client, world["token"], now["cursor"])
    assert [(c["entity"], c["data"]["kind"]) for c in changes] == [("ticket", "rework")]
    wrong = client.get("/api/v1/sync/pull?from=yesterday", headers=auth(world["token"]))
    assert wrong.status_code == 400 and error_shape(wrong)["code"] == "bad_from"


def test_pull_pages_with_has_more(client, world):
    first = client.get("/api/v1/sync/pull?limit=5", headers=auth(world["token"])).get_json()
    assert first["has_more"] is True and len(first["changes"]) <= 5
    rest, _ = pull_all(client, world["token"], first["cursor"])
    paged = {(c["entity"], c["id"]) for c in first["changes"] + rest}
    assert paged == {(c["entity"], c["id"]) for c in world["changes"]}


def test_a_person_pulls_nothing_of_another_site(client, demo):
    token = get_token(client, "sunqiang")  # a guard at XH
    changes, _ = pull_all(client, token)
    by_site = {c["data"].get("site_id") for c in changes if c["entity"] != "template"}
    assert by_site == {2}
    assert not any(c["entity"] == "ticket" and c["data"]["number"].startswith("BY-") for c in changes)


@pytest.mark.parametrize("query", ["cursor=garbage", "cursor=c1.x", "limit=0", "limit=abc"])
def test_bad_pull_parameters(client, world, query):
    response = client.get(f"/api/v1/sync/pull?{query}", headers=auth(world["token"]))
    assert response.status_code == 400 and error_shape(response)["code"] in ("bad_cursor", "bad_limit")


def test_unknown_api_routes_answer_json(client):
    response = client.get("/api/v1/nothing")
    assert response.status_code == 404 and error_shape(response)["code"] == "not_found"


def test_the_openapi_document_describes_the_contract(client):
    document = client.get("/api/openapi.json").get_json()
    assert document["openapi"].startswith("3.")
    assert {"/api/v1/auth/token", "/api/v1/sync/push", "/api/v1/sync/pull", "/api/v1/photos/{sha256}"} <= set(
        document["paths"]
    )
    schemas = document["components"]["schemas"]
    assert {"PushRequest", "PushResponse", "PullResponse", "InspectionSubmission", "ErrorResponse"} <= set(schemas)


# --- evidence and position on the record page -------------------------------------------------
@pytest.mark.photos
def test_a_record_whose_photos_are_still_on_the_phone_says_so_until_they_arrive(app, client, world):
    from tests.conftest import login

    first, second = jpeg_bytes(color="#a86"), jpeg_bytes(color="#68a")
    check = restroom_check(world, fail="odour", photos=[sha(first), sha(second)])
    check["geo"] = {"lat": 22.54321, "lon": 114.05432, "accuracy_m": 12}
    [outcome] = push(client, world["token"], [mutation("inspection.submit", check)]).get_json()["results"]
    assert put_photo(client, world["token"], first).status_code == 201
    login(client, "wangjl")  # the site's manager
    page = client.get(f"/inspections/{outcome['entity']['inspection_id']}").get_data(as_text=True)
    assert "1 of 2 photos received; 1 still on the phone that sent this" in page
    assert "22.54321, 114.05432 (within 12 m)" in page
    dashboard = client.get("/console").get_data(as_text=True)
    assert 'id="awaiting-photos"' in dashboard and "1 missing for" in dashboard

    assert put_photo(client, world["token"], second).status_code == 201
    page = client.get(f"/inspections/{outcome['entity']['inspection_id']}").get_data(as_text=True)
    assert "photos received" not in page
    assert 'id="awaiting-photos"' not in client.get("/console").get_data(as_text=True)


def test_a_refused_position_is_recorded_as_refused_and_blocks_nothing(app, client, world):
    from tests.conftest import login

    check = restroom_check(world)
    check["geo_status"] = "denied"
    [outcome] = push(client, world["token"], [mutation("inspection.submit", check)]).get_json()["results"]
    assert outcome["status"] == "applied"
    bad = restroom_check(world)
    bad["geo_status"] = "maybe"
    [refused] = push(client, world["token"], [mutation("inspection.submit", bad)]).get_json()["results"]
    assert refused["status"] == "rejected"
    login(client, "wangjl")
    page = client.get(f"/inspections/{outcome['entity']['inspection_id']}").get_data(as_text=True)
    assert "the person did not share the phone" in page and "s position" in page
