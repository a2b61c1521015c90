"""Checkpoint codes: printed so they decode, rotated when a label is lost, checked on every scan."""

import re
import uuid
from datetime import datetime, timedelta, timezone

import pypdfium2
import sqlalchemy as sa
import zxingcpp

from inspections.checklists import ChecklistTemplate, TemplateVersion, publish_template_version
from inspections.patrol import PatrolRoute, PatrolScan
from inspections.records import Inspection
from tests.conftest import csrf_token, login, logout
from tests.sync_client import get_token, mutation, pull_all, push
from webapp.extensions import db


def _route(app):
    with app.app_context():
        route = db.session.scalar(sa.select(PatrolRoute))
        return route.id, [(s.location_id, s.location.qr_code, s.location.name) for s in route.checkpoints]


def test_the_printed_pdf_has_one_decodable_qr_per_checkpoint(app, client, demo):
    route_id, stops = _route(app)
    login(client, "wangjl")
    response = client.get(f"/patrol/routes/{route_id}/codes.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pdf = pypdfium2.PdfDocument(response.data)
    decoded = []
    for page in pdf:
        decoded += [result.text for result in zxingcpp.read_barcodes(page.render(scale=1.5).to_pil())]
    assert sorted(decoded) == sorted(code for _, code, _ in stops)
    text = "".join(page.get_textpage().get_text_range() for page in pdf)
    assert all(name in text for _, _, name in stops)  # the Chinese names are drawn, not boxes


def test_codes_cannot_be_guessed_from_names(app, demo):
    _, stops = _route(app)
    for _, code, name in stops:
        assert re.fullmatch(r"[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}", code) and code not in name
    assert len({code for _, code, _ in stops}) == len(stops)


def _scan(route_id, checkpoint_id, code):
    return mutation(
        "patrol.scan",
        {
            "scan_id": str(uuid.uuid4()),
            "route_id": route_id,
            "checkpoint_id": checkpoint_id,
            "code": code,
            "scanned_at": datetime.now(timezone.utc).isoformat(),
        },
    )


def test_a_wrong_code_is_rejected_and_a_rotated_code_stops_working(app, client, demo):
    route_id, stops = _route(app)
    checkpoint, old_code, _ = stops[0]
    guard = get_token(client, "zhangwei")
    wrong = push(client, guard, [_scan(route_id, checkpoint, stops[1][1])]).get_json()["results"][0]
    assert (wrong["status"], wrong["error"]["code"]) == ("rejected", "wrong_code")

    login(client, "wangjl")
    rotated = client.post(
        f"/patrol/routes/{route_id}/checkpoints/{checkpoint}/rotate", data={"csrf_token": csrf_token(client, "/today")}
    )
    assert rotated.status_code == 303
    _, after = _route(app)
    new_code = after[0][1]
    assert new_code != old_code
    assert push(client, guard, [_scan(route_id, checkpoint, old_code)]).get_json()["results"][0]["status"] == "rejected"
    assert (
        push(client, guard, [_scan(route_id, checkpoint, new_code.lower())]).get_json()["results"][0]["status"]
        == "applied"
    )


def test_guards_and_cleaners_cannot_print_or_rotate(app, client, demo):
    route_id, stops = _route(app)
    for who in ("zhangwei", "chenmei"):
        login(client, who)
        assert client.get(f"/patrol/routes/{route_id}/codes").status_code == 403
        assert (
            client.post(
                f"/patrol/routes/{route_id}/checkpoints/{stops[0][0]}/rotate",
                data={"csrf_token": csrf_token(client, "/today")},
            ).status_code
            == 403
        )
        logout(client)


def test_a_manager_defines_a_route_with_ordered_checkpoints(app, client, demo):
    login(client, "wangjl")
    bad = client.post(
        "/patrol/routes",
        data={
            "csrf_token": csrf_token(client, "/today"),
            "name": "白班",
            "start": "25:00",
            "end": "18:00",
            "every_minutes": "60",
            "window_minutes": "40",
        },
    )
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "A time like 22:00." in html and "shorter than half" in html
    made = client.post(
        "/patrol/routes",
        data={
            "csrf_token": csrf_token(client, "/today"),
            "name": "白班巡逻",
            "start": "08:00",
            "end": "18:00",
            "every_minutes": "120",
            "window_minutes": "10",
        },
    )
    assert made.status_code == 303
    edit_url = made.headers["Location"]
    for name in ("大堂东门", "B1 车库入口"):
        assert (
            client.post(
                edit_url,
                data={
                    "csrf_token": csrf_token(client, "/today"),
                    "action": "checkpoint",
                    "cp-name": name,
                    "cp-floor_id": "0",
                },
            ).status_code
            == 303
        )
    with app.app_context():
        route = db.session.scalar(sa.select(PatrolRoute).where(PatrolRoute.name == "白班巡逻"))
        second = route.checkpoints[1].location_id
        assert route.schedule == {"start": "08:00", "end": "18:00", "every_minutes": 120, "window_minutes": 10}
    client.post(edit_url, data={"csrf_token": csrf_token(client, "/today"), "action": "up", "location_id": second})
    with app.app_context():
        route = db.session.scalar(sa.select(PatrolRoute).where(PatrolRoute.name == "白班巡逻"))
        assert [s.location.name for s in route.checkpoints] == ["B1 车库入口", "大堂东门"]
        assert all(s.location.qr_code and s.template_id for s in route.checkpoints)


def test_a_missed_round_is_told_once_to_the_security_supervisor(app, client, demo):
    from foundation.notices import Notice

    runner = app.test_cli_runner()
    first = runner.invoke(args=["jobs", "run", "missed_rounds"]).output.split(": ")[1]
    again = runner.invoke(args=["jobs", "run", "missed_rounds"]).output.split(": ")[1]
    with app.app_context():
        notices = db.session.scalars(
            sa.select(Notice).where(Notice.what.in_(["round_missed", "round_incomplete"]))
        ).all()
        people = {n.user_id for n in notices}
        from foundation.org import User

        supervisor = db.session.scalar(sa.select(User).where(User.username == "liqiang"))
    # Last night's first round is always over and nobody walked it in the demo.
    assert notices and int(first.split()[0]) == len(notices) and again.startswith("0 ")
    assert people == {supervisor.id}
    login(client, "liqiang", locale="zh")
    page = client.get("/today").get_data(as_text=True)
    assert "通知" in page and "漏巡" in page and "漏检巡更点" in page
    logout(client)
    login(client, "liqiang", locale="en")  # the same notices, in the language she reads now
    page = client.get("/today").get_data(as_text=True)
    assert "Notices" in page and ": missed" in page and re.search(r"\d+ checkpoints? missed", page)
    assert "漏巡" not in page


def test_only_phones_that_walk_rounds_are_offered_the_qr_decoder(client, demo):
    # 46 KB compressed: a cleaner's phone never fetches it; a guard's keeps it for offline rounds.
    login(client, "chenmei")
    assert "data-scanner" not in client.get("/today").get_data(as_text=True)
    logout(client)
    login(client, "zhangwei")
    today = client.get("/today").get_data(as_text=True)
    assert re.search(r'id="offline-urls"[^>]*\sdata-scanner="/static/vendor/jsQR\.min\.js\?v=', today)


def test_a_scan_is_judged_on_the_checklist_the_guard_saw(app, client, demo):
    """While a guard walks offline, the manager publishes the checkpoint checklist with a new
    required item. The guard's scans, answered on the old version, are recorded on it: with the
    version the phone names, and without it (a phone from before v1.2) on the version in effect
    when the guard scanned."""
    route_id, stops = _route(app)
    guard = get_token(client, "zhangwei")
    changes, _ = pull_all(client, guard)
    route = next(c["data"] for c in changes if c["entity"] == "route" and c["data"]["id"] == route_id)
    template_id = route["checkpoints"][0]["template_id"]
    seen = next(c["data"] for c in changes if c["entity"] == "template" and c["data"]["id"] == template_id)
    answers = [{"item_id": i["id"], "value": "pass"} for s in seen["sections"] for i in s["items"]]
    scanned_at = datetime.now(timezone.utc) - timedelta(minutes=10)
    with app.app_context():
        template = db.session.get(ChecklistTemplate, template_id)
        definition = template.versions[-1].parsed().model_copy(deep=True)
        definition.sections[0].items.append(
            definition.sections[0].items[0].model_copy(update={"id": "cctv", "label": "监控正常", "required": True})
        )
        publish_template_version(db.session, template, definition, actor=None)
        db.session.commit()
    (checkpoint, code, _), (second, second_code, _) = stops[0], stops[1]
    named = _scan(route_id, checkpoint, code)
    named["payload"].update(answers=answers, template_version=seen["version"], scanned_at=scanned_at.isoformat())
    unnamed = _scan(route_id, second, second_code)
    unnamed["payload"].update(answers=answers, scanned_at=scanned_at.isoformat())
    results = push(client, guard, [named, unnamed]).get_json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied"], results
    with app.app_context():
        versions = db.session.scalars(
            sa.select(TemplateVersion.version)
            .join(Inspection, Inspection.template_version_id == TemplateVersion.id)
            .join(PatrolScan, PatrolScan.inspection_id == Inspection.id)
        ).all()
    assert versions == [seen["version"], seen["version"]]
    # A scan made now, on the new version, must answer the new item.
    late = _scan(route_id, checkpoint, code)
    late["payload"].update(answers=answers, template_version=seen["version"] + 1)
    refused = push(client, guard, [late]).get_json()["results"][0]
    assert refused["status"] == "rejected" and "cctv" in str(refused["error"]["details"])
