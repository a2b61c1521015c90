"""Submitting an inspection: one service for the form and the sync push."""

import pytest
import sqlalchemy as sa

from foundation.org import Origin
from foundation.photos import Photo, PhotoHolder
from inspections.checklists import Definition, current_version, publish_template_version
from inspections.photo_reach import missing_photos
from inspections.records import Inspection
from inspections.submission import SubmissionRefused, judge_answers, submit_inspection
from tests.helpers import NOW, all_pass, area, restroom_template, submission, template, with_answer
from tickets.models import Ticket
from tickets.states import TicketState

WEB = Origin("web", ip="10.0.0.8")


def test_a_failed_item_opens_a_numbered_rework_ticket_with_the_photos(session, demo):
    cleaner = demo.user("chenmei")
    restroom = area("BY", "restroom")
    tpl = restroom_template()
    photo = "ab" * 32
    answers = with_answer(all_pass(tpl), "odour", value="fail", photos=[photo], note="有尿臊味")

    result = submit_inspection(session, submission(tpl, restroom, answers), actor=cleaner, origin=WEB, now=NOW)

    assert result.created
    assert result.inspection.failed_count == 1
    assert result.inspection.score == 84.6  # "no odour" weighs 2 of the restroom's 13
    [ticket] = result.tickets
    assert ticket.kind == "rework"
    assert ticket.number == "BY-20261126-0004"  # the demo opened three BY tickets today
    # Straight to the cleaner who has the 1F restroom on the early shift (10:30 local).
    assert ticket.state == TicketState.ASSIGNED and ticket.assignee == cleaner
    assert ticket.department.code == "cleaning"
    assert ticket.due_at == NOW.replace(hour=4, minute=30)  # due_hours 2
    assert [p.photo_sha256 for p in ticket.photos] == [photo]
    assert "无异味" in ticket.title and "有尿臊味" in ticket.description
    # not uploaded yet: it never holds the record back
    assert missing_photos(session, cleaner, [photo]) == [photo]
    first = ticket.events[0]
    assert (first.action, first.actor_id, first.source, first.ip) == ("created", cleaner.id, "web", "10.0.0.8")


def test_submitting_the_same_inspection_twice_changes_nothing(session, demo):
    cleaner = demo.user("chenmei")
    tpl = restroom_template()
    sub = submission(
        tpl, area("BY", "restroom"), with_answer(all_pass(tpl), "mirrors", value="fail", photos=["cd" * 32])
    )
    first = submit_inspection(session, sub, actor=cleaner, origin=WEB, now=NOW)
    again = submit_inspection(session, sub, actor=cleaner, origin=WEB, now=NOW)
    assert not again.created
    assert again.inspection.id == first.inspection.id
    assert [t.number for t in again.tickets] == [t.number for t in first.tickets]
    assert session.scalar(sa.select(sa.func.count()).select_from(Inspection)) == 1
    assert session.scalar(sa.select(sa.func.count()).select_from(Ticket).where(Ticket.kind == "rework")) == 1


def test_an_edited_template_makes_a_new_version_and_old_inspections_keep_theirs(session, demo):
    cleaner = demo.user("chenmei")
    tpl = restroom_template()
    old = current_version(session, tpl)
    old_answers = all_pass(tpl)
    done = submit_inspection(
        session, submission(tpl, area("BY", "restroom"), all_pass(tpl)), actor=cleaner, origin=WEB, now=NOW
    )
    edited = old.parsed().model_dump()
    edited["sections"][0]["items"].append({"id": "hand_dryer", "label": "烘手机", "type": "pass_fail"})
    new = publish_template_version(session, tpl, Definition.model_validate(edited), actor=demo.user("wangjl"))

    assert (old.version, new.version, tpl.current_version) == (1, 2, 2)
    assert done.inspection.template_version.version == 1
    assert "hand_dryer" not in done.inspection.template_version.parsed().item_map()
    with pytest.raises(SubmissionRefused) as refused:  # the old answers lack the new required item
        submit_inspection(
            session, submission(tpl, area("BY", "restroom"), old_answers), actor=cleaner, origin=WEB, now=NOW
        )
    assert refused.value.item_errors == {"hand_dryer": "required"}


