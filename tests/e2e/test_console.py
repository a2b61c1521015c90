"""A complaint from the phone call to the call-back, seen from the desk's console: the desk
records it, assigns it to engineering, the engineer resolves it on a phone, the tenant is not
satisfied and it goes back to work; the console's counts follow each step."""

import time

import sqlalchemy as sa

from foundation.org import Department, Location, LocationKind, Site
from tests.e2e.conftest import _context, log_in, screenshot, wait_until_offline_ready
from tickets.models import Ticket
from tickets.states import OPEN_STATES
from webapp.extensions import db


def _quiet_unit(app) -> tuple[str, str]:
    """A unit of BY with no open complaint (so the desk is not offered to join one), and its label."""
    with app.app_context():
        busy = sa.select(Ticket.location_id).where(
            Ticket.kind == "complaint", Ticket.state.in_([s.value for s in OPEN_STATES])
        )
        unit = db.session.scalars(
            sa.select(Location)
            .join(Site)
            .where(Site.code == "BY", Location.kind == LocationKind.UNIT, Location.id.not_in(busy))
            .order_by(Location.id)
        ).first()
        return str(unit.id), unit.full_name


def _department_id(app, code: str) -> str:
    with app.app_context():
        return str(db.session.scalar(sa.select(Department.id).where(Department.code == code)))


def _state(app, number: str) -> str:
    with app.app_context():
        return db.session.scalar(sa.select(Ticket.state).where(Ticket.number == number)).value


def _wait_for_state(app, number: str, state: str, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while _state(app, number) != state:
        assert time.monotonic() < deadline, f"{number} is {_state(app, number)}, not {state}"
        time.sleep(0.2)


def _counts(page, base: str) -> dict:
    """The console's figures for customer service and engineering, as the desk reads them."""
    page.goto(f"{base}/console")
    got = {}
    for dept in ("customer_service", "engineering"):
        row = page.locator(f"#open-by-department tr[data-department={dept}]")
        got[dept] = {
            **{
                s: int(row.locator(f"td[data-state={s}]").inner_text())
                for s in ("new", "assigned", "in_progress", "resolved")
            },
            "callback": int(row.locator("td[data-callback]").inner_text()),
            "open": int(row.locator("td[data-open]").inner_text()),
        }
    return got


def _plus(before: dict, dept: str, **changes) -> dict:
    after = {d: dict(v) for d, v in before.items()}
    for key, n in changes.items():
        after[dept][key] += n
    return after


def test_a_phoned_complaint_is_resolved_on_a_phone_reopened_by_the_call_back_and_counted_on_the_console(
    app, live_server, browser
):
    base = live_server.url
    unit_id, unit_name = _quiet_unit(app)
    desk_context = _context(browser, desk=True)
    engineer_phone = _context(browser)
    desk = desk_context.new_page()
    log_in(desk, base, "liuxia")
    start = _counts(desk, base)
    screenshot(desk, "console-desk-zh-1280")

    # The tenant phones: the desk records the complaint.
    desk.goto(f"{base}/tickets/new")
    desk.click("label:has-text('投诉')")
    desk.fill("#contact_name", "王先生")
    desk.fill("#contact_phone", "13812345678")
    desk.select_option("#location_id", unit_id)
    desk.fill("#title", "会议室空调噪音大")
    desk.fill("#description", "下午两点开会，空调一直嗡嗡响")
    desk.fill("#available", "工作日 9:00-18:00")
    desk.click("button:has-text('开单')")
    desk.wait_for_url("**/tickets/BY-*")
    number = desk.url.rsplit("/", 1)[1]
    assert _state(app, number) == "new"
    step = _plus(start, "customer_service", new=1, open=1)
    assert _counts(desk, base) == step

    # It is a job for engineering: the desk gives it to 李华.
    desk.goto(f"{base}/tickets/{number}")
    desk.select_option("#department_id", _department_id(app, "engineering"))
    desk.select_option("#assignee_id", label="李华")
    desk.click("button:has-text('派单')")
    desk.wait_for_load_state()
    _wait_for_state(app, number, "assigned")
    step = _plus(_plus(step, "customer_service", new=-1, open=-1), "engineering", assigned=1, open=1)
    assert _counts(desk, base) == step

    # The engineer, on his phone, starts the job and marks it resolved.
    engineer = engineer_phone.new_page()
    log_in(engineer, base, "lihua")
    engineer.wait_for_selector(f"a.row:has-text('{number}')")
    engineer.click(f"a.row:has-text('{number}')")
    engineer.click("form.transition[data-to=in_progress] button")
    _wait_for_state(app, number, "in_progress")
    engineer.wait_for_selector("form.transition[data-to=resolved]", timeout=20000)
    engineer.click("form.transition[data-to=resolved] button")
    _wait_for_state(app, number, "resolved")
    step = _plus(step, "engineering", assigned=-1, resolved=1, callback=1)
    assert _counts(desk, base) == step
    screenshot(desk, "console-awaiting-callback-zh-1280")

    # The call-back: reached, not satisfied. The complaint goes back to work.
    desk.goto(f"{base}/tickets/{number}")
    desk.click("#callback label[for=reached-0]")
    desk.click("#callback label[for=satisfied-1]")
    desk.fill("#remark", "还是有噪音")
    desk.click("button:has-text('记录回访')")
    desk.wait_for_load_state()
    _wait_for_state(app, number, "in_progress")
    assert "还是有噪音" in desk.inner_text("body")
    step = _plus(step, "engineering", resolved=-1, callback=-1, in_progress=1)
    assert _counts(desk, base) == step

    # The console's list finds it among engineering's open work; on a phone the console still fits.
    desk.goto(f"{base}/console/tickets?department={_department_id(app, 'engineering')}&state=in_progress")
    assert desk.locator(f"tr[data-number='{number}']").count() == 1
    screenshot(desk, "console-tickets-zh-1280")
    manager_phone = _context(browser)
    manager = manager_phone.new_page()
    log_in(manager, base, "wangjl")
    manager.goto(f"{base}/console")
    assert manager.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(manager, "console-zh-360x740")
    manager.click("footer button[value=en]")  # English words are longer: her six tabs still fit
    manager.wait_for_selector("html[lang=en]")
    for path in ("/console", "/today", "/builder", "/people/tenants/import"):
        manager.goto(base + path)
        assert manager.evaluate("document.documentElement.scrollWidth") <= 360, path
        assert manager.locator(".tabs a").count() == 6
        screenshot(manager, f"manager-en-360{path.replace('/', '-')}")
    manager.click("footer button[value=zh]")
    manager.wait_for_selector("html[lang=zh-CN]")
    for page in (desk, engineer, manager):  # let each phone finish keeping its pages before the server goes
        page.goto(f"{base}/today")
        wait_until_offline_ready(page)
    errors = desk_context.errors + engineer_phone.errors + manager_phone.errors
    for context in (desk_context, engineer_phone, manager_phone):
        context.close()
    assert errors == []
