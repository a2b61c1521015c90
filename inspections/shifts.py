"""When a person is at work, for what may wait until then (a push to their phone): the shifts of
their duties (a cleaner's areas, ``cleaning.AreaDuty``), else the working day; or the quiet hours
they chose themselves."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from foundation.org import User
from foundation.web_push import PushPreference
from inspections.cleaning import AreaDuty, rule_for
from inspections.cleaning_scores import Shift

WORKING_DAY = Shift(code="day", name="day", start=time(7), end=time(22))  # anyone without a duty roster


def shifts_of(session: Session, person: User, day: date) -> list[Shift]:
    """The shifts of the person's duties on ``day`` (several areas on one shift count once)."""
    found = {}
    for site_id, code in session.execute(
        select(AreaDuty.site_id, AreaDuty.shift).where(
            AreaDuty.cleaner_id == person.id,
            AreaDuty.starts_on <= day,
            (AreaDuty.ends_on.is_(None)) | (AreaDuty.ends_on >= day),
        )
    ):
        for shift in rule_for(session, site_id).shifts:
            if shift.code == code:
                found[(shift.start, shift.end)] = shift
    return list(found.values())


def held_until(session: Session, person: User, now: datetime) -> datetime | None:
    """The end of the person's quiet hours if ``now`` is in them, else None. Quiet hours are
    their own choice, else every hour outside their shifts (or the working day) in their site's zone."""
    zone = ZoneInfo(person.sites[0].timezone if person.sites else "Asia/Shanghai")
    local = now.astimezone(zone)
    preference = session.get(PushPreference, person.id)
    if preference is not None and preference.quiet_start is not None and preference.quiet_end is not None:
        quiet = Shift(code="quiet", name="quiet", start=preference.quiet_start, end=preference.quiet_end)
        if not quiet.covers(local.time()):
            return None
        end = datetime.combine(local.date(), quiet.end, zone)
        return end if end > local else end + timedelta(days=1)
    starts = []
    for offset in (-1, 0, 1, 2):
        day = local.date() + timedelta(days=offset)
        for shift in shifts_of(session, person, day) or [WORKING_DAY]:
            start = datetime.combine(day, shift.start, zone)
            end = datetime.combine(day + timedelta(days=shift.end <= shift.start), shift.end, zone)
            if start <= local < end:
                return None
            starts.append(start)
    return min(s for s in starts if s > local)
