"""The manager's console: counts by department, today's coverage, weekly trends, the lists with
their filters, exports that match the lists, and printable PDFs."""

import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
import pypdfium2
import pytest
import sqlalchemy as sa

from foundation.org import Department, Location, LocationKind, Origin, Site
from inspections.coverage import coverage
from inspections.submission import submit_inspection
from tests.conftest import login
from tests.helpers import NOW, all_pass, area, jpeg_bytes, restroom_template, sha, submission, with_answer
from tickets.models import Ticket, TicketKind
from tickets.services import assign_ticket, record_callback, take_at_desk, transition_ticket
from tickets.states import TicketState
from tickets.stats import open_by_department, ticket_weeks
from webapp.console.charts import bar_chart, nice_top
from webapp.extensions import db
from webapp.photos import service as photo_service

DESK = Origin("web", ip="10.0.0.5")
SHANGHAI = ZoneInfo("Asia/Shanghai")


def by_site(session) -> Site:
    return session.scalar(sa.select(Site).where(Site.code == "BY"))


def unit(session) -> Location:
    return session.scalars(
        sa.select(Location)
        .join(Site)
        .where(Site.code == "BY", Location.kind == LocationKind.UNIT)
        .order_by(Location.id)
    ).first()


def complaint(session, demo, title="空调噪音大", at=NOW, **extra) -> Ticket:
    site = by_site(session)
    ticket = take_at_desk(
        session,
        kind=TicketKind.COMPLAINT,
        site=site,
        location=unit(session),
        title=title,
        description="",
        actor=demo.user("liuxia"),
        origin=DESK,
        now=at,
        contact_name="王先生",
        contact_phone="13800000000",
        **extra,
    )
    session.flush()
    return ticket


def counts(session, at) -> dict:
    return {
        (l.department.code if l.department else None): l for l in open_by_department(session, [by_site(session).id], at)
    }


def test_open_tickets_by_department_follow_a_complaint_through_its_life(session, demo):
    late = NOW + timedelta(days=30)  # every open demo ticket is overdue by then: compare with what was
    base, base_late = counts(session, NOW), counts(session, late)
    ticket = complaint(session, demo)
    now = counts(session, NOW)
    assert now["customer_service"].by_state[TicketState.NEW] == base["customer_service"].by_state[TicketState.NEW] + 1

    engineering = session.scalar(sa.select(Department).where(Department.code == "engineering"))
    assign_ticket(
        session,
        ticket,
        assignee=demo.user("lihua"),
        department=engineering,
        actor=demo.user("liuxia"),
        origin=DESK,
        now=NOW,
    )
    now, later = counts(session, NOW), counts(session, late)
    assert now["customer_service"].open == base["customer_service"].open
    assert now["engineering"].by_state[TicketState.ASSIGNED] == base["engineering"].by_state[TicketState.ASSIGNED] + 1
    assert now["engineering"].overdue == base["engineering"].overdue
    assert later["engineering"].overdue == base_late["engineering"].overdue + 1

    for to in (TicketState.IN_PROGRESS, TicketState.RESOLVED):
        transition_ticket(
            session, ticket, to, actor=demo.user("lihua"), origin=DESK, now=NOW, base_version=ticket.version
        )
    later = counts(session, late)
    assert later["engineering"].overdue == base_late["engineering"].overdue  # resolved: no longer late
    assert later["engineering"].awaiting_callback == base_late["engineering"].awaiting_callback + 1

    record_callback(
        session, ticket, reached=True, satisfied=False, remark="还是吵", actor=demo.user("liuxia"), origin=DESK, now=NOW
    )
    now = counts(session, NOW)
    assert (
        now["engineering"].by_state[TicketState.IN_PROGRESS]
        == base["engineering"].by_state[TicketState.IN_PROGRESS] + 1
    )
    assert now["engineering"].awaiting_callback == base["engineering"].awaiting_callback


