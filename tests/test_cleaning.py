"""The cleaning regime on the database and the pages: rework to the cleaner on duty, closed only
by a passing re-check; periodic tasks; the day's board; the monthly sheet and its XLSX and PDF."""

import io
import re
from datetime import date, timedelta

import openpyxl
import pypdfium2
import pytest
import sqlalchemy as sa

from foundation.org import Origin, Site
from foundation.roles import Role
from inspections.checklists import ChecklistTemplate
from inspections.cleaning import AreaDuty, assign_area, sheet_for
from inspections.cleaning_scores import CheckKind
from inspections.records import Assignment
from inspections.schedules import Status, add_periodic_task, make_assignments_through, slots, task_statuses
from inspections.submission import submit_inspection
from tests.conftest import login, post_form
from tests.helpers import NOW, all_pass, area, restroom_template, submission, with_answer
from tickets.models import Ticket
from tickets.services import transition_ticket
from tickets.states import TicketState, TransitionRefused
from webapp.extensions import db

WEB = Origin("web", ip="10.0.0.9")
PHOTO, AFTER = "ab" * 32, "cd" * 32


def check(session, who, answers, minutes_later=0, location=None):
    tpl = restroom_template()
    when = NOW + timedelta(minutes=minutes_later)
    sub = submission(
        tpl,
        location or area("BY", "restroom"),
        answers,
        started_at=(when - timedelta(minutes=5)).isoformat(),
        finished_at=when.isoformat(),
    )
    result = submit_inspection(session, sub, actor=who, origin=WEB, now=when)
    session.flush()
    return result


def odour_failed():
    return with_answer(all_pass(restroom_template()), "odour", value="fail", photos=[PHOTO], note="有异味")


def test_a_leads_failed_item_is_rework_for_the_cleaner_on_duty_and_only_a_passing_recheck_closes_it(session, demo):
    lead, cleaner, desk = demo.user("zhaoling"), demo.user("chenmei"), demo.user("liuxia")

    failed = check(session, lead, odour_failed())
    assert failed.inspection.check_kind == CheckKind.PATROL.value
    [rework] = failed.tickets
    assert (rework.kind, rework.state, rework.assignee) == ("rework", TicketState.ASSIGNED, cleaner)

    # The cleaner fixes it and says so with an after photo; the lead may not just close it.
    transition_ticket(session, rework, TicketState.IN_PROGRESS, actor=cleaner, origin=WEB, now=NOW)
    transition_ticket(session, rework, TicketState.RESOLVED, actor=cleaner, origin=WEB, now=NOW, photos=[AFTER])
    with pytest.raises(TransitionRefused) as refused:
        transition_ticket(session, rework, TicketState.CLOSED, actor=lead, origin=WEB, now=NOW)
    assert refused.value.code == "recheck_required"

    # The cleaner's own passing check is not a re-check.
    check(session, cleaner, all_pass(restroom_template()), minutes_later=20)
    assert rework.state == TicketState.RESOLVED

    # Customer service's spot check passes the item: the rework closes, with the re-check named.
    recheck = check(session, desk, all_pass(restroom_template()), minutes_later=40)
    assert recheck.inspection.check_kind == CheckKind.SPOT.value
    assert rework.state == TicketState.CLOSED and rework.closed_at == NOW + timedelta(minutes=40)
    assert rework.events[-1].data["recheck"] == str(recheck.inspection.id)

    sheet = sheet_for(session, rework.site, date(2026, 11, 1), NOW + timedelta(hours=1))
    [restroom] = [a for a in sheet.areas if a.area_id == rework.location_id]
    assert (restroom.rework, restroom.mean_hours_to_fix, restroom.mean_score) == (1, 0.7, 92.3)
    chen = next(r for r in sheet.cleaners if r.cleaner_id == cleaner.id)
    assert (chen.rework, chen.rework_late, chen.taken_off) == (1, 0, 2.0)  # "no odour" weighs 2, patrol × 1


