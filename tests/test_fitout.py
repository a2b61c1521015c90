"""Fit-out supervision (§3.2): the project's life, the deposit ledger, violations cleared by a
re-inspection, acceptances, the daily status across midnight, and photo evidence."""

import hashlib
import io
import re
from datetime import date, datetime, timedelta, timezone

import pypdfium2
import pytest
import sqlalchemy as sa
from PIL import Image

from foundation.org import Location, LocationKind, Origin, Site
from inspections.checklists import ChecklistTemplate, TemplateKind
from inspections.fitout import (
    AcceptanceKind,
    FitoutProject,
    FitoutRefused,
    FitoutState,
    advance,
    charge_penalty,
    inspected_on,
    open_violations,
    refund_deposit,
    signoffs,
)
from inspections.submission import SubmissionRefused, submit_inspection
from tests.conftest import csrf_token, login, logout, post_form
from tests.helpers import NOW, all_pass, jpeg_bytes, sha, submission, with_answer
from tickets.services import transition_ticket
from tickets.states import TicketState, TransitionRefused
from webapp.extensions import db
from webapp.photos import service as photo_service

WEB = Origin("web", ip="10.0.0.7")
SIGNATURE = "5e" * 32


def project(session) -> FitoutProject:
    return session.scalar(sa.select(FitoutProject))


def template(session, kind: TemplateKind, title_part: str = "") -> ChecklistTemplate:
    return next(
        t
        for t in session.scalars(sa.select(ChecklistTemplate).where(ChecklistTemplate.kind == kind))
        if title_part in t.title
    )


def inspect(session, who, kind, answers_for, at=NOW, title_part=""):
    tpl = template(session, kind, title_part)
    unit = project(session).unit
    answers = answers_for(tpl)
    sub = submission(
        tpl, unit, answers, started_at=(at - timedelta(minutes=10)).isoformat(), finished_at=at.isoformat()
    )
    return submit_inspection(session, sub, actor=who, origin=WEB, now=at)


def signed(tpl):
    answers = [a for a in all_pass(tpl) if a["item_id"] not in ("signature", "remarks")]
    return answers + [{"item_id": "signature", "value": SIGNATURE, "photos": [SIGNATURE]}]


def test_a_projects_life_from_application_to_refund(session, demo):
    fitout = project(session)
    assert fitout.state == FitoutState.IN_PROGRESS and fitout.balance_cents == 5_000_000
    with pytest.raises(FitoutRefused):
        advance(fitout, FitoutState.COMPLETED)  # only acceptances complete a fit-out
    with pytest.raises(FitoutRefused):
        refund_deposit(session, fitout, actor=demo.user("wangjl"), now=NOW)

    for who in ("liuxia", "lihua", "zhangwei"):
        inspect(session, demo.user(who), TemplateKind.HIDDEN_WORKS, signed)
    assert fitout.state == FitoutState.HIDDEN_WORKS_ACCEPTED
    for n, who in enumerate(("liuxia", "lihua", "zhangwei")):
        inspect(session, demo.user(who), TemplateKind.COMPLETION, signed, at=NOW + timedelta(hours=n))
        assert fitout.state == (FitoutState.COMPLETED if n == 2 else FitoutState.HIDDEN_WORKS_ACCEPTED)

    charge_penalty(session, fitout, amount_cents=80_000, reason="损坏电梯厅地砖", actor=demo.user("liuxia"), now=NOW)
    refund = refund_deposit(session, fitout, actor=demo.user("wangjl"), now=NOW)
    assert refund.amount_cents == -(5_000_000 - 80_000)
    assert fitout.balance_cents == 0 and fitout.state == FitoutState.DEPOSIT_REFUNDED


def test_the_deposit_never_goes_negative_without_a_managers_override_on_record(session, demo):
    fitout = project(session)
    charge_penalty(
        session, fitout, amount_cents=4_900_000, reason="擅自改动消防喷淋", actor=demo.user("liuxia"), now=NOW
    )
    with pytest.raises(FitoutRefused) as refused:
        charge_penalty(
            session, fitout, amount_cents=200_000, reason="再次违规", actor=demo.user("liuxia"), now=NOW, override=True
        )  # customer service may not override
    assert refused.value.code == "over_balance" and fitout.balance_cents == 100_000
    with pytest.raises(FitoutRefused):
        charge_penalty(session, fitout, amount_cents=-5, reason="?", actor=demo.user("wangjl"), now=NOW)
    entry = charge_penalty(
        session, fitout, amount_cents=200_000, reason="再次违规", actor=demo.user("wangjl"), now=NOW, override=True
    )
    assert fitout.balance_cents == -100_000 and entry.override_by.username == "wangjl"