@pytest.mark.parametrize(
    "change, errors",
    [
        ({"item_id": "odour", "value": "fail"}, {"odour": "photo_required"}),
        ({"item_id": "odour", "value": "maybe"}, {"odour": "bad_value"}),
        ({"item_id": "odour", "value": None}, {"odour": "required"}),
        ({"item_id": "odour", "value": "na"}, {"odour": "required"}),
        ({"item_id": "no_such_item", "value": "pass"}, {"no_such_item": "unknown_item"}),
    ],
)
def test_invalid_answers_are_refused_with_the_item_and_nothing_is_stored(session, demo, change, errors):
    tpl = restroom_template()
    answers = all_pass(tpl)
    if change["item_id"] in {a["item_id"] for a in answers}:
        answers = with_answer(answers, change["item_id"], value=change["value"])
    else:
        answers.append(change)
    with pytest.raises(SubmissionRefused) as refused:
        submit_inspection(
            session, submission(tpl, area("BY", "restroom"), answers), actor=demo.user("chenmei"), origin=WEB, now=NOW
        )
    assert refused.value.code == "invalid_answers"
    assert refused.value.item_errors == errors
    assert session.scalar(sa.select(sa.func.count()).select_from(Inspection)) == 0


@pytest.mark.parametrize(
    "value, error",
    [
        ("12a", "not_a_number"),
        (-1, "below_min"),
        (51, "above_max"),
        (True, "not_a_number"),
        (3, None),
    ],
)
def test_number_items_keep_to_their_range(session, demo, value, error):
    tpl = template("入伙单元验收（收楼）")
    from inspections.submission import answer_error

    item = current_version(session, tpl).parsed().item_map()["keys"]
    from inspections.submission import AnswerIn

    assert answer_error(item, AnswerIn(item_id="keys", value=value)) == error


@pytest.mark.parametrize(
    "who, code",
    [
        ("sunqiang", "site_forbidden"),  # a guard of the other site
        ("zhangwei", "template_forbidden"),  # a guard may not fill in a cleaning standard
    ],
)
def test_people_may_only_submit_their_sites_and_checklists(session, demo, who, code):
    tpl = restroom_template()
    with pytest.raises(SubmissionRefused) as refused:
        submit_inspection(
            session, submission(tpl, area("BY", "restroom"), all_pass(tpl)), actor=demo.user(who), origin=WEB, now=NOW
        )
    assert refused.value.code == code


def test_a_location_of_another_site_is_refused(session, demo):
    tpl = restroom_template()
    sub = submission(tpl, area("XH", "restroom"), all_pass(tpl))
    sub.site_id = area("BY", "restroom").site_id
    with pytest.raises(SubmissionRefused) as refused:
        submit_inspection(session, sub, actor=demo.user("chenmei"), origin=WEB, now=NOW)
    assert refused.value.code == "unknown_location"


def test_na_and_weights_shape_the_score(session, demo):
    from inspections.submission import AnswerIn

    definition = Definition.model_validate(
        {
            "sections": [
                {
                    "title": "s",
                    "items": [
                        {"id": "a", "label": "A", "type": "pass_fail", "weight": 3},
                        {"id": "b", "label": "B", "type": "pass_fail", "weight": 1},
                        {"id": "c", "label": "C", "type": "pass_fail", "required": False},
                        {"id": "d", "label": "D", "type": "text"},
                    ],
                }
            ]
        }
    )
    answers = [
        AnswerIn(item_id="a", value="pass"),
        AnswerIn(item_id="b", value="fail"),
        AnswerIn(item_id="c", value="na"),
        AnswerIn(item_id="d", value="ok"),
    ]
    assert judge_answers(definition, answers).score == 75.0


def test_a_photo_the_author_uploaded_is_not_missing_and_someone_elses_is(session, demo):
    tpl = restroom_template()
    cleaner = demo.user("chenmei")
    session.add(Photo(sha256="ef" * 32, content_type="image/jpeg", width=1, height=1, byte_size=1))
    session.add(PhotoHolder(photo_sha256="ef" * 32, user_id=cleaner.id))
    answers = with_answer(all_pass(tpl), "odour", value="fail", photos=["ef" * 32])
    submit_inspection(session, submission(tpl, area("BY", "restroom"), answers), actor=cleaner, origin=WEB, now=NOW)
    assert missing_photos(session, cleaner, ["ef" * 32]) == []
    # Another site's cleaner knows the hash: for her it is missing until she sends the bytes.
    assert missing_photos(session, demo.user("zhoufang"), ["ef" * 32]) == ["ef" * 32]


def test_what_passes_fails_or_does_not_count():
    from inspections.submission import passed

    definition = Definition.model_validate(
        {
            "sections": [
                {
                    "title": "s",
                    "items": [
                        {"id": "floor", "label": "地面", "type": "pass_fail", "required": False},
                        {"id": "leak", "label": "漏水", "type": "yes_no", "expected": "no", "required": False},
                        {"id": "temp", "label": "温度", "type": "number"},
                    ],
                }
            ]
        }
    )
    floor, leak, temp = definition.items()
    assert [passed(floor, v) for v in ("pass", "fail", "na", None, "")] == [True, False, None, None, None]
    assert [passed(leak, v) for v in ("no", "yes", None, "")] == [True, False, None, None]
    assert passed(temp, 40) is None  # a number is read, never graded
