"""The cleaning regime's arithmetic (§3.6.8), without a database: weights, N/A items, targets,
month boundaries, and a cleaner who changes areas mid-month."""

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from inspections.checklists import Definition
from inspections.cleaning_scores import (
    CheckFact,
    CheckKind,
    DutyFact,
    ReworkFact,
    ScoringRule,
    day_counts,
    month_sheet,
    responsible,
)
from inspections.submission import AnswerIn, judge_answers

SHANGHAI = ZoneInfo("Asia/Shanghai")
RULE = ScoringRule()  # base 100; patrol −1, spot −2, self 0 per failed item × weight; late rework −2; clean spot +0.5
RESTROOM, LOBBY = 1, 2
CHEN, HUANG = 10, 20
NOVEMBER = date(2026, 11, 1)
END_OF_MONTH = datetime(2026, 12, 1, tzinfo=SHANGHAI)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def sheet(duties, checks=(), reworks=(), rule=RULE, now=END_OF_MONTH):
    return month_sheet(NOVEMBER, rule, SHANGHAI, list(duties), list(checks), list(reworks), now)


def row(found, cleaner_id):
    return next(r for r in found.cleaners if r.cleaner_id == cleaner_id)


def test_a_failed_item_costs_its_weight_times_the_points_of_whoever_found_it():
    duties = [DutyFact(RESTROOM, CHEN, "early", date(2026, 11, 1))]
    checks = [
        CheckFact(RESTROOM, at(3, 9), CheckKind.PATROL, 84.6, (2.0,)),  # "no odour" weighs 2: −2
        CheckFact(RESTROOM, at(3, 10), CheckKind.SPOT, 92.3, (1.0,)),  # mirrors, at a spot check: −2
        CheckFact(RESTROOM, at(3, 11), CheckKind.SELF, 84.6, (2.0,)),  # found by herself: free
        CheckFact(RESTROOM, at(4, 10), CheckKind.SPOT, 100.0),  # nothing failed: +0.5
    ]
    chen = row(sheet(duties, checks), CHEN)
    assert (chen.points, chen.added, chen.taken_off) == (96.5, 0.5, 4.0)
    assert chen.checks == {CheckKind.SELF: 1, CheckKind.PATROL: 1, CheckKind.SPOT: 2}
    assert chen.failed_items == 3


def test_the_rule_is_the_sites_own():
    strict = RULE.model_copy(update={"patrol_fail_points": 5, "base_points": 80})
    duties = [DutyFact(RESTROOM, CHEN, "early", date(2026, 11, 1))]
    chen = row(sheet(duties, [CheckFact(RESTROOM, at(3, 9), CheckKind.PATROL, 90.0, (1.0,))], rule=strict), CHEN)
    assert chen.points == 75


def test_na_items_and_items_that_cannot_fail_do_not_count_in_a_score():
    definition = Definition.model_validate(
        {
            "sections": [
                {
                    "title": "卫生间",
                    "items": [
                        {"id": "fixtures", "label": "卫生洁具", "type": "pass_fail", "weight": 2, "required": False},
                        {"id": "odour", "label": "无异味", "type": "pass_fail", "weight": 2},
                        {"id": "mirrors", "label": "镜子", "type": "pass_fail"},
                        {"id": "remarks", "label": "备注", "type": "text", "required": False},
                    ],
                }
            ]
        }
    )
    answers = [
        AnswerIn(item_id="fixtures", value="na"),
        AnswerIn(item_id="odour", value="fail"),
        AnswerIn(item_id="mirrors", value="pass"),
        AnswerIn(item_id="remarks", value="很好"),
    ]
    assert judge_answers(definition, answers).score == 33.3  # 1 of the 3 weight answered; the N/A item's 2 not counted
    assert judge_answers(definition, [AnswerIn(item_id="fixtures", value="na")]).score is None


def test_a_day_with_three_patrols_is_short_by_one():
    checks = [CheckFact(RESTROOM, at(3, h), CheckKind.PATROL, 100.0) for h in (8, 11, 15)]
    checks.append(CheckFact(RESTROOM, at(3, 9), CheckKind.SELF, 100.0))
    counts = {c.kind: c for c in day_counts(checks, RULE)}
    assert (counts[CheckKind.PATROL].done, counts[CheckKind.PATROL].target, counts[CheckKind.PATROL].short) == (3, 4, 1)
    assert counts[CheckKind.SPOT].short == 1 and counts[CheckKind.SELF].short == 1
    four = checks + [CheckFact(RESTROOM, at(3, 17), CheckKind.PATROL, 100.0)]
    assert {c.kind: c.short for c in day_counts(four, RULE)}[CheckKind.PATROL] == 0


