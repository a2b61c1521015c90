"""From a failed check to the Web Push request leaving the server.

200 cleaners, each with the restroom they answer for and a subscribed phone (the push service
stand-in of the tests, which checks VAPID and decrypts every message); a lead's phone pushes
1,000 failed checks at 1,000 places (5 per cleaner) through `POST /api/v1/sync/push`, 20 per
request (each ticket routed to the place's cleaner), and after each request the `push` job runs, as its worker does every ten
seconds. Measured per failure: from the sync push's answer to its notification arriving at the
push service; against the sync push request itself. The job's period (up to 10 s of waiting for
the next run) comes on top in production and is not measured here.

Run alone: `python -m bench.push_bench` (SQLite); `make bench` runs it on both databases."""

from __future__ import annotations

import ipaddress
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import time as clock
from pathlib import Path

from bench.world import build_app, fresh_database_url
from foundation.base import utcnow
from foundation.org import Department, Location, LocationKind, Site
from foundation.people import create_user
from foundation.roles import Role
from foundation.web_push import PushPreference, make_keys, subscribe
from inspections.checklists import ChecklistTemplate, Definition, publish_template_version
from inspections.cleaning import assign_area
from sync.tokens import issue_device_token
from tests.push_service import PushService
from webapp.extensions import db
from webapp.web_push import push_job

PHONES, FAILURES, PER_REQUEST = 200, 1000, 20


def _world(app, service: PushService) -> dict:
    import foundation.org  # noqa: PLC0415

    foundation.org.PASSWORD_METHOD = "pbkdf2:sha256:1000"  # not a password benchmark
    with app.app_context():
        session = db.session
        site = Site(code="PB", name="推送大厦", timezone="Asia/Shanghai")
        cleaning = Department(code="cleaning", name="保洁部")
        session.add_all([site, cleaning])
        session.flush()
        template = ChecklistTemplate(kind="cleaning", title="卫生间", roles=["supervisor"], area_type="restroom")
        session.add(template)
        session.flush()
        item = {
            "id": "odour",
            "label": "无异味",
            "type": "pass_fail",
            "on_fail": {"ticket_kind": "rework", "department": "cleaning", "due_hours": 2},
        }
        publish_template_version(
            session, template, Definition.model_validate({"sections": [{"title": "s", "items": [item]}]}), actor=None
        )
        lead = create_user(
            session, username="lead", display_name="领班", password="bench-pass", role=Role.SUPERVISOR, sites=[site]
        )
        lead.department_id = cleaning.id
        areas = []
        for n in range(PHONES):
            cleaner = create_user(
                session,
                username=f"c{n:03d}",
                display_name=f"保洁员{n}",
                password="bench-pass",
                role=Role.CLEANER,
                sites=[site],
            )
            cleaner.department_id = cleaning.id
            # A failure joins its place's open ticket: a thousand failures need a thousand places.
            for k in range(FAILURES // PHONES):
                area = Location(site_id=site.id, kind=LocationKind.AREA, name=f"卫生间{n}-{k}", area_type="restroom")
                session.add(area)
                session.flush()
                for shift in ("early", "late"):
                    assign_area(session, area, cleaner, shift, utcnow().date())
                areas.append((k, n, area.id))
            # The bench runs at any hour: never quiet, so what is measured is the path, not the night.
            session.add(PushPreference(user_id=cleaner.id, muted=[], quiet_start=clock(0), quiet_end=clock(0)))
            device, _ = issue_device_token(session, cleaner, name="phone", user_agent="bench", now=utcnow())
            keys = service.new_phone().subscription()
            subscribe(session, device, endpoint=keys["endpoint"], now=utcnow(), **keys["keys"])
        session.commit()
        # In order of (round, cleaner): twenty in a row are twenty cleaners' places.
        return {"site_id": site.id, "template_id": template.id, "areas": [a for *_, a in sorted(areas)]}


def bench_web_push(kind: str, postgres_url: str | None, folder: Path) -> dict:
    app = build_app(fresh_database_url(kind, postgres_url, folder), folder)
    app.config.update(
        VAPID_KEY_FILE=str(folder / f"vapid-{uuid.uuid4().hex[:6]}.pem"),
        WEBHOOK_ALLOW_HTTP=True,
        WEBHOOK_ALLOWED_NETWORKS=(ipaddress.ip_network("127.0.0.0/8"),),
    )
    make_keys(Path(app.config["VAPID_KEY_FILE"]))
    service = PushService().start()
    arrived: dict[str, float] = {}
    try:
        world = _world(app, service)
        client = app.test_client()
        token = client.post(
            "/api/v1/auth/token", json={"username": "lead", "password": "bench-pass", "device_name": "b"}
        ).get_json()["token"]
        request_s, latency_s = [], []
        for start in range(0, FAILURES, PER_REQUEST):
            # Each request's failures are at 20 places of 20 different cleaners: one notice each.
            areas = world["areas"][start : start + PER_REQUEST]
            now = utcnow().isoformat()
            mutations = [
                {
                    "id": str(uuid.uuid4()),
                    "type": "inspection.submit",
                    "payload": {
                        "inspection_id": str(uuid.uuid4()),
                        "template_id": world["template_id"],
                        "template_version": 1,
                        "site_id": world["site_id"],
                        "location_id": area,
                        "started_at": now,
                        "finished_at": now,
                        "answers": [{"item_id": "odour", "value": "fail"}],
                    },
                }
                for area in areas
            ]
            body = json.dumps({"device_time": now, "mutations": mutations}).encode()
            before = len(service.received)
            began = time.perf_counter()
            response = client.post(
                "/api/v1/sync/push",
                data=body,
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}"},
            )
            stored = time.perf_counter()
            assert response.status_code == 200, response.get_data(as_text=True)
            assert all(r["status"] == "applied" for r in response.get_json()["results"])
            request_s.append(stored - began)
            with app.app_context():  # the job's run, as its worker makes it
                sent = push_job(db.session, utcnow())
                db.session.commit()
            assert sent == PER_REQUEST, sent
            service.wait_for(before + PER_REQUEST)
            for received in service.received[before:]:
                arrived[received.endpoint] = received.at
                latency_s.append(received.at - stored)
        return {
            "failures": FAILURES,
            "phones": PHONES,
            "latency_p50_ms": _ms(latency_s, 50),
            "latency_p95_ms": _ms(latency_s, 95),
            "request_p50_ms": _ms(request_s, 50),
            "request_p95_ms": _ms(request_s, 95),
            "ratio_p50": statistics.median(latency_s) / statistics.median(request_s),
            "refused": len(service.refused),
        }
    finally:
        service.stop()