def test_the_same_item_failing_again_before_it_is_fixed_stays_one_ticket(session, demo):
    lead, cleaner = demo.user("zhaoling"), demo.user("chenmei")
    [rework] = check(session, lead, odour_failed()).tickets
    transition_ticket(session, rework, TicketState.IN_PROGRESS, actor=cleaner, origin=WEB, now=NOW)
    transition_ticket(session, rework, TicketState.RESOLVED, actor=cleaner, origin=WEB, now=NOW)

    again = check(session, lead, odour_failed(), minutes_later=30)

    assert again.tickets == [rework]
    assert rework.state == TicketState.IN_PROGRESS  # the fix did not hold: back to work
    assert rework.events[-1].data["inspection"] == str(again.inspection.id)
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(Ticket.kind == "rework")) == 1


def test_rework_goes_to_whoever_has_the_area_on_that_shift(session, demo):
    lead, huang = demo.user("zhaoling"), demo.user("huangli")
    lobby = area("BY", "lobby")
    tpl = session.scalar(sa.select(Assignment.template_id).where(Assignment.location_id == lobby.id))
    lobby_tpl = session.get(ChecklistTemplate, tpl)
    answers = with_answer(all_pass(lobby_tpl), "floor", value="fail", photos=[PHOTO])
    afternoon = NOW + timedelta(hours=6)  # 16:30 in Shanghai: the late shift (Huang)
    sub = submission(lobby_tpl, lobby, answers, started_at=afternoon.isoformat(), finished_at=afternoon.isoformat())
    [rework] = submit_inspection(session, sub, actor=lead, origin=WEB, now=afternoon).tickets
    assert rework.assignee == huang

    # From tomorrow the lobby's early shift is Huang's too: Chen's duty ends today.
    tomorrow = date(2026, 11, 27)
    assign_area(session, lobby, huang, "early", tomorrow)
    morning = NOW + timedelta(days=1)
    answers = with_answer(all_pass(lobby_tpl), "glass", value="fail", photos=[PHOTO])
    sub = submission(lobby_tpl, lobby, answers, started_at=morning.isoformat(), finished_at=morning.isoformat())
    [second] = submit_inspection(session, sub, actor=lead, origin=WEB, now=morning).tickets
    assert second.assignee == huang


def test_periodic_tasks_become_assignments_on_their_dates_with_done_and_overdue(session, demo):
    by = session.scalar(sa.select(Site).where(Site.code == "BY"))
    weekly = add_periodic_task(
        session,
        by,
        location=area("BY", "lobby"),
        title="每月四次对大堂所需的地垫清洗（测试）",
        per_month=4,
        every_days=None,
        starts_on=date(2026, 11, 1),
    )
    three_weekly = add_periodic_task(
        session,
        by,
        location=area("BY", "corridor"),
        title="每三周一次对楼层通道地毯清洗（测试）",
        per_month=None,
        every_days=21,
        starts_on=date(2026, 11, 5),
    )
    windows = [(slot.first_day, slot.last_day) for slot in slots(weekly, by, date(2026, 11, 1), date(2026, 11, 30))]
    assert windows == [
        (date(2026, 11, 1), date(2026, 11, 7)),
        (date(2026, 11, 8), date(2026, 11, 15)),
        (date(2026, 11, 16), date(2026, 11, 22)),
        (date(2026, 11, 23), date(2026, 11, 30)),
    ]
    december = slots(three_weekly, by, date(2026, 12, 1), date(2026, 12, 31))
    assert [(slot.first_day, slot.last_day) for slot in december] == [(date(2026, 12, 17), date(2027, 1, 6))]

    made = make_assignments_through(session, by, date(2026, 11, 10))
    assert make_assignments_through(session, by, date(2026, 11, 10)) == 0  # twice changes nothing
    noon_on_the_10th = NOW.replace(day=10)
    mine = [
        s
        for s in task_statuses(session, by, date(2026, 11, 10), noon_on_the_10th)
        if s.assignment.schedule_id == weekly.id
    ]
    assert made >= 3 and [(s.assignment.due_on.day, s.status) for s in mine] == [(1, Status.MISSED), (8, Status.DUE)]
    assert mine[0].assignment.assignee.username == "chenmei"  # the lobby's cleaner on the window's first day


