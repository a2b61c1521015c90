"""What a manager meets at the seams a security probe found, on a 360 px phone in Chinese: a
webhook to an internal address refused in words, a public one paused and deleted; a company-wide
checklist shown read-only to another site's manager; a spreadsheet bomb refused by the import."""

from __future__ import annotations

import io

from openpyxl import Workbook

from tests.e2e.conftest import log_in, screenshot


def test_a_manager_is_told_why_a_webhook_is_refused_and_pauses_and_deletes_one(live_server, phone):
    base = live_server.url
    log_in(phone, base, "wangjl")
    phone.goto(f"{base}/webhooks")
    phone.fill("#url", "http://169.254.169.254/latest/meta-data/")
    phone.click("form[novalidate] button")
    phone.wait_for_selector("text=请使用 https 地址。")
    phone.fill("#url", "https://10.0.0.8/sms")
    phone.click("form[novalidate] button")
    phone.wait_for_selector("text=此地址在内部网络中")
    screenshot(phone, "webhook-refused-zh-360")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.fill("#url", "https://93.184.216.34/hooks/" + "very-long-path-" * 6)
    phone.click("form[novalidate] button")
    phone.wait_for_selector("[data-webhook]")
    phone.click("[data-webhook] button:has-text('暂停')")
    phone.wait_for_selector("[data-webhook] .badge:has-text('已暂停')")
    screenshot(phone, "webhook-paused-zh-360")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    phone.click("[data-webhook] button:has-text('删除')")
    phone.wait_for_selector("text=Webhook 已删除。")
    assert phone.locator("[data-webhook]").count() == 0


def test_another_sites_manager_reads_a_company_wide_checklist_and_a_bomb_is_refused(live_server, phone, tmp_path):
    base = live_server.url
    log_in(phone, base, "hemin")
    phone.goto(f"{base}/builder")
    phone.click("text=清洁标准：卫生间")
    phone.wait_for_selector("[data-read-only]")
    assert phone.locator("text=变更与发布").count() == 0
    screenshot(phone, "builder-company-wide-read-only-zh-360")
    book = Workbook()
    book.active["A1"] = "type"
    book.active["XFD1048576"] = "x"
    bomb = tmp_path / "bomb.xlsx"
    out = io.BytesIO()
    book.save(out)
    bomb.write_bytes(out.getvalue())
    phone.goto(f"{base}/builder/import")
    phone.set_input_files("#file", str(bomb))
    phone.check("input[name=roles][value=cleaner]")
    phone.click("button.primary")
    phone.wait_for_selector("[data-import-problems]")
    assert "工作簿超过 50 列" in phone.inner_text("[data-import-problems]")
    screenshot(phone, "builder-import-bomb-refused-zh-360")


def test_the_calendar_with_days_to_come_fits_a_phone(live_server, phone):
    log_in(phone, live_server.url, "zhaoling")
    phone.goto(f"{live_server.url}/schedules/calendar")
    phone.wait_for_selector("[data-calendar]")
    assert phone.locator("td[data-status=planned]:not(:empty)").count() > 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    screenshot(phone, "calendar-planned-zh-360")


def test_the_schedule_form_shows_the_fields_of_the_chosen_frequency(live_server, phone):
    log_in(phone, live_server.url, "zhaoling")
    phone.goto(f"{live_server.url}/schedules")
    phone.wait_for_selector("form[data-schedule-form]")
    shown = lambda name: phone.locator(f"form[data-schedule-form] [name={name}]").first.is_visible()  # noqa: E731
    phone.select_option("#rule", "weekly")
    assert shown("weekdays") and shown("times") and not shown("per_month") and not shown("every_days")
    phone.select_option("#rule", "monthly")
    assert shown("per_month") and not shown("weekdays") and not shown("times")
    phone.select_option("#who", "person")
    assert shown("assignee_id") and not shown("role")
    phone.select_option("#who", "role")
    assert shown("role") and not shown("assignee_id")
    screenshot(phone, "schedule-form-monthly-zh-360")