def test_completion_is_refused_while_a_violation_is_open_and_a_reinspection_clears_it(session, demo):
    engineer, desk = demo.user("lihua"), demo.user("liuxia")
    photo = "77" * 32
    failed = inspect(
        session,
        engineer,
        TemplateKind.FITOUT,
        lambda t: with_answer(all_pass(t), "structure", value="fail", photos=[photo], note="拆除承重墙"),
        title_part="工程部",
    )
    [violation] = failed.tickets
    assert violation.kind == "violation" and violation.due_at == NOW + timedelta(hours=24)
    with pytest.raises(TransitionRefused):
        transition_ticket(session, violation, TicketState.CLOSED, actor=demo.user("wangjl"), origin=WEB, now=NOW)

    with pytest.raises(SubmissionRefused) as refused:
        inspect(session, desk, TemplateKind.COMPLETION, signed)
    assert refused.value.code == "open_violations" and violation.number in refused.value.message

    # The engineer's next daily inspection passes the item: the violation is cleared.
    later = NOW + timedelta(hours=20)
    inspect(session, engineer, TemplateKind.FITOUT, all_pass, at=later, title_part="工程部")
    assert violation.state == TicketState.CLOSED and violation.closed_at == later
    assert open_violations(session, project(session)) == []
    inspect(session, desk, TemplateKind.COMPLETION, signed, at=later)
    assert [s.department for s in signoffs(session, project(session), AcceptanceKind.COMPLETION) if s.inspection] == [
        "customer_service"
    ]


def test_who_has_inspected_today_follows_the_sites_calendar_across_midnight(session, demo):
    fitout = project(session)
    # 23:50 in Shanghai on the 26th, and 00:10 on the 27th (both the 26th in UTC).
    late = datetime(2026, 11, 26, 15, 50, tzinfo=timezone.utc)
    early = datetime(2026, 11, 26, 16, 10, tzinfo=timezone.utc)
    inspect(session, demo.user("lihua"), TemplateKind.FITOUT, all_pass, at=late, title_part="工程部")
    inspect(session, demo.user("zhangwei"), TemplateKind.FITOUT, all_pass, at=early, title_part="保安部")
    on_26 = {d.department: d.done for d in inspected_on(session, fitout, date(2026, 11, 26))}
    on_27 = {d.department: d.done for d in inspected_on(session, fitout, date(2026, 11, 27))}
    assert on_26 == {"customer_service": False, "engineering": True, "security": False}
    assert on_27 == {"customer_service": False, "engineering": False, "security": True}


def _violation_with_photo(app, client, demo):
    """The engineer's inspection fails "follows the drawings" with a photo the server has."""
    original = jpeg_bytes((1200, 900), color="#986")
    with app.app_context():
        photo_service.ingest(original, demo.user("lihua"))
        result = inspect(
            db.session,
            demo.user("lihua"),
            TemplateKind.FITOUT,
            lambda t: with_answer(all_pass(t), "drawings", value="fail", photos=[sha(original)]),
            title_part="工程部",
        )
        db.session.commit()
        number, project_id = result.tickets[0].number, project(db.session).id
    login(client, "lihua")
    return original, number, project_id


