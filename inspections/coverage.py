"""Today's field coverage of a site, for the manager's console: night rounds walked, cleaning
checks made and fit-out units inspected, each against what was due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from foundation.org import Site
from inspections.cleaning import cleaning_areas, rule_for, targets_set
from inspections.cleaning_scores import CheckKind
from inspections.fitout import DEPARTMENTS, UNDER_WAY, FitoutProject, inspected_on
from inspections.patrol import PatrolRoute
from inspections.patrol_board import current_night, route_night
from inspections.records import Inspection
from inspections.rounds import RoundStatus, Schedule
from inspections.today import local_day
from tickets.stats import weekly_counts

WALKED = (RoundStatus.COMPLETE, RoundStatus.LATE)


@dataclass(frozen=True)
class Tally:
    done: int
    due: int | None  # None: no target set

    @property
    def short(self) -> int:
        return max(0, self.due - self.done) if self.due is not None else 0


@dataclass(frozen=True)
class SiteCoverage:
    site: Site
    rounds: Tally  # rounds of the night under way whose window has opened; done = walked in full
    cleaning: Tally  # the day's check targets of every area (self, patrol, spot); extra checks do not count twice
    fitout: Tally  # units being fitted out × the three departments' daily inspections


def coverage(session: Session, site: Site, now: datetime) -> SiteCoverage:
    return SiteCoverage(site, _rounds(session, site, now), _cleaning(session, site, now), _fitout(session, site, now))


def _rounds(session: Session, site: Site, now: datetime) -> Tally:
    done = due = 0
    for route in session.scalars(select(PatrolRoute).where(PatrolRoute.site_id == site.id, PatrolRoute.active)):
        night = current_night(site, now, Schedule.from_json(route.schedule))
        for round_ in route_night(session, route, night, now).rounds:
            if round_.status != RoundStatus.UPCOMING:
                due += 1
                done += round_.status in WALKED
    return Tally(done, due)


def _cleaning(session: Session, site: Site, now: datetime) -> Tally:
    start = datetime.combine(local_day(site, now), time(), ZoneInfo(site.timezone))
    rule = rule_for(session, site.id)
    made = {
        (area, kind): n
        for area, kind, n in session.execute(
            select(Inspection.location_id, Inspection.check_kind, func.count())
            .where(
                Inspection.site_id == site.id,
                Inspection.check_kind.is_not(None),
                Inspection.finished_at >= start,
                Inspection.finished_at < start + timedelta(days=1),
            )
            .group_by(Inspection.location_id, Inspection.check_kind)
        )
    }
    if not targets_set(session, site.id):
        return Tally(sum(made.values()), None)
    done = due = 0
    for area in cleaning_areas(session, site.id):
        for kind in CheckKind:
            target = rule.target(kind)
            due += target
            done += min(target, made.get((area.id, kind.value), 0))
    return Tally(done, due)


def _fitout(session: Session, site: Site, now: datetime) -> Tally:
    today = local_day(site, now)
    projects = session.scalars(
        select(FitoutProject).where(
            FitoutProject.site_id == site.id, FitoutProject.state.in_([s.value for s in UNDER_WAY])
        )
    )
    done = due = 0
    for project in projects:
        due += len(DEPARTMENTS)
        done += sum(d.done for d in inspected_on(session, project, today))
    return Tally(done, due)


def inspection_weeks(session: Session, site_ids: list[int], week_starts: list[datetime]) -> tuple[list[int], list[int]]:
    """Checks finished per week, and how many of them failed an item."""
    checks, failed = weekly_counts(
        session,
        Inspection.finished_at,
        week_starts,
        Inspection.site_id.in_(site_ids),
        true(),
        Inspection.failed_count > 0,
    )
    return checks, failed
