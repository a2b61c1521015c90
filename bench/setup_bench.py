"""A company sets itself up: a place tree of about 5,000 places and 500 people through the same
preview-then-apply path the pages use, against a bare Core insert of the same rows; and the
calendar of a month of a 40-building estate, against a bare count of the same assignments."""

from __future__ import annotations

import gc
import time
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from bench.world import build_app, fresh_database_url
from foundation.base import utcnow
from foundation.org import Location, LocationKind, User, user_site
from foundation.people_import import apply_people, plan_people
from foundation.place_import import AREA_TYPE_NAMES, apply_plan, plan_import
from foundation.places import create_site
from foundation.roles import Role
from foundation.sheets import write_sheet
from inspections.library import install_standards, start_company
from inspections.records import Assignment
from inspections.schedules import Rule, Schedule, Who, check_schedule, make_assignments_through, month_calendar
from webapp.extensions import db

BUILDINGS, FLOORS, PER_FLOOR = 20, 10, 24  # 20 + 200 + 4,800 = 5,020 places
PEOPLE = 500
ESTATE_BUILDINGS, ESTATE_FLOORS = 40, 5  # the calendar: 400 restrooms, checked three times a day
AREA_NAMES = ["男卫生间", "女卫生间", "电梯厅", "走廊", "楼梯间", "茶水间"]


def place_rows() -> list[list[str]]:
    rows = []
    for b in range(BUILDINGS):
        building = f"{b + 1}号楼"
        rows.append([building, "", "", "楼栋", "", ""])
        for f in range(FLOORS):
            floor = f"{f + 1}F"
            for n in range(PER_FLOOR):
                name = f"{AREA_NAMES[n % len(AREA_NAMES)]}{n // len(AREA_NAMES) + 1}"
                area_type = {0: "卫生间", 1: "卫生间", 2: "电梯厅", 3: "走廊", 4: "楼梯间"}.get(n % len(AREA_NAMES), "")
                rows.append([building, floor, name, "区域", area_type, ""])
    return rows


def people_sheet(site_code: str) -> bytes:
    header = ["用户名", "姓名", "角色", "部门", "项目", "初始密码"]
    roles = ["保洁员", "保安", "工程部", "客服"]
    rows = [[f"user{n:03d}", f"员工{n}", roles[n % 4], "", site_code, "initial-pass-1"] for n in range(PEOPLE)]
    return write_sheet("xlsx", header, rows)


