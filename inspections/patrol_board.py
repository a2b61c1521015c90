"""Tonight's rounds of a site's routes, judged from the scans the server has."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.notices import notify
from foundation.org import Department, Site, User
from foundation.roles import Role
from inspections.patrol import PatrolRoute, PatrolScan
from inspections.rounds import Round, RoundStatus, ScanFact, Schedule, judge, night_of


@dataclass
class RouteNight:
    route: PatrolRoute
    day: date
    rounds: list[Round]
    scans: dict  # scan id → PatrolScan, for answers and who walked


def current_night(site: Site, now: datetime, schedule: Schedule | None = None) -> date:
    """The night under way now: the one whose rounds span ``now``; else, before noon, last night."""
    tz = ZoneInfo(site.timezone)
    local = now.astimezone(tz)
    if schedule is not None:
        for day in (local.date(), local.date() - timedelta(days=1)):
            start, end = night_of(tz, day, schedule)
            if start - schedule.window <= now <= end + schedule.every:
                return day
    return local.date() if local.hour >= 12 else local.date() - timedelta(days=1)


def route_night(session: Session, route: PatrolRoute, day: date, now: datetime) -> RouteNight:
    tz = ZoneInfo(route.site.timezone)
    schedule = Schedule.from_json(route.schedule)
    since = datetime.combine(day, schedule.start, tzinfo=tz) - timedelta(days=1)
    rows = list(
        session.scalars(
            select(PatrolScan)
            .where(
                PatrolScan.route_id == route.id,
                PatrolScan.scanned_at >= since,
                PatrolScan.scanned_at < since + timedelta(days=3),
            )
            .order_by(PatrolScan.scanned_at)
        )
    )
    facts = [ScanFact(r.checkpoint_id, r.scanned_at, r.clock_offset_ms, r.id) for r in rows]
    checkpoints = [c.location_id for c in route.stops]
    return RouteNight(route, day, judge(schedule, tz, day, checkpoints, facts, now), {r.id: r for r in rows})


def site_night(session: Session, site: Site, day: date, now: datetime) -> list[RouteNight]:
    routes = session.scalars(
        select(PatrolRoute).where(PatrolRoute.site_id == site.id, PatrolRoute.active).order_by(PatrolRoute.id)
    )
    return [route_night(session, route, day, now) for route in routes]


def raise_missed_round_notices(session: Session, site: Site, now: datetime) -> int:
    """Tell the security supervisors of every round of the last nights that was missed or left
    incomplete. Safe to run as often as wanted (cron, or when a supervisor opens the app)."""
    supervisors = security_supervisors(session, site)
    raised = 0
    tz = ZoneInfo(site.timezone)
    today = now.astimezone(tz).date()
    for route in session.scalars(select(PatrolRoute).where(PatrolRoute.site_id == site.id, PatrolRoute.active)):
        for day in (today - timedelta(days=1), today):
            for round_ in route_night(session, route, day, now).rounds:
                if round_.status not in (RoundStatus.MISSED, RoundStatus.INCOMPLETE):
                    continue
                due = round_.due_at.astimezone(tz)
                missed = len(round_.missed_checkpoints)
                for person in supervisors:
                    raised += notify(
                        session,
                        person,
                        key=f"round:{route.id}:{round_.due_at:%Y%m%dT%H%M}",
                        what="round_missed" if round_.status == RoundStatus.MISSED else "round_incomplete",
                        facts={"route": route.name, "due": f"{due:%m-%d %H:%M}", "site": site.name, "missed": missed},
                        link=f"/patrol?day={day.isoformat()}",
                        now=now,
                    )
    return raised


def security_supervisors(session: Session, site: Site) -> list[User]:
    """Supervisors of the security department at the site; its head; else the site's managers."""
    people = [u for u in session.scalars(select(User).where(User.active)) if u.may_see_site(site.id)]
    found = [u for u in people if u.role == Role.SUPERVISOR and u.department and u.department.code == "security"]
    head = session.scalar(select(Department.head_id).where(Department.code == "security"))
    found += [u for u in people if u.id == head and u not in found]
    return found or [u for u in people if u.role == Role.MANAGER]


@dataclass
class GuardNight:
    day: date
    rounds: list[tuple[PatrolRoute, Round, int]]  # the route, the round, how many of its scans were the guard's


def guard_week(session: Session, guard: User, monday: date, now: datetime) -> list[GuardNight]:
    """Seven nights of the guard's routes, each round with the guard's share of its scans."""
    routes = list(
        session.scalars(
            select(PatrolRoute)
            .where(PatrolRoute.site_id.in_(guard.site_ids), PatrolRoute.active)
            .order_by(PatrolRoute.id)
        )
    )
    week = []
    for offset in range(7):
        day = monday + timedelta(days=offset)
        rows = []
        for route in routes:
            night = route_night(session, route, day, now)
            for round_ in night.rounds:
                mine = sum(1 for s in round_.scans if night.scans[s.scan_id].guard_id == guard.id)
                rows.append((route, round_, mine))
        week.append(GuardNight(day, rows))
    return week
