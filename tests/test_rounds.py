"""The round judge: a round nobody can prove was walked is worth nothing."""

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from inspections.rounds import RoundStatus, ScanFact, Schedule, judge

SHANGHAI = ZoneInfo("Asia/Shanghai")
NIGHT = Schedule.from_json({"start": "22:00", "end": "06:00", "every_minutes": 120, "window_minutes": 15})
ROUTE = [11, 12, 13]  # checkpoint ids in route order
DAY = date(2026, 11, 26)


def at(hour: int, minute: int = 0, day: date = DAY, tz=SHANGHAI) -> datetime:
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    return local.astimezone(timezone.utc)


def walk(start: datetime, order=ROUTE, gap=4, offset_ms=None) -> list[ScanFact]:
    return [ScanFact(c, start + timedelta(minutes=gap * n), offset_ms) for n, c in enumerate(order)]


def first_round(scans, now=None):
    return judge(NIGHT, SHANGHAI, DAY, ROUTE, scans, now or at(12, day=DAY + timedelta(days=1)))[0]


def test_a_night_has_rounds_every_two_hours_across_midnight():
    rounds = judge(NIGHT, SHANGHAI, DAY, ROUTE, [], at(12, day=DAY + timedelta(days=1)))
    local = [r.due_at.astimezone(SHANGHAI).strftime("%d %H:%M") for r in rounds]
    assert local == ["26 22:00", "27 00:00", "27 02:00", "27 04:00", "27 06:00"]


def test_on_time():
    round_ = first_round(walk(at(22, 5)))
    assert round_.status == RoundStatus.COMPLETE and not round_.out_of_order


def test_late_start_is_late():
    assert first_round(walk(at(22, 30))).status == RoundStatus.LATE


def test_early_within_the_window_is_on_time():
    assert first_round(walk(at(21, 50))).status == RoundStatus.COMPLETE


def test_out_of_order_is_flagged():
    round_ = first_round(walk(at(22, 0), order=[11, 13, 12]))
    assert round_.status == RoundStatus.COMPLETE and round_.out_of_order


def test_a_missed_checkpoint_is_named():
    round_ = first_round(walk(at(22, 0), order=[11, 13]))
    assert round_.status == RoundStatus.INCOMPLETE and round_.missed_checkpoints == [12]


def test_no_scan_is_a_missed_round_once_its_time_is_over():
    night = judge(NIGHT, SHANGHAI, DAY, ROUTE, walk(at(22, 0)), at(1, 50, DAY + timedelta(days=1)))
    assert [r.status for r in night] == [
        RoundStatus.COMPLETE,
        RoundStatus.MISSED,
        RoundStatus.IN_PROGRESS,
        RoundStatus.UPCOMING,
        RoundStatus.UPCOMING,
    ]


def test_scans_arriving_days_later_judge_the_same():
    scans = walk(at(0, 3, DAY + timedelta(days=1)))
    tonight = judge(NIGHT, SHANGHAI, DAY, ROUTE, scans, at(12, day=DAY + timedelta(days=1)))
    days_later = judge(NIGHT, SHANGHAI, DAY, ROUTE, scans, at(9, day=DAY + timedelta(days=4)))
    assert [r.status for r in tonight] == [r.status for r in days_later]
    assert tonight[1].status == RoundStatus.COMPLETE


def test_duplicate_scans_count_once():
    scans = walk(at(22, 0))
    round_ = first_round(scans + [ScanFact(11, at(22, 1)), ScanFact(12, at(22, 9))])
    assert round_.status == RoundStatus.COMPLETE and [s.checkpoint_id for s in round_.scans] == ROUTE


def test_a_phone_clock_an_hour_off_is_flagged_and_corrected():
    # The guard walked at 23:10 with the phone set an hour back to look on time at 22:10.
    hour = 3_600_000
    scans = walk(at(22, 10), offset_ms=-hour)  # the phone runs an hour behind the server
    night = judge(NIGHT, SHANGHAI, DAY, ROUTE, scans, at(12, day=DAY + timedelta(days=1)))
    assert night[0].clock_flagged is True
    assert night[0].started_at == at(23, 10)  # judged at the real time …
    assert night[0].status == RoundStatus.LATE  # … so the round was late, not on time
    honest = judge(NIGHT, SHANGHAI, DAY, ROUTE, walk(at(22, 10), offset_ms=2000), at(12, day=DAY + timedelta(days=1)))
    assert honest[0].status == RoundStatus.COMPLETE and honest[0].clock_flagged is False


def test_a_daylight_saving_night_counts_real_hours():
    new_york = ZoneInfo("America/New_York")
    spring_forward = date(2026, 3, 7)  # clocks jump 02:00 → 03:00 on the 8th
    rounds = judge(NIGHT, new_york, spring_forward, ROUTE, [], at(12, day=date(2026, 3, 9), tz=new_york))
    assert [r.due_at.astimezone(new_york).strftime("%H:%M") for r in rounds] == ["22:00", "00:00", "03:00", "05:00"]
    fall_back = date(2026, 10, 31)  # clocks go back 02:00 → 01:00 on 1 November
    rounds = judge(NIGHT, new_york, fall_back, ROUTE, [], at(12, day=date(2026, 11, 2), tz=new_york))
    assert [r.due_at.astimezone(new_york).strftime("%H:%M") for r in rounds] == [
        "22:00",
        "00:00",
        "01:00",
        "03:00",
        "05:00",
    ]
