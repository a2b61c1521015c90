"""The cleaning regime's arithmetic (§3.6.8), with no database: who answers for an area at a
moment, how many of each check an area had against its targets, and the month's points.

The rule is the site's own (``ScoringRule``) and is printed on the score sheet, so a cleaner
can see why they got their score.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from statistics import mean
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator


class CheckKind(str, enum.Enum):
    """The three checks (三查) on one standard."""

    SELF = "self"  # 员工自查: the cleaner, on their own areas
    PATROL = "patrol"  # 领班巡查: the lead, at least four a day per area
    SPOT = "spot"  # 客服人员抽查: customer service, at least one a day per area


class Shift(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,16}$")]
    name: Annotated[str, Field(min_length=1, max_length=20)]
    start: time
    end: time  # may be before start: the shift runs past midnight

    def covers(self, moment: time) -> bool:
        if self.start <= self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


class ScoringRule(BaseModel):
    """How a site turns checks into a cleaner's monthly points (加减分, §3.6.8 2])."""

    model_config = ConfigDict(extra="forbid")
    base_points: Annotated[float, Field(ge=0, le=1000)] = 100
    # Checks per area per day (§3.6.8 1]: patrol ≥ 4, spot ≥ 1; self-checks "不断地").
    self_target: Annotated[int, Field(ge=0, le=24)] = 2
    patrol_target: Annotated[int, Field(ge=0, le=24)] = 4
    spot_target: Annotated[int, Field(ge=0, le=24)] = 1
    # Points taken off per failed item, times the item's weight, by who found it. A failure the
    # cleaner finds themselves costs nothing: finding and fixing it is the point of the self-check.
    self_fail_points: Annotated[float, Field(ge=0, le=100)] = 0
    patrol_fail_points: Annotated[float, Field(ge=0, le=100)] = 1
    spot_fail_points: Annotated[float, Field(ge=0, le=100)] = 2
    late_rework_points: Annotated[float, Field(ge=0, le=100)] = 2  # a rework not fixed by its due time
    clean_spot_points: Annotated[float, Field(ge=0, le=100)] = 0.5  # a spot check with nothing failed
    shifts: list[Shift] = Field(
        default_factory=lambda: [
            Shift(code="early", name="早班", start=time(6), end=time(14)),
            Shift(code="late", name="晚班", start=time(14), end=time(22)),
        ]
    )

    @model_validator(mode="after")
    def _unique_shifts(self) -> ScoringRule:
        codes = [s.code for s in self.shifts]
        if not codes or len(codes) != len(set(codes)):
            raise ValueError("a rule needs at least one shift, each with its own code")
        return self

    def target(self, kind: CheckKind) -> int:
        return {
            CheckKind.SELF: self.self_target,
            CheckKind.PATROL: self.patrol_target,
            CheckKind.SPOT: self.spot_target,
        }[kind]

    def fail_points(self, kind: CheckKind) -> float:
        return {
            CheckKind.SELF: self.self_fail_points,
            CheckKind.PATROL: self.patrol_fail_points,
            CheckKind.SPOT: self.spot_fail_points,
        }[kind]

    def shift_at(self, moment: time) -> Shift | None:
        return next((s for s in self.shifts if s.covers(moment)), None)


@dataclass(frozen=True)
class DutyFact:
    """A cleaner answers for an area on a shift from ``starts_on`` to ``ends_on`` (inclusive)."""

    area_id: int
    cleaner_id: int
    shift: str
    starts_on: date
    ends_on: date | None = None

    def on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or day <= self.ends_on)


@dataclass(frozen=True)
class CheckFact:
    area_id: int
    at: datetime  # aware: when the check was done
    kind: CheckKind
    score: float | None
    failed_weights: tuple[float, ...] = ()  # one entry per failed item


@dataclass(frozen=True)
class ReworkFact:
    number: str
    area_id: int
    opened_at: datetime
    due_at: datetime
    closed_at: datetime | None


def responsible(duties: list[DutyFact], area_id: int, local: datetime, rule: ScoringRule) -> int | None:
    """The cleaner who answers for ``area_id`` at the local time ``local``: the one on the shift
    then; outside every shift, whoever had the area that day (the earliest duty first)."""
    day_duties = [d for d in duties if d.area_id == area_id and d.on(local.date())]
    shift = rule.shift_at(local.time())
    if shift is not None:
        on_shift = [d for d in day_duties if d.shift == shift.code]
        if on_shift:
            return on_shift[0].cleaner_id
    return day_duties[0].cleaner_id if day_duties else None


@dataclass
class DayCount:
    kind: CheckKind
    done: int
    target: int

    @property
    def short(self) -> int:
        return max(0, self.target - self.done)