def test_weeks_start_on_monday_midnight_in_the_sites_zone(session, demo):
    site = by_site(session)
    monday = datetime(2026, 11, 23, tzinfo=SHANGHAI)
    weeks = [monday - timedelta(weeks=1), monday]
    base = ticket_weeks(session, [site.id], weeks)
    complaint(session, demo, title="周日深夜", at=monday - timedelta(seconds=1))
    complaint(session, demo, title="周一零点", at=monday)
    got = ticket_weeks(session, [site.id], weeks)
    assert [a - b for a, b in zip(got.opened, base.opened)] == [1, 1]
    assert got.closed == base.closed


def test_the_scale_of_a_chart_is_a_round_number_and_bars_are_to_scale():
    assert [nice_top(n) for n in (0, 1, 3, 7, 10, 11, 240, 5001)] == [1, 1, 5, 10, 10, 20, 500, 10000]
    chart = bar_chart(["11-16", "11-23"], [("opened", [4, 8], "a"), ("closed", [2, 0], "b")])
    heights = {(b.label, b.name): b.height for b in chart.bars}
    assert heights[("11-23", "opened")] == 2 * heights[("11-16", "opened")] == 4 * heights[("11-16", "closed")]
    assert heights[("11-23", "closed")] == 0
    assert chart.legend == [("opened", "a", 8), ("closed", "b", 0)]
    assert all(b.y + b.height == pytest.approx(chart.bottom) for b in chart.bars)


def test_todays_cleaning_coverage_counts_each_areas_targets_once(session, demo):
    site = by_site(session)
    base = coverage(session, site, NOW).cleaning
    restroom = area("BY", "restroom")
    lead = demo.user("zhaoling")
    for minutes in (0, 30, 60):  # three patrols where the rule asks for fewer counts only up to the target
        sub = submission(
            restroom_template(),
            restroom,
            all_pass(restroom_template()),
            started_at=(NOW + timedelta(minutes=minutes - 5)).isoformat(),
            finished_at=(NOW + timedelta(minutes=minutes)).isoformat(),
        )
        submit_inspection(session, sub, actor=lead, origin=DESK, now=NOW + timedelta(minutes=minutes))
    session.flush()
    got = coverage(session, site, NOW + timedelta(hours=1)).cleaning
    from inspections.cleaning import rule_for
    from inspections.cleaning_scores import CheckKind

    target = rule_for(session, site.id).target(CheckKind.PATROL)
    assert got.due == base.due
    assert got.done == base.done + min(3, target)


def test_fitout_coverage_is_units_under_way_times_three_departments(session, demo):
    site = by_site(session)
    got = coverage(session, site, NOW).fitout
    from inspections.fitout import UNDER_WAY, FitoutProject

    under_way = session.scalar(
        sa.select(sa.func.count())
        .select_from(FitoutProject)
        .where(FitoutProject.site_id == site.id, FitoutProject.state.in_([s.value for s in UNDER_WAY]))
    )
    assert under_way >= 1 and got.due == 3 * under_way and got.done == 0


# --- the pages ----------------------------------------------------------------------------------


def make_tickets(app, demo, n: int, **extra) -> list[str]:
    with app.app_context():
        numbers = [complaint(db.session, demo, title=f"电梯异响 {i:03d}", **extra).number for i in range(n)]
        db.session.commit()
    return numbers


def rows_of(html: str) -> list[str]:
    import re

    return re.findall(r'<tr data-number="([^"]+)"', html)


def test_the_console_shows_departments_coverage_and_two_charts(app, client, demo):
    login(client, "wangjl")
    html = client.get("/console").get_data(as_text=True)
    assert "Open tickets by department" in html and "Customer service dept." in html
    assert 'data-site="BY"' in html and "Night rounds" in html
    assert html.count("<svg") == 2 and "Tickets opened and closed per week" in html
    assert "<script" not in html.split('id="console"')[1].split("</main>")[0]  # charts are drawn without script


