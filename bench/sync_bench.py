"""Sync throughput and pull cost.

push: 5,000 inspections of 20 answers from 20 phones in batches of 100, through the real push
endpoint (in-process, no sockets), against a bulk insert of the same rows with SQLAlchemy Core
in the same run: the practical limit of the database.
push over HTTP: 20 phones against gunicorn (4 workers) on PostgreSQL, one at a time and four at once.
pull: the time to pull the last 50 changes after 1,000 and after 100,000 recorded changes.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from bench.world import AppServer, build_app, fresh_database_url, populate
from foundation.org import User
from inspections.records import Answer, Inspection
from sync.changes import PullCursor
from sync.entities import scope_of
from sync.models import Change
from webapp.access import visible_site_ids
from webapp.extensions import db

NOW = datetime(2026, 11, 26, 2, 0, tzinfo=timezone.utc)


def _payload(world, n: int) -> dict:
    answers = [{"item_id": f"i{k:02d}", "value": "pass"} for k in range(world["items"])]
    at = (NOW + timedelta(seconds=n)).isoformat()
    return {
        "inspection_id": str(uuid.uuid4()),
        "template_id": world["template_id"],
        "template_version": 1,
        "site_id": world["site_id"],
        "location_id": world["location_id"],
        "started_at": at,
        "finished_at": at,
        "answers": answers,
    }


def bench_push(kind: str, postgres_url: str | None, folder, inspections: int = 5000, batch: int = 100) -> dict:
    app = build_app(fresh_database_url(kind, postgres_url, folder), folder)
    world = populate(app)
    client = app.test_client()
    phones = [
        client.post("/api/v1/auth/token", json={"username": u, "password": "bench-pass", "device_name": "b"}).get_json()
        for u in world["usernames"]
    ]
    tokens = [phone["token"] for phone in phones]
    batches = []
    for start in range(0, inspections, batch):
        mutations = [
            {"id": str(uuid.uuid4()), "type": "inspection.submit", "payload": _payload(world, n)}
            for n in range(start, start + batch)
        ]
        # As the phone sends it: the JSON is the phone's work, not the server's.
        batches.append(
            json.dumps({"device_time": datetime.now(timezone.utc).isoformat(), "mutations": mutations}).encode()
        )

    def push(number: int, body: bytes) -> None:
        response = client.post(
            "/api/v1/sync/push",
            data=body,
            content_type="application/json",
            headers={"Authorization": f"Bearer {tokens[number % len(tokens)]}"},
        )
        assert response.status_code == 200 and all(r["status"] == "applied" for r in response.get_json()["results"])

    def pushed_row() -> dict:
        """A row as the push wrote it: the baseline writes the same columns with the same values."""
        with app.app_context():
            row = dict(db.session.execute(sa.select(Inspection.__table__).limit(1)).mappings().one())
            db.session.commit()  # end the read: SQLite has one writer at a time
        return row

    def bulk(number: int, shape: dict) -> None:
        """The same rows again, written the fastest way SQLAlchemy has: Core executemany."""
        phone = phones[number % len(phones)]
        rows, answers = [], []
        for n in range(number * batch, (number + 1) * batch):
            inspection_id = uuid.uuid4()
            at = NOW + timedelta(seconds=n)
            rows.append(
                {
                    **shape,
                    "id": inspection_id,
                    "inspector_id": phone["user"]["id"],
                    "device_id": uuid.UUID(phone["device_id"]),
                    "started_at": at,
                    "finished_at": at,
                    "received_at": at,
                }
            )
            answers += [
                {
                    "inspection_id": inspection_id,
                    "item_id": f"i{k:02d}",
                    "position": k,
                    "value": "pass",
                    "note": "",
                    "passed": True,
                }
                for k in range(world["items"])
            ]
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(sa.insert(Inspection.__table__), rows)
            conn.execute(sa.insert(Answer.__table__), answers)

    # The phones' 5,000 payloads live in this process only because the bench is the client: kept
    # out of the collector's scans, which a server never pays for them (both timings run frozen).
    gc.collect()
    gc.freeze()
    # Batch by batch, a push then the baseline's insert: both meet the machine's noise alike.
    push_seconds = bulk_seconds = 0.0
    shape = None
    for number, body in enumerate(batches):
        started = time.perf_counter()
        push(number, body)
        push_seconds += time.perf_counter() - started
        shape = shape or pushed_row()
        started = time.perf_counter()
        bulk(number, shape)
        bulk_seconds += time.perf_counter() - started
    gc.unfreeze()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Inspection)) == 2 * inspections
        db.session.commit()
        db.engine.dispose()
    return {
        "push_per_s": inspections / push_seconds,
        "bulk_per_s": inspections / bulk_seconds,
        "ratio": push_seconds / bulk_seconds,
        "push_s": push_seconds,
        "bulk_s": bulk_seconds,
    }


def bench_pull(
    kind: str, postgres_url: str | None, folder, histories=(1_000, 100_000), tail: int = 50, repeats: int = 40
) -> dict:
    """One database per history, pulled in turn (one from each, again and again), so that the
    machine's noise meets both alike."""
    pulls = [_history_of(kind, postgres_url, folder, history, tail) for history in histories]
    samples: list[list[float]] = [[] for _ in histories]
    for _ in range(repeats):
        for (client, url, headers, last), timings in zip(pulls, samples, strict=True):
            started = time.perf_counter()
            body = client.get(url, headers=headers).get_json()
            timings.append(time.perf_counter() - started)
            assert body["has_more"] is False and body["cursor"] == last
    for client, *_ in pulls:
        with client.application.app_context():
            db.engine.dispose()
    small, large = (statistics.median(timings) for timings in samples)
    return {"small_ms": small * 1000, "large_ms": large * 1000, "ratio": large / small, "histories": histories}