def day_counts(checks: list[CheckFact], rule: ScoringRule) -> list[DayCount]:
    """One area's checks of one day against the targets, in the order self, patrol, spot."""
    done = defaultdict(int)
    for check in checks:
        done[check.kind] += 1
    return [DayCount(kind, done[kind], rule.target(kind)) for kind in CheckKind]


@dataclass
class CleanerRow:
    cleaner_id: int
    points: float = 0
    added: float = 0
    taken_off: float = 0
    checks: dict[CheckKind, int] = field(default_factory=lambda: {k: 0 for k in CheckKind})
    failed_items: int = 0
    rework: int = 0
    rework_late: int = 0
    hours_to_fix: list[float] = field(default_factory=list)

    @property
    def mean_hours_to_fix(self) -> float | None:
        return round(mean(self.hours_to_fix), 1) if self.hours_to_fix else None


@dataclass
class AreaRow:
    area_id: int
    checks: dict[CheckKind, int] = field(default_factory=lambda: {k: 0 for k in CheckKind})
    scores: list[float] = field(default_factory=list)
    failed_items: int = 0
    rework: int = 0
    hours_to_fix: list[float] = field(default_factory=list)

    @property
    def mean_score(self) -> float | None:
        return round(mean(self.scores), 1) if self.scores else None

    @property
    def mean_hours_to_fix(self) -> float | None:
        return round(mean(self.hours_to_fix), 1) if self.hours_to_fix else None


@dataclass
class MonthSheet:
    month: date  # its first day
    rule: ScoringRule
    cleaners: list[CleanerRow]
    areas: list[AreaRow]


def month_bounds(month: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The month as [start, end) in the site's own time."""
    first = month.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return datetime.combine(first, time(), tz), datetime.combine(following, time(), tz)


def month_sheet(
    month: date,
    rule: ScoringRule,
    tz: ZoneInfo,
    duties: list[DutyFact],
    checks: list[CheckFact],
    reworks: list[ReworkFact],
    now: datetime,
) -> MonthSheet:
    """Each cleaner's points and each area's figures for one month of the site's own calendar.

    A check or rework counts against whoever had the area on the shift at that moment, so a
    cleaner who changes areas mid-month answers for each area only for their own days.
    Quality scores (mean score) come from the lead's and customer service's checks; a cleaner's
    own self-checks are counted but not averaged into the area's score.
    """
    start, end = month_bounds(month, tz)
    cleaners: dict[int, CleanerRow] = {}
    areas: dict[int, AreaRow] = {}
    for duty in duties:
        if duty.starts_on < end.date() and (duty.ends_on is None or duty.ends_on >= start.date()):
            cleaners.setdefault(duty.cleaner_id, CleanerRow(duty.cleaner_id))
            areas.setdefault(duty.area_id, AreaRow(duty.area_id))

    def who(area_id: int, at: datetime) -> CleanerRow | None:
        cleaner_id = responsible(duties, area_id, at.astimezone(tz), rule)
        return None if cleaner_id is None else cleaners.setdefault(cleaner_id, CleanerRow(cleaner_id))

    for check in checks:
        if not start <= check.at < end:
            continue
        area = areas.setdefault(check.area_id, AreaRow(check.area_id))
        area.checks[check.kind] += 1
        area.failed_items += len(check.failed_weights)
        if check.kind != CheckKind.SELF and check.score is not None:
            area.scores.append(check.score)
        cleaner = who(check.area_id, check.at)
        if cleaner is None:
            continue
        cleaner.checks[check.kind] += 1
        cleaner.failed_items += len(check.failed_weights)
        cleaner.taken_off += rule.fail_points(check.kind) * sum(check.failed_weights)
        if check.kind == CheckKind.SPOT and not check.failed_weights:
            cleaner.added += rule.clean_spot_points

    for rework in reworks:
        if not start <= rework.opened_at < end:
            continue
        area = areas.setdefault(rework.area_id, AreaRow(rework.area_id))
        area.rework += 1
        fixed_in = None if rework.closed_at is None else (rework.closed_at - rework.opened_at) / timedelta(hours=1)
        if fixed_in is not None:
            area.hours_to_fix.append(fixed_in)
        cleaner = who(rework.area_id, rework.opened_at)
        if cleaner is None:
            continue
        cleaner.rework += 1
        if fixed_in is not None:
            cleaner.hours_to_fix.append(fixed_in)
        if (rework.closed_at or now) > rework.due_at:
            cleaner.rework_late += 1
            cleaner.taken_off += rule.late_rework_points

    for row in cleaners.values():
        row.points = round(rule.base_points + row.added - row.taken_off, 1)
        row.added, row.taken_off = round(row.added, 1), round(row.taken_off, 1)
    return MonthSheet(month.replace(day=1), rule, list(cleaners.values()), list(areas.values()))