def test_a_month_is_the_sites_calendar_month_not_utcs():
    duties = [DutyFact(RESTROOM, CHEN, "late", date(2026, 11, 1))]
    late_shift = RULE.model_copy(
        update={"shifts": [*RULE.shifts[:1], RULE.shifts[1].model_copy(update={"end": time(2)})]}
    )  # the late shift runs to 02:00
    checks = [
        CheckFact(RESTROOM, at(30, 23, 30), CheckKind.PATROL, 90.0, (1.0,)),  # 30 Nov local: November
        # 1 Dec 00:10 in Shanghai is still 30 Nov in UTC, but it is December's.
        CheckFact(RESTROOM, datetime(2026, 11, 30, 16, 10, tzinfo=timezone.utc), CheckKind.PATROL, 90.0, (1.0,)),
        CheckFact(RESTROOM, at(1, 0, 10), CheckKind.SPOT, 90.0, (1.0,)),  # 1 Nov 00:10 local: November
    ]
    found = sheet(duties, checks, rule=late_shift)
    chen = row(found, CHEN)
    assert chen.checks[CheckKind.PATROL] == 1 and chen.checks[CheckKind.SPOT] == 1
    assert chen.taken_off == 3.0
    assert found.areas[0].checks[CheckKind.PATROL] == 1


def test_a_cleaner_who_changed_areas_mid_month_answers_for_each_only_on_their_days():
    duties = [
        DutyFact(RESTROOM, CHEN, "early", date(2026, 11, 1), date(2026, 11, 15)),
        DutyFact(RESTROOM, HUANG, "early", date(2026, 11, 16)),
        DutyFact(LOBBY, HUANG, "early", date(2026, 11, 1), date(2026, 11, 15)),
        DutyFact(LOBBY, CHEN, "early", date(2026, 11, 16)),
    ]
    checks = [
        CheckFact(RESTROOM, at(10, 9), CheckKind.PATROL, 84.6, (2.0,)),  # Chen's restroom
        CheckFact(RESTROOM, at(20, 9), CheckKind.PATROL, 92.4, (1.0,)),  # Huang's restroom by then
        CheckFact(LOBBY, at(20, 10), CheckKind.SPOT, 80.0, (1.0, 1.0)),  # Chen's lobby by then
    ]
    reworks = [ReworkFact("BY-1", RESTROOM, at(20, 9), at(20, 11), at(20, 10))]
    found = sheet(duties, checks, reworks)
    assert (row(found, CHEN).taken_off, row(found, HUANG).taken_off) == (6.0, 1.0)
    assert (row(found, CHEN).rework, row(found, HUANG).rework) == (0, 1)
    restroom = next(a for a in found.areas if a.area_id == RESTROOM)
    assert restroom.mean_score == 88.5 and restroom.rework == 1 and restroom.mean_hours_to_fix == 1.0


def test_a_rework_fixed_late_or_still_open_past_due_costs_points_and_a_fixed_one_counts_its_time():
    duties = [DutyFact(RESTROOM, CHEN, "early", date(2026, 11, 1))]
    reworks = [
        ReworkFact("BY-1", RESTROOM, at(5, 9), at(5, 11), at(5, 10, 30)),  # fixed in 1.5 h, in time
        ReworkFact("BY-2", RESTROOM, at(6, 9), at(6, 11), at(6, 13)),  # fixed in 4 h, late
        ReworkFact("BY-3", RESTROOM, at(7, 9), at(7, 11), None),  # still open and past due
    ]
    chen = row(sheet(duties, reworks=reworks), CHEN)
    assert (chen.rework, chen.rework_late, chen.taken_off, chen.points) == (3, 2, 4.0, 96.0)
    assert chen.mean_hours_to_fix == 2.8


def test_who_answers_for_an_area_follows_the_shift():
    duties = [DutyFact(LOBBY, CHEN, "early", date(2026, 11, 1)), DutyFact(LOBBY, HUANG, "late", date(2026, 11, 1))]
    assert responsible(duties, LOBBY, at(3, 10), RULE) == CHEN
    assert responsible(duties, LOBBY, at(3, 15), RULE) == HUANG
    assert responsible(duties, LOBBY, at(3, 23), RULE) == CHEN  # between shifts: the day's first duty
    assert responsible(duties, RESTROOM, at(3, 10), RULE) is None
    assert responsible(duties, LOBBY, at(3, 10) - timedelta(days=10), RULE) is None  # before the duty began