def _ms(values: list[float], percentile: int) -> float:
    ordered = sorted(values)
    return 1000 * ordered[min(len(ordered) - 1, round(percentile / 100 * (len(ordered) - 1)))]


def section(rows: list[tuple[str, dict]]) -> list[str]:
    """The lines of docs/PERFORMANCE.md for these results (bench/run.py)."""
    lines = [
        "## From a failed check to the phone",
        "",
        "200 cleaners, each answering for five restrooms and with a subscribed phone (the tests' push service",
        "stand-in, which checks VAPID and decrypts every message); a lead's phone pushes 1,000 failed checks",
        "through `POST /api/v1/sync/push`, 20 per request, each ticket routed to the place's cleaner; after each",
        "request the `push` job runs, as its worker does every ten seconds. Latency: from the sync push's answer",
        "to the notification arriving at the push service (encrypted, signed, sent one phone after another).",
        "Baseline: the sync push request itself. The wait for the job's next run (0–10 s) comes on top in",
        "production and is not in these figures. Target: p95 within 2x of the sync push's p95.",
        "",
        "| database | push request p50 / p95 (ms) | failure → push sent p50 / p95 (ms) | p95 ÷ request p95 | target ≤ 2 |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for kind, r in rows:
        ratio = r["latency_p95_ms"] / r["request_p95_ms"]
        lines.append(
            f"| {kind} | {r['request_p50_ms']:.0f} / {r['request_p95_ms']:.0f} | "
            f"{r['latency_p50_ms']:.0f} / {r['latency_p95_ms']:.0f} | {ratio:.2f} | {'met' if ratio <= 2 else 'MISSED'} |"
        )
    return lines


if __name__ == "__main__":
    folder = Path(tempfile.mkdtemp(prefix="fieldcheck-push-bench-"))
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_POSTGRES_URL") else [])
    results = [(kind, bench_web_push(kind, os.environ.get("TEST_POSTGRES_URL"), folder)) for kind in kinds]
    json.dump(dict(results), sys.stdout, indent=2)
    print("\n" + "\n".join(section(results)))