def test_the_board_counts_each_check_against_its_target(app, client, demo):
    with app.app_context():
        lead = demo.user("zhaoling")
        for n in range(3):
            check(db.session, lead, all_pass(restroom_template()), minutes_later=n * 60 - 120)
        check(db.session, demo.user("liuxia"), odour_failed(), minutes_later=30)
        db.session.commit()
        restroom = area("BY", "restroom").full_name
    login(client, "zhaoling")
    html = client.get("/cleaning?day=2026-11-26").get_data(as_text=True)
    card = re.search(rf'data-area="{re.escape(restroom)}">(.*?)</li>\s*</ul>', html, re.S).group(1)
    chips = {
        kind: (short, text)
        for kind, short, text in re.findall(r'data-check="(\w+)" data-short="(\d+)"\s+title="[^"]*">([^<]*)<', card)
    }
    assert chips == {"self": ("2", "Self 0/2"), "patrol": ("1", "Patrol 3/4"), "spot": ("0", "Spot 1/1")}
    assert "Score 84.6" in card and "Open rework: 1" in card
    summary = re.search(r'data-summary="patrol">([^<]*)<', html).group(1)
    assert summary.startswith("Lead&#39;s patrol short: ") and summary.endswith(" areas")


def test_the_xlsx_matches_the_page_cell_by_cell_and_the_pdf_carries_the_figures(app, client, demo):
    with app.app_context():
        check(db.session, demo.user("zhaoling"), odour_failed())
        check(db.session, demo.user("liuxia"), all_pass(restroom_template()), minutes_later=30)
        db.session.commit()
    login(client, "wangjl")
    html = client.get("/cleaning/scores?month=2026-11").get_data(as_text=True)
    page_tables = [
        [
            [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)]
            for tr in re.findall(r"<tr>(.*?)</tr>", table, re.S)
        ]
        for table in re.findall(r'<table class="figures"[^>]*>(.*?)</table>', html, re.S)
    ]
    assert len(page_tables) == 2 and "陈梅" in html

    response = client.get("/cleaning/scores.xlsx?month=2026-11")
    assert response.status_code == 200 and response.headers["Content-Disposition"].startswith("attachment")
    book = openpyxl.load_workbook(io.BytesIO(response.data))
    for sheet, page_rows in zip(book.worksheets[:2], page_tables):
        xlsx_rows = [
            ["—" if v is None else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)) for v in row]
            for row in sheet.iter_rows(min_row=2, values_only=True)
        ]
        assert xlsx_rows == page_rows
    chen = next(r for r in page_tables[0] if r[0] == "陈梅")
    assert chen[1:4] == ["98.5", "0.5", "2"]  # 100 + 0.5 (a clean spot check) − 2 (no odour × 2 at a patrol)
    rule_text = [row[0] for row in book.worksheets[2].iter_rows(values_only=True)]
    assert rule_text[0] == "Each cleaner starts the month with 100 points." and rule_text[0] in html

    pdf = client.get("/cleaning/scores.pdf?month=2026-11")
    document = pypdfium2.PdfDocument(pdf.data)
    text = "".join(document[n].get_textpage().get_text_range() for n in range(len(document)))
    document.close()
    assert "陈梅" in text and "98.5" in text and "Each cleaner starts the month with 100 points." in text


