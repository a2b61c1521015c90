"""Judging patrol rounds from the scans that arrived, whenever they arrived.

A route's schedule names wall-clock start and end times ("22:00" to "06:00") and a period
("every 120 minutes"); rounds are due at start, start + period, … up to end, counted in real
elapsed time, so a night with a daylight-saving change has one round more or fewer. Each round
owns the scans from its window's opening until the next round's window opens. A scan's time is
the phone's clock corrected by the offset measured when it synced; a phone more than five
minutes off is flagged on the round, not trusted silently.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from inspections.submission import CLOCK_FLAG_MS


class RoundStatus(str, enum.Enum):
    UPCOMING = "upcoming"  # its window has not opened yet
    IN_PROGRESS = "in_progress"  # open now, not finished
    COMPLETE = "complete"
    LATE = "late"  # every checkpoint, but started after the window
    INCOMPLETE = "incomplete"  # some checkpoints missed
    MISSED = "missed"  # no scan at all


@dataclass(frozen=True)
class Schedule:
    start: time
    end: time
    every: timedelta
    window: timedelta

    @classmethod
    def from_json(cls, data: dict) -> Schedule:
        return cls(
            start=time.fromisoformat(data["start"]),
            end=time.fromisoformat(data["end"]),
            every=timedelta(minutes=int(data["every_minutes"])),
            window=timedelta(minutes=int(data["window_minutes"])),
        )


@dataclass(frozen=True)
class ScanFact:
    """What the judge needs of a scan."""

    checkpoint_id: int
    scanned_at: datetime  # the phone's clock
    clock_offset_ms: int | None = None  # phone minus server, measured at sync
    scan_id: object = None

    @property
    def corrected_at(self) -> datetime:
        return self.scanned_at - timedelta(milliseconds=self.clock_offset_ms or 0)

    @property
    def clock_flagged(self) -> bool:
        return self.clock_offset_ms is not None and abs(self.clock_offset_ms) > CLOCK_FLAG_MS


@dataclass
class Round:
    due_at: datetime  # UTC
    opens_at: datetime
    closes_at: datetime  # when the next round's window opens
    status: RoundStatus = RoundStatus.UPCOMING
    scans: list[ScanFact] = field(default_factory=list)  # first scan of each checkpoint, in time order
    missed_checkpoints: list[int] = field(default_factory=list)
    out_of_order: bool = False
    clock_flagged: bool = False

    @property
    def started_at(self) -> datetime | None:
        return self.scans[0].corrected_at if self.scans else None


def night_of(tz: ZoneInfo, day: date, schedule: Schedule) -> tuple[datetime, datetime]:
    """The UTC start and end of the rounds that begin on local ``day`` (ending the next day if
    the end time is not after the start)."""
    start = datetime.combine(day, schedule.start, tzinfo=tz)
    end_day = day if schedule.end > schedule.start else day + timedelta(days=1)
    end = datetime.combine(end_day, schedule.end, tzinfo=tz)
    return start.astimezone(ZoneInfo("UTC")), end.astimezone(ZoneInfo("UTC"))


def due_rounds(schedule: Schedule, tz: ZoneInfo, day: date) -> list[Round]:
    start, end = night_of(tz, day, schedule)
    rounds = []
    due = start
    while due <= end:
        rounds.append(
            Round(due_at=due, opens_at=due - schedule.window, closes_at=due + schedule.every - schedule.window)
        )
        due += schedule.every
    return rounds


def judge(
    schedule: Schedule, tz: ZoneInfo, day: date, checkpoints: list[int], scans: list[ScanFact], now: datetime
) -> list[Round]:
    """Every round of the night starting on ``day``, judged from ``scans`` as known at ``now``."""
    rounds = due_rounds(schedule, tz, day)
    ordered = sorted(scans, key=lambda s: s.corrected_at)
    for round_ in rounds:
        mine = [
            s
            for s in ordered
            if round_.opens_at <= s.corrected_at < round_.closes_at and s.checkpoint_id in checkpoints
        ]
        first: dict[int, ScanFact] = {}
        for scan in mine:
            first.setdefault(scan.checkpoint_id, scan)  # a repeated scan counts once
        round_.scans = list(first.values())
        round_.clock_flagged = any(s.clock_flagged for s in mine)
        visited = [s.checkpoint_id for s in round_.scans]
        round_.out_of_order = visited != [c for c in checkpoints if c in first]
        round_.missed_checkpoints = [c for c in checkpoints if c not in first]
        if now < round_.opens_at:
            round_.status = RoundStatus.UPCOMING
        elif not round_.scans:
            round_.status = RoundStatus.MISSED if now >= round_.closes_at else RoundStatus.IN_PROGRESS
        elif round_.missed_checkpoints:
            round_.status = RoundStatus.INCOMPLETE if now >= round_.closes_at else RoundStatus.IN_PROGRESS
        elif round_.started_at > round_.due_at + schedule.window:
            round_.status = RoundStatus.LATE
        else:
            round_.status = RoundStatus.COMPLETE
    return rounds