def test_the_ticket_list_filters_by_state_kind_department_text_and_dates_kept_in_the_url(app, client, demo):
    numbers = make_tickets(app, demo, 3)
    login(client, "liuxia")
    everything = rows_of(client.get("/console/tickets?state=all").get_data(as_text=True))
    assert set(numbers) <= set(everything)
    assert rows_of(client.get("/console/tickets?state=all&q=电梯异响 001").get_data(as_text=True)) == [numbers[1]]
    assert set(rows_of(client.get("/console/tickets?kind=hazard&state=all").get_data(as_text=True))).isdisjoint(numbers)
    with app.app_context():
        cs = db.session.scalar(sa.select(Department.id).where(Department.code == "customer_service"))
    assert set(numbers) <= set(rows_of(client.get(f"/console/tickets?department={cs}").get_data(as_text=True)))
    day = NOW.astimezone(SHANGHAI).date()
    assert set(numbers) <= set(
        rows_of(client.get(f"/console/tickets?state=all&since={day}&until={day}").get_data(as_text=True))
    )
    assert (
        rows_of(client.get(f"/console/tickets?state=all&since={day + timedelta(days=1)}").get_data(as_text=True)) == []
    )
    # Filtering from the page itself: htmx asks for the list and pushes the URL.
    fragment = client.get("/console/tickets?state=all&q=001", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and numbers[1] in fragment


def test_a_bad_filter_is_named_and_shows_nothing(app, client, demo):
    login(client, "liuxia")
    response = client.get("/console/tickets?since=2026-13-01")
    assert response.status_code == 422 and "Not a valid date value" in response.get_data(as_text=True)
    response = client.get("/console/tickets?since=2026-11-20&until=2026-11-01")
    assert response.status_code == 422 and "The end comes before the start." in response.get_data(as_text=True)
    assert client.get("/console/tickets?state=bogus").status_code == 422
    assert client.get("/console/tickets.csv?since=nope").status_code == 400


def test_lists_page_by_fifty_and_the_exports_hold_every_row_of_the_filter(app, client, demo):
    numbers = make_tickets(app, demo, 60)
    login(client, "wangjl")
    first = client.get("/console/tickets?q=电梯异响").get_data(as_text=True)
    assert len(rows_of(first)) == 50 and "60 found · page 1 of 2" in first
    assert len(rows_of(client.get("/console/tickets?q=电梯异响&page=2").get_data(as_text=True))) == 10
    response = client.get("/console/tickets.csv?q=电梯异响")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    table = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert table[0][:3] == ["Number", "Kind", "State"] and sorted(r[0] for r in table[1:]) == sorted(numbers)
    book = openpyxl.load_workbook(io.BytesIO(client.get("/console/tickets.xlsx?q=电梯异响").data))
    sheet = list(book.active.values)
    assert list(sheet[0][:3]) == ["Number", "Kind", "State"] and sorted(r[0] for r in sheet[1:]) == sorted(numbers)
    as_text = [tuple("" if v is None else str(v) for v in r) for r in sheet[1:]]  # XLSX keeps no empty strings
    assert sorted(as_text) == sorted(tuple(r) for r in table[1:])


def test_a_name_typed_as_a_formula_stays_text_in_both_exports(app, client, demo):
    make_tickets(app, demo, 1)
    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket).where(Ticket.title == "电梯异响 000"))
        ticket.contact_name = '=HYPERLINK("http://evil.example","点我")'
        db.session.commit()
    login(client, "wangjl")
    table = list(
        csv.reader(io.StringIO(client.get("/console/tickets.csv?q=电梯异响").get_data(as_text=True).lstrip("\ufeff")))
    )
    assert table[1][table[0].index("Contact")] == '\'=HYPERLINK("http://evil.example","点我")'
    book = openpyxl.load_workbook(io.BytesIO(client.get("/console/tickets.xlsx?q=电梯异响").data))
    header = [c.value for c in book.active[1]]
    cell = book.active.cell(row=2, column=header.index("Contact") + 1)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_the_inspection_list_filters_failed_checks_and_exports_them(app, client, demo):
    with app.app_context():
        tpl, restroom = restroom_template(), area("BY", "restroom")
        for answers in (all_pass(tpl), with_answer(all_pass(tpl), "odour", value="fail", photos=["ab" * 32])):
            submit_inspection(
                db.session, submission(tpl, restroom, answers), actor=demo.user("zhaoling"), origin=DESK, now=NOW
            )
        db.session.commit()
    login(client, "wangjl")
    failed = client.get("/console/inspections?result=failed&kind=cleaning").get_data(as_text=True)
    assert failed.count("<tr data-inspection") == 1 and "清洁标准：卫生间" in failed
    assert client.get("/console/inspections?kind=cleaning").get_data(as_text=True).count("<tr data-inspection") == 2
    table = list(
        csv.reader(
            io.StringIO(
                client.get("/console/inspections.csv?result=failed&kind=cleaning")
                .get_data(as_text=True)
                .lstrip("\ufeff")
            )
        )
    )
    assert len(table) == 2 and table[1][3] == "清洁标准：卫生间" and table[1][-1] == "1"