def bench_setup(kind: str, postgres_url: str | None, folder) -> dict:
    app = build_app(fresh_database_url(kind, postgres_url, folder), folder)
    header = ["楼栋", "楼层", "位置", "类型", "保洁区域类型", "已停用"]
    rows = place_rows()
    sheet = write_sheet("xlsx", header, rows)
    result: dict = {"places": len(rows) + BUILDINGS * FLOORS}  # floors are implied by their rows
    with app.app_context():
        admin = start_company(db.session, username="boss", display_name="王总", password="bench-pass-1")
        site = create_site(db.session, code="BJ", name="滨江中心", timezone="Asia/Shanghai")
        bare_site = create_site(db.session, code="BB", name="基准", timezone="Asia/Shanghai")
        db.session.commit()

        # Each timing starts from a collected heap, as each request would in a server whose
        # collector runs between them: no timing pays for the garbage of the one before.
        gc.collect()
        t0 = time.perf_counter()
        preview = plan_import(db.session, site, "places.xlsx", sheet)  # the preview page
        assert not preview.problems and len(preview.create) == result["places"], preview.problems[:3]
        db.session.rollback()
        result["preview_s"] = time.perf_counter() - t0
        gc.collect()
        t0 = time.perf_counter()
        plan = plan_import(db.session, site, "places.xlsx", sheet)  # the confirmation reads the file again
        apply_plan(db.session, site, plan, utcnow())
        db.session.commit()
        result["apply_s"] = time.perf_counter() - t0
        result["import_s"] = result["preview_s"] + result["apply_s"]

        # Baseline: the same rows, one Core INSERT per level with the ids worked out beforehand.
        gc.collect()
        t0 = time.perf_counter()
        first_id = db.session.scalar(sa.select(sa.func.max(Location.id))) + 1
        ids, levels = {}, ([], [], [])
        for building, floor, name, _kind, area_type, _archived in rows:
            for path, level in (((building, "", ""), 0), ((building, floor, ""), 1), ((building, floor, name), 2)):
                if path[level] and path not in ids:
                    ids[path] = first_id + len(ids)
                    parent = (building, "", "") if level == 1 else (building, floor, "") if level == 2 else None
                    kind_ = (LocationKind.BUILDING, LocationKind.FLOOR, LocationKind.AREA)[level]
                    levels[level].append(
                        {
                            "id": ids[path],
                            "site_id": bare_site.id,
                            "parent_id": ids.get(parent) if parent else None,
                            "kind": kind_,
                            "name": path[level],
                            "area_type": AREA_TYPE_NAMES.get(area_type) if level == 2 else None,
                        }
                    )
        for level in levels:
            db.session.execute(sa.insert(Location.__table__), level)
        db.session.commit()
        result["bare_s"] = time.perf_counter() - t0
        assert len(ids) == result["places"]
        result["ratio"] = result["import_s"] / result["bare_s"]

        # 500 people, the same way; the baseline hashes the same passwords and inserts the rows.
        people = people_sheet(site.code)
        t0 = time.perf_counter()
        plan = plan_people(db.session, admin, "people.xlsx", people)
        assert not plan.problems and len(plan.create) == PEOPLE, plan.problems[:3]
        db.session.rollback()
        plan = plan_people(db.session, admin, "people.xlsx", people)
        apply_people(db.session, plan, admin)
        db.session.commit()
        result["people_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        users = []
        for n in range(PEOPLE):
            user = User(username=f"bare{n:03d}", display_name=f"员工{n}", role=Role.CLEANER, locale="zh")
            user.set_password("initial-pass-1")
            users.append(
                {
                    "username": user.username,
                    "display_name": user.display_name,
                    "role": Role.CLEANER,
                    "password_hash": user.password_hash,
                    "locale": "zh",
                    "phone": "",
                    "active": True,
                    "created_at": utcnow(),
                }
            )
        made = db.session.execute(sa.insert(User).returning(User.id), users).scalars().all()
        db.session.execute(sa.insert(user_site), [{"user_id": i, "site_id": bare_site.id} for i in made])
        db.session.commit()
        result["people_bare_s"] = time.perf_counter() - t0
        result["people_ratio"] = result["people_s"] / result["people_bare_s"]
    result["calendar"] = bench_calendar(kind, postgres_url, folder)
    return result


def bench_calendar(kind: str, postgres_url: str | None, folder) -> dict:
    """A 40-building estate: 400 restrooms, checked at 08:00, 12:00 and 16:00 by whoever is on
    duty (the cleaning head here). The month's calendar: the first view (which makes the month's
    36,000 assignments) and a later one, against a bare count of them by day."""
    app = build_app(fresh_database_url(kind, postgres_url, folder), folder)
    with app.app_context():
        site = create_site(db.session, code="EST", name="滨江花园", timezone="Asia/Shanghai")
        cleaner = User(username="head", display_name="保洁主管", role=Role.SUPERVISOR, locale="zh")
        cleaner.set_password("bench-pass-1")
        cleaner.sites = [site]
        db.session.add(cleaner)
        db.session.flush()
        rows = []
        for b in range(ESTATE_BUILDINGS):
            for f in range(ESTATE_FLOORS):
                for name in ("男卫生间", "女卫生间"):
                    rows.append([f"{b + 1}栋", f"{f + 1}F", name, "区域", "卫生间", ""])
        sheet = write_sheet("csv", ["楼栋", "楼层", "位置", "类型", "保洁区域类型", "已停用"], rows)
        apply_plan(db.session, site, plan_import(db.session, site, "estate.csv", sheet), utcnow())
        restroom = next(t for t in install_standards(db.session).values() if t.area_type == "restroom")
        month = date(2026, 11, 1)
        schedule = Schedule(
            site_id=site.id,
            template_id=restroom.id,
            area_type="restroom",
            who=Who.PERSON,
            assignee_id=cleaner.id,
            rule=Rule.DAILY,
            times=["08:00", "12:00", "16:00"],
            starts_on=month,
        )
        check_schedule(schedule)
        db.session.add(schedule)
        db.session.commit()
        now = datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
        t0 = time.perf_counter()
        make_assignments_through(db.session, site, date(2026, 11, 30))  # the assignments job's work
        db.session.commit()
        first_s = time.perf_counter() - t0
        found = sum(d.total for d in month_calendar(db.session, site, month, now))
        assert found == ESTATE_BUILDINGS * ESTATE_FLOORS * 2 * 3 * 30, found
        times = []
        for _ in range(5):
            t0 = time.perf_counter()
            month_calendar(db.session, site, month, now)
            db.session.commit()
            times.append(time.perf_counter() - t0)
        later_s = sorted(times)[2]
        bare = []
        for _ in range(5):
            t0 = time.perf_counter()
            db.session.execute(
                sa.select(Assignment.due_on, sa.func.count())
                .where(
                    Assignment.site_id == site.id,
                    Assignment.due_on >= month,
                    Assignment.due_on < month + timedelta(days=30),
                )
                .group_by(Assignment.due_on)
            ).all()
            bare.append(time.perf_counter() - t0)
        bare_s = sorted(bare)[2]
    return {
        "assignments": found,
        "first_s": first_s,
        "later_s": later_s,
        "bare_s": bare_s,
        "ratio": later_s / bare_s,
    }
