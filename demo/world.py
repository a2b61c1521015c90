"""Demo data in Chinese, from the seed's operating manual: two sites, staff for every role,
the standard checklists, a patrol route, a fit-out project, assignments and some open tickets."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from foundation.base import Base
from foundation.org import Department, Location, LocationKind, Origin, Site, Tenant, User
from foundation.people import create_user
from foundation.places import checkpoint_code
from foundation.roles import Role
from inspections.authoring import put_item
from inspections.checklists import ChecklistTemplate, Item, OnFail
from inspections.cleaning import assign_area, save_rule
from inspections.cleaning_scores import ScoringRule
from inspections.fitout import FitoutState, HotWorkPermit, advance, open_project
from inspections.library import install_standards
from inspections.patrol import PatrolRoute, RouteCheckpoint
from inspections.records import Assignment
from inspections.schedules import add_periodic_task, make_assignments_through
from inspections.today import local_day
from tickets.models import Priority, ServiceItem, TicketKind
from tickets.services import assign_ticket, open_ticket

DEMO_PASSWORD = "demo1234"

# username, name, role, department, site codes
DEMO_PEOPLE = [
    ("admin", "系统管理员", Role.ADMIN, None, ["BY", "XH"]),
    ("wangjl", "王经理", Role.MANAGER, "customer_service", ["BY"]),
    ("liuxia", "刘霞", Role.CUSTOMER_SERVICE, "customer_service", ["BY"]),
    ("zhaoling", "赵玲", Role.SUPERVISOR, "cleaning", ["BY"]),
    ("chenmei", "陈梅", Role.CLEANER, "cleaning", ["BY"]),
    ("huangli", "黄丽", Role.CLEANER, "cleaning", ["BY"]),
    ("zhangwei", "张伟", Role.GUARD, "security", ["BY"]),
    ("liqiang", "李强", Role.SUPERVISOR, "security", ["BY"]),
    ("lihua", "李华", Role.ENGINEER, "engineering", ["BY"]),
    ("hemin", "何敏", Role.MANAGER, "customer_service", ["XH"]),
    ("sunqiang", "孙强", Role.GUARD, "security", ["XH"]),
    ("zhoufang", "周芳", Role.CLEANER, "cleaning", ["XH"]),
]


def is_loaded(session: Session) -> bool:
    return session.scalar(select(Site.id).limit(1)) is not None


def clear_all(session: Session) -> None:
    """Delete every row of every table, children first."""
    session.execute(update(Department).values(head_id=None))  # the one cycle: department ⇄ head
    for table in reversed(Base.metadata.sorted_tables):
        session.execute(delete(table))
    session.flush()


def load_demo(session: Session, now: datetime) -> None:
    templates = install_standards(session)
    departments = {d.code: d for d in session.scalars(select(Department))}
    by = Site(code="BY", name="柏彦大厦", timezone="Asia/Shanghai", address="写字楼（地上22层，地下B1–B3停车场）")
    xh = Site(code="XH", name="新华路商务楼", timezone="Asia/Shanghai", address="小型商务楼（地上6层）")
    session.add_all([by, xh])
    session.flush()

    loc = _Locations(session)
    floors = {
        name: loc.add(by, LocationKind.FLOOR, name)
        for name in ["B3", "B2", "B1", "1F 大堂层", "2F", "3F", "12F", "22F", "屋顶"]
    }
    loc.add(by, LocationKind.AREA, "大堂", floors["1F 大堂层"], "lobby")
    loc.add(by, LocationKind.AREA, "东门入口", floors["1F 大堂层"], "lobby")
    loc.add(by, LocationKind.AREA, "前台", floors["1F 大堂层"], "front_desk")
    loc.add(by, LocationKind.AREA, "外围绿化带", floors["1F 大堂层"], "greening")
    for floor in ["1F 大堂层", "2F", "3F", "12F", "22F"]:
        loc.add(by, LocationKind.AREA, "男卫生间", floors[floor], "restroom")
        loc.add(by, LocationKind.AREA, "女卫生间", floors[floor], "restroom")
        loc.add(by, LocationKind.AREA, "电梯厅", floors[floor], "lift_hall")
        loc.add(by, LocationKind.AREA, "楼道", floors[floor], "corridor")
    loc.add(by, LocationKind.AREA, "东侧安全楼梯", floors["1F 大堂层"], "stairwell")
    loc.add(by, LocationKind.AREA, "西侧安全楼梯", floors["1F 大堂层"], "stairwell")
    for floor in ["B1", "B2", "B3"]:
        loc.add(by, LocationKind.AREA, "地库", floors[floor], "car_park")
    loc.add(by, LocationKind.AREA, "管理处办公室", floors["2F"], "office")
    loc.add(by, LocationKind.AREA, "外围广场及麻石地", floors["1F 大堂层"], "exterior")
    units = {
        name: loc.add(by, LocationKind.UNIT, name, floors[floor])
        for name, floor in [("1201", "12F"), ("1202", "12F"), ("2201", "22F"), ("2208", "22F")]
    }
    checkpoints = [
        loc.add(by, LocationKind.CHECKPOINT, name, floors[floor], qr_code=checkpoint_code())
        for name, floor in [
            ("B3 车库东侧消防门", "B3"),
            ("B3 水泵房", "B3"),
            ("B2 车库坡道", "B2"),
            ("B1 配电房", "B1"),
            ("1F 东侧安全楼梯", "1F 大堂层"),
            ("22F 消防走廊", "22F"),
            ("屋顶出口", "屋顶"),
        ]
    ]
    xh_floor = loc.add(xh, LocationKind.FLOOR, "1F")
    loc.add(xh, LocationKind.AREA, "大堂", xh_floor, "lobby")
    loc.add(xh, LocationKind.AREA, "卫生间", xh_floor, "restroom")
    xh_unit = loc.add(xh, LocationKind.UNIT, "101", xh_floor)
    loc.add(xh, LocationKind.CHECKPOINT, "1F 后门", xh_floor, qr_code=checkpoint_code())
    session.flush()

    sites = {"BY": by, "XH": xh}
    people = {
        username: create_user(
            session,
            username=username,
            display_name=name,
            password=DEMO_PASSWORD,
            role=role,
            sites=[sites[c] for c in codes],
            department=departments[dept] if dept else None,
        )
        for username, name, role, dept, codes in DEMO_PEOPLE
    }
    for code, head in [
        ("customer_service", "wangjl"),
        ("cleaning", "zhaoling"),
        ("security", "liqiang"),
        ("engineering", "lihua"),
    ]:
        departments[code].head_id = people[head].id
    for site in sites.values():  # the demo company has set its check targets: the manual's
        save_rule(session, site.id, ScoringRule(), actor=None, now=now)

    route = PatrolRoute(
        site_id=by.id,
        name="夜间巡逻路线",
        schedule={"start": "22:00", "end": "06:00", "every_minutes": 120, "window_minutes": 15},
    )
    route.checkpoints = [
        RouteCheckpoint(location_id=c.id, position=n, template_id=templates["patrol_checkpoint"].id)
        for n, c in enumerate(checkpoints)
    ]
    session.add(route)

    tenants = [
        Tenant(
            site_id=by.id,
            unit_id=units["1201"].id,
            name="瑞丰科技有限公司",
            contact_name="周先生",
            contact_phone="13800000001",
        ),
        Tenant(
            site_id=by.id,
            unit_id=units["2201"].id,
            name="恒信律师事务所",
            contact_name="吴女士",
            contact_phone="13800000002",
        ),
        Tenant(
            site_id=xh.id, unit_id=xh_unit.id, name="新华文化传媒", contact_name="郑先生", contact_phone="13800000003"
        ),
    ]
    session.add_all(tenants)
    session.flush()
    today = local_day(by, now)
    project = open_project(
        session,
        site=by,
        unit=units["1201"],
        tenant=tenants[0],
        contractor="华艺装饰工程有限公司",
        permit_number="二装许可-2026-018",
        starts_on=today - timedelta(days=10),
        ends_on=today + timedelta(days=35),
        drawings_ref="审图意见 GC-2026-041（工程部已签字）",
        noisy_hours="12:00-14:00,18:00-08:00",
        worker_passes=12,
        deposit_cents=5_000_000,
        actor=people["wangjl"],
    )
    advance(project, FitoutState.APPROVED)
    advance(project, FitoutState.IN_PROGRESS)
    project.hot_work_permits.append(
        HotWorkPermit(number="动火证-2026-031", starts_on=today - timedelta(days=2), ends_on=today + timedelta(days=3))
    )

    by_areas = loc.by_type(by)
    for day in (today + timedelta(days=n) for n in range(7)):
        _assign(session, by, templates["cleaning_restroom"], by_areas["restroom"][0], people["chenmei"], day)
        _assign(session, by, templates["cleaning_lobby"], by_areas["lobby"][0], people["chenmei"], day)
        _assign(session, by, templates["cleaning_restroom"], by_areas["restroom"][0], people["zhaoling"], day)
        _assign(session, by, templates["fitout_eng"], units["1201"], people["lihua"], day)
        _assign(session, by, templates["fitout_sec"], units["1201"], people["zhangwei"], day)
        _assign(session, by, templates["fitout_cs"], units["1201"], people["liuxia"], day)
        _assign(session, by, templates["shift_handover"], by_areas["front_desk"][0], people["liuxia"], day)
    _cleaning_regime(session, by, by_areas, people, today)
    xh_areas = loc.by_type(xh)
    _assign(session, xh, templates["cleaning_restroom"], xh_areas["restroom"][0], people["zhoufang"], today)

    # The service list of §3.12: the building's own facilities are free; work inside a unit for
    # the tenant is paid at the posted rate (the demo's rates are examples).
    session.add_all(
        [
            ServiceItem(site_id=by.id, name=name, price_cents=price)
            for name, price in [
                ("公共设施维修", 0),
                ("单元内空调维修（保修期内）", 0),
                ("单元内更换灯管", 2_000),
                ("单元内更换水龙头", 8_000),
                ("单元内疏通下水道", 10_000),
                ("单元内空调清洗", 15_000),
                ("单元内更换门锁", 12_000),
            ]
        ]
    )
    desk = Origin("cli")
    leak = open_ticket(
        session,
        kind=TicketKind.HAZARD,
        title="B2 车库坡道：顶板渗水",
        site=by,
        location=checkpoints[2],
        department=departments["engineering"],
        priority=Priority.HIGH,
        description="保安夜巡发现顶板渗水，地面有积水，已放置防滑提示牌。",
        actor=people["zhangwei"],
        origin=desk,
        now=now - timedelta(hours=5),
    )
    assign_ticket(
        session,
        leak,
        assignee=people["lihua"],
        department=departments["engineering"],
        actor=people["wangjl"],
        origin=desk,
        now=now - timedelta(hours=4),
    )
    open_ticket(
        session,
        kind=TicketKind.REPAIR,
        title="1201：空调不制冷",
        site=by,
        location=units["1201"],
        department=departments["engineering"],
        description="客户周先生来电报修，预约今天下午三点后维修。",
        actor=people["liuxia"],
        origin=desk,
        now=now - timedelta(hours=2),
    )
    open_ticket(
        session,
        kind=TicketKind.COMPLAINT,
        title="2201：午间装修噪音",
        site=by,
        location=units["2201"],
        department=departments["customer_service"],
        priority=Priority.HIGH,
        description="恒信律师事务所投诉 12 层午间电钻噪音，影响会议。",
        actor=people["liuxia"],
        origin=desk,
        now=now - timedelta(hours=1),
    )
    open_ticket(
        session,
        kind=TicketKind.REPAIR,
        title="101：卫生间水龙头漏水",
        site=xh,
        location=xh_unit,
        department=departments["engineering"],
        actor=people["hemin"],
        origin=desk,
        now=now,
    )
    # 王经理 is adding the manual's air vents (§3.6.4) to the lift-hall standard: a draft, unpublished.
    vents = Item(
        id="vents",
        type="pass_fail",
        label="电梯间空调风口",
        standard="电梯间上方的四个空调风口无尘土。",
        photo_on_fail=True,
        on_fail=OnFail(ticket_kind="rework", department="cleaning", due_hours=2),
    )
    put_item(session, templates["cleaning_lift_hall"], vents, section=0, replacing=None)
    session.flush()


def _cleaning_regime(
    session: Session, site: Site, areas: dict[str, list[Location]], people: dict[str, User], today: date
) -> None:
    """Who cleans what on which shift, and the periodic tasks of §3.6.6."""
    month_start = today.replace(day=1)
    low_floors = [
        a
        for kind in ("restroom", "lift_hall", "corridor")
        for a in areas[kind]
        if a.parent.name in ("1F 大堂层", "2F", "3F")
    ]
    for area in areas["lobby"] + low_floors + areas["office"]:
        assign_area(session, area, people["chenmei"], "early", month_start)
    for area in (
        [a for a in areas["restroom"] + areas["lift_hall"] + areas["corridor"] if a not in low_floors]
        + areas["stairwell"]
        + areas["car_park"]
        + areas["exterior"]
    ):
        assign_area(session, area, people["huangli"], "early", month_start)
    for area in areas["lobby"] + areas["restroom"][:2]:
        assign_area(session, area, people["huangli"], "late", month_start)
    exterior, lobby, car_park = areas["exterior"][0], areas["lobby"][0], areas["car_park"][0]
    for location, title, per_month, every_days in [
        (exterior, "每月对外围麻石地进行彻底清洗", 1, None),
        (car_park, "每月对B1~B3的高位进行掸尘、擦拭", 1, None),
        (areas["corridor"][3], "每三周一次对楼层通道地毯清洗", None, 21),
        (areas["lift_hall"][0], "每月两次对电梯槽清理", 2, None),
        (exterior, "每月两次对外围地沟清理", 2, None),
        (lobby, "每月四次对大堂墙壁立柱擦拭", 4, None),
        (lobby, "每月四次对大堂所需的地垫清洗", 4, None),
        (car_park, "每月四次对车道进出口、减速台、车库地面进行清洁卫生", 4, None),
        (exterior, "每月四次对外围自行车棚进行清扫", 4, None),
    ]:
        add_periodic_task(
            session, site, location=location, title=title, per_month=per_month, every_days=every_days, starts_on=today
        )
    make_assignments_through(session, site, today)


def _assign(
    session: Session, site: Site, template: ChecklistTemplate, location: Location, person: User, day: date
) -> None:
    session.add(
        Assignment(site_id=site.id, template_id=template.id, location_id=location.id, assignee_id=person.id, due_on=day)
    )


class _Locations:
    def __init__(self, session: Session) -> None:
        self.session = session
        self.made: list[Location] = []

    def add(
        self,
        site: Site,
        kind: LocationKind,
        name: str,
        parent: Location | None = None,
        area_type: str | None = None,
        qr_code: str | None = None,
    ) -> Location:
        location = Location(site=site, kind=kind, name=name, parent=parent, area_type=area_type, qr_code=qr_code)
        self.session.add(location)
        self.made.append(location)
        return location

    def by_type(self, site: Site) -> dict[str, list[Location]]:
        found: dict[str, list[Location]] = {}
        for location in self.made:
            if location.site is site and location.area_type:
                found.setdefault(location.area_type, []).append(location)
        return found