def pdf_text(data: bytes) -> tuple[str, int]:
    document = pypdfium2.PdfDocument(data)
    text = "".join(page.get_textpage().get_text_range() for page in document)
    images = sum(1 for page in document for o in page.get_objects() if o.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE)
    return text, images


@pytest.mark.photos
def test_a_ticket_prints_with_its_photos_and_history_in_the_readers_language(app, client, demo):
    with app.app_context():
        photo = jpeg_bytes(color="blue")
        photo_service.ingest(photo, demo.user("liuxia"))
        ticket = complaint(db.session, demo, photos=[sha(photo)])
        number = ticket.number
        db.session.commit()
    login(client, "liuxia", locale="zh")
    response = client.get(f"/tickets/{number}.pdf")
    assert response.mimetype == "application/pdf"
    text, images = pdf_text(response.data)
    assert number in text and "空调噪音大" in text and "13800000000" in text and "处理记录" in text
    assert images == 1
    guard = app.test_client()
    login(guard, "zhangwei")  # a guard does not see the desk's complaint, nor its PDF
    assert guard.get(f"/tickets/{number}.pdf").status_code == 404


@pytest.mark.photos
def test_an_inspection_prints_with_the_failed_item_and_its_photo(app, client, demo):
    with app.app_context():
        photo = jpeg_bytes(color="green")
        photo_service.ingest(photo, demo.user("zhaoling"))
        tpl = restroom_template()
        answers = with_answer(all_pass(tpl), "odour", value="fail", photos=[sha(photo)], note="有异味")
        result = submit_inspection(
            db.session,
            submission(tpl, area("BY", "restroom"), answers),
            actor=demo.user("zhaoling"),
            origin=DESK,
            now=NOW,
        )
        db.session.commit()
        inspection_id = result.inspection.id
    login(client, "wangjl")
    text, images = pdf_text(client.get(f"/inspections/{inspection_id}.pdf").data)
    assert "清洁标准：卫生间" in text and "Fail" in text and "有异味" in text and images == 1


def test_round_coverage_counts_the_nights_rounds_as_their_time_comes(session, demo):
    from inspections.patrol import PatrolRoute
    from inspections.patrol_board import route_night

    site = by_site(session)
    evening, small_hours, morning = (datetime(2026, 11, 26, h, tzinfo=SHANGHAI) for h in (23, 3, 9))
    small_hours += timedelta(days=1)
    morning += timedelta(days=1)
    early, later, done = (coverage(session, site, t).rounds for t in (evening, small_hours, morning))
    routes = session.scalars(sa.select(PatrolRoute).where(PatrolRoute.site_id == site.id, PatrolRoute.active)).all()
    whole_night = sum(len(route_night(session, r, date(2026, 11, 26), morning).rounds) for r in routes)
    assert 0 < early.due < later.due < done.due == whole_night  # nobody walked: none done, all short
    assert early.done == later.done == done.done == 0 and done.short == whole_night