def test_the_scoring_rule_is_set_per_site_and_bad_values_change_nothing(app, client, demo):
    login(client, "wangjl")
    with app.app_context():
        by = db.session.scalar(sa.select(Site.id).where(Site.code == "BY"))
    fields = {
        "base_points": "120",
        "patrol_fail_points": "1",
        "spot_fail_points": "3",
        "self_fail_points": "0",
        "late_rework_points": "2",
        "clean_spot_points": "0.5",
        "self_target": "2",
        "patrol_target": "4",
        "spot_target": "1",
    }
    bad = post_form(
        client, f"/cleaning/rule?site={by}", {**fields, "patrol_target": "-1"}, token_from="/cleaning/setup"
    )
    assert bad.status_code == 422 and "Number must be between 0 and 24." in bad.get_data(as_text=True)
    assert "starts the month with 100 points" in client.get(f"/cleaning/scores?site={by}").get_data(as_text=True)

    good = post_form(client, f"/cleaning/rule?site={by}", fields, token_from="/cleaning/setup")
    assert good.status_code == 303
    assert "starts the month with 120 points" in client.get(f"/cleaning/scores?site={by}").get_data(as_text=True)


def test_a_cleaner_sees_her_task_on_today_with_its_own_wording(app, client, demo):
    login(client, "chenmei")
    html = client.get("/today").get_data(as_text=True)
    assert "每月四次对大堂所需的地垫清洗" in html and "by 11-30" in html
    with app.app_context():
        task = db.session.scalar(sa.select(Assignment).where(Assignment.note == "每月四次对大堂所需的地垫清洗"))
        assert task.due_on == date(2026, 11, 23) and task.due_by == date(2026, 11, 30)
    page = client.get(f"/checklists/{task.template_id}?location={task.location_id}&assignment={task.id}")
    assert "每月四次对大堂所需的地垫清洗" in page.get_data(as_text=True)


def test_assigning_an_area_to_a_cleaner_from_the_setup_page(app, client, demo):
    login(client, "zhaoling")
    with app.app_context():
        stairs = area("BY", "stairwell")
        chen = demo.user("chenmei")
        stairs_id, stairs_name, chen_id = stairs.id, stairs.full_name, chen.id
    missing = post_form(
        client,
        "/cleaning/duties",
        {"location_id": stairs_id, "cleaner_id": chen_id, "shift": "early", "starts_on": ""},
        token_from="/cleaning/setup",
    )
    assert missing.status_code == 422
    done = post_form(
        client,
        "/cleaning/duties",
        {"location_id": stairs_id, "cleaner_id": chen_id, "shift": "early", "starts_on": "2026-11-26"},
        token_from="/cleaning/setup",
    )
    assert done.status_code == 303
    with app.app_context():
        duties = db.session.scalars(
            sa.select(AreaDuty)
            .where(AreaDuty.location_id == stairs_id, AreaDuty.shift == "early")
            .order_by(AreaDuty.id)
        ).all()
        assert [(d.cleaner.username, d.ends_on) for d in duties] == [("huangli", date(2026, 11, 25)), ("chenmei", None)]
    assert stairs_name in client.get("/cleaning/setup").get_data(as_text=True)


def test_a_new_company_sees_no_check_targets_until_it_sets_them(app, client):
    """A company that never set targets saw "未达标 30/30" judged against the manual's defaults."""
    from inspections.library import install_departments
    from tests import factories

    with app.app_context():
        install_departments(db.session)
        site = factories.site(db.session)
        factories.place(db.session, site, area_type="restroom")
        factories.person(db.session, site, role=Role.MANAGER, username="newboss")
        site_id = site.id
        db.session.commit()
    login(client, "newboss", factories.PASSWORD)
    board = client.get("/cleaning").get_data(as_text=True)
    assert "data-no-targets" in board and 'data-summary="self"' not in board and "/1<" not in board
    console = client.get("/console").get_data(as_text=True)
    assert "0 / no target set" in console
    form = {"self_target": 2, "patrol_target": 1, "spot_target": 1}
    with app.app_context():
        from inspections.cleaning import save_rule
        from inspections.cleaning_scores import ScoringRule

        save_rule(db.session, site_id, ScoringRule(**form), actor=None, now=NOW)
        db.session.commit()
    board = client.get("/cleaning").get_data(as_text=True)
    assert "data-no-targets" not in board and "Targets per area per day: 2 self-checks" in board
    assert "0 / 4" in client.get("/console").get_data(as_text=True)