@pytest.mark.photos
def test_the_stamped_copy_differs_from_the_original_whose_hash_is_kept_for_a_manager(app, client, demo):
    original, number, project_id = _violation_with_photo(app, client, demo)
    digest = sha(original)
    stamped = client.get(f"/fitout/evidence/{number}/{digest}.jpg")
    assert stamped.status_code == 200
    plain = client.get(f"/photos/{digest}").data
    assert stamped.data != plain and hashlib.sha256(stamped.data).hexdigest() != digest
    with Image.open(io.BytesIO(stamped.data)) as image, Image.open(io.BytesIO(plain)) as shown:
        corner = (0, image.height * 3 // 4, image.width // 2, image.height)
        assert image.size == shown.size
        assert image.crop(corner).tobytes() != shown.crop(corner).tobytes()  # the stamp is drawn there
    assert client.get(f"/photos/{digest}/original").status_code == 403  # an engineer gets the stamped copy only

    logout(client)
    login(client, "wangjl")
    kept = client.get(f"/photos/{digest}/original")
    assert kept.status_code == 200 and hashlib.sha256(kept.data).hexdigest() == digest


def test_the_rectification_notice_carries_the_deadline_and_the_photos(app, client, demo):
    original, number, project_id = _violation_with_photo(app, client, demo)
    logout(client)
    login(client, "wangjl")
    page = client.get(f"/fitout/{project_id}").get_data(as_text=True)
    assert number in page and "rectify by 11-27 10:30" in page
    pdf = client.get(f"/fitout/{project_id}/notices/{number}.pdf")
    document = pypdfium2.PdfDocument(pdf.data)
    text = document[0].get_textpage().get_text_range()
    assert "整改期限 2026-11-27 10:30 前" in text and "华艺装饰工程有限公司" in text and number in text
    images = [o for page in document for o in page.get_objects() if o.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]
    assert len(images) == 1
    document.close()


def test_penalty_form_errors_change_nothing(app, client, demo):
    login(client, "liuxia")
    with app.app_context():
        project_id = project(db.session).id
    token = csrf_token(client, f"/fitout/{project_id}")
    bad = client.post(f"/fitout/{project_id}/penalty", data={"csrf_token": token, "amount": "-3", "reason": ""})
    assert bad.status_code == 422 and "This field is required." in bad.get_data(as_text=True)
    over = client.post(
        f"/fitout/{project_id}/penalty",
        data={"csrf_token": token, "amount": "60000", "reason": "损坏", "override": "y"},
    )
    assert over.status_code == 422 and "only a manager may charge it" in over.get_data(as_text=True)
    with app.app_context():
        assert project(db.session).balance_cents == 5_000_000
    assert client.post(f"/fitout/{project_id}/refund", data={"csrf_token": token}).status_code == 403


def test_registering_a_fit_out(app, client, demo):
    login(client, "liuxia")
    with app.app_context():
        unit = db.session.scalar(sa.select(Location).join(Site).where(Site.code == "BY", Location.name == "2208"))
        unit_id = unit.id
    fields = {
        "unit_id": unit_id,
        "contractor": "宏远装饰",
        "permit_number": "二装许可-2026-019",
        "starts_on": "2026-12-01",
        "ends_on": "2026-11-20",
        "deposit": "30000",
    }
    wrong = post_form(client, "/fitout/new", fields)
    assert wrong.status_code == 422 and "The end is before the start." in wrong.get_data(as_text=True)
    done = post_form(client, "/fitout/new", {**fields, "ends_on": "2027-01-15"})
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "宏远装饰" in page and "¥30,000.00" in page and "Applied" in page
    assert re.search(r"Deposit paid ¥30,000.00", page)


def test_an_overdue_rectification_goes_to_the_department_head_then_the_manager_once(session, demo):
    from foundation.notices import Notice
    from tickets.escalation import escalate

    failed = inspect(
        session,
        demo.user("zhangwei"),
        TemplateKind.FITOUT,
        lambda t: with_answer(all_pass(t), "hot_work", value="fail", photos=["12" * 32]),
        title_part="保安部",
    )
    [violation] = failed.tickets
    by = violation.site

    def told():
        return [
            (n.user_id, n.key.rsplit(":", 1)[1])
            for n in session.scalars(
                sa.select(Notice).where(Notice.key.like(f"overdue:{violation.id}:%")).order_by(Notice.id)
            )
        ]

    escalate(session, by, NOW + timedelta(hours=23))
    assert told() == []  # due in 24 h
    escalate(session, by, NOW + timedelta(hours=25))
    escalate(session, by, NOW + timedelta(hours=26))  # told once
    assert told() == [(demo.user("liqiang").id, "head")]  # security's head
    escalate(session, by, NOW + timedelta(hours=36))  # 24 h allowed: the managers 12 h after that
    assert told() == [(demo.user("liqiang").id, "head"), (demo.user("wangjl").id, "manager")]


def test_fit_out_dates_and_noisy_hours_must_make_sense(app, client, demo):
    login(client, "liuxia")
    with app.app_context():
        unit = db.session.scalar(
            sa.select(Location.id)
            .join(Site)
            .where(Site.code == "BY", Location.kind == LocationKind.UNIT)
            .order_by(Location.id.desc())
        )
        before = db.session.scalar(sa.select(sa.func.count()).select_from(FitoutProject))
    form = {
        "unit_id": unit,
        "contractor": "华艺装饰",
        "permit_number": "P-9",
        "starts_on": "0001-01-01",
        "ends_on": "2026-12-31",
        "noisy_hours": "25:99-xx",
        "deposit": "1000",
    }
    response = post_form(client, "/fitout/new", form, token_from="/fitout/new")
    text = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "within 10 years of today" in text and "is not two times of day" in text
    assert client.get("/cleaning/scores?month=0001-01").status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(FitoutProject)) == before