def _history_of(kind: str, postgres_url: str | None, folder, history: int, tail: int):
    """A database whose change log holds ``history`` changes, a phone's client, and the pull of
    its last ``tail`` changes: (client, url, headers, the cursor that pull must answer)."""
    app = build_app(fresh_database_url(kind, postgres_url, folder), folder)
    world = populate(app, phones=1)
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"username": world["usernames"][0], "password": "bench-pass", "device_name": "b"}
    ).get_json()["token"]
    with app.app_context():
        recorded = db.session.scalar(sa.select(sa.func.count()).select_from(Change))
        db.session.commit()
        # Assignment ids that do not exist come back as deletes: finding the changes is measured,
        # not loading entities.
        rows = [
            {
                "entity": "assignment",
                "entity_id": str(10_000_000 + n),
                "op": "upsert",
                "site_id": world["site_id"],
                "changed_at": NOW,
            }
            for n in range(history - recorded)
        ]
        with db.engine.begin() as conn:
            for start in range(0, len(rows), 10_000):
                conn.execute(sa.insert(Change.__table__), rows[start : start + 10_000])
        newest = sa.select(Change.xact_id, Change.seq).order_by(Change.xact_id.desc(), Change.seq.desc())
        user = db.session.scalar(sa.select(User).where(User.username == world["usernames"][0]))
        scope = scope_of(user, visible_site_ids(user))
        last = PullCursor(tuple(db.session.execute(newest.limit(1)).one()), scope, fresh=False).text()
        cursor = PullCursor(tuple(db.session.execute(newest.offset(tail).limit(1)).one()), scope, fresh=False).text()
        db.session.commit()
    return client, f"/api/v1/sync/pull?cursor={cursor}&limit={tail}", {"Authorization": f"Bearer {token}"}, last


def bench_push_http(postgres_url: str, folder, phones: int = 20, per_phone: int = 50, batch: int = 25) -> dict:
    """The same push over HTTP, against gunicorn (4 workers) on PostgreSQL: inspections/s when
    one phone sends at a time and when four do at once. Four at once near four times one (on
    enough cores) means writers do not queue behind each other."""
    database_url = fresh_database_url("postgresql", postgres_url, folder)
    app = build_app(database_url, folder)
    world = populate(app, phones=phones)
    with app.app_context():
        db.engine.dispose()
    server = AppServer(database_url, folder / "http-push", workers=4)
    server.start()
    try:
        tokens = [
            _post_json(
                server.port, "/api/v1/auth/token", {"username": u, "password": "bench-pass", "device_name": "b"}
            )["token"]
            for u in world["usernames"]
        ]
        rates = {}
        for concurrent in (1, 4):
            work = [
                (
                    token,
                    [
                        {"id": str(uuid.uuid4()), "type": "inspection.submit", "payload": _payload(world, n)}
                        for n in range(start, start + batch)
                    ],
                )
                for token in tokens
                for start in range(0, per_phone, batch)
            ]
            started = time.perf_counter()
            with ThreadPoolExecutor(max_workers=concurrent) as pool:
                for answer in pool.map(lambda job: _push_over_http(server.port, *job), work):
                    assert all(r["status"] == "applied" for r in answer["results"]), answer
            rates[concurrent] = phones * per_phone / (time.perf_counter() - started)
    finally:
        server.stop()
    return {"one_per_s": rates[1], "four_per_s": rates[4], "scaling": rates[4] / rates[1]}


def _push_over_http(port: int, token: str, mutations: list[dict]) -> dict:
    body = {"device_time": datetime.now(timezone.utc).isoformat(), "mutations": mutations}
    return _post_json(port, "/api/v1/sync/push", body, token)


def _post_json(port: int, path: str, body: dict, token: str | None = None) -> dict:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        return json.loads(response.read())
