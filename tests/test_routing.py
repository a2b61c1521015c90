"""Who a failed check's ticket goes to (inspections/routing.py): every step of the rule and every
fallback, on both databases, in small worlds the factories build; and the world `make run` serves."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
import sqlalchemy as sa

from foundation.org import Location, LocationKind, Origin, Site, User
from foundation.roles import Role
from inspections.checklists import ChecklistTemplate, current_version
from inspections.cleaning import assign_area
from inspections.records import Assignment
from inspections.routing import Step, route_failure, save_rule
from inspections.submission import InspectionSubmission, submit_inspection
from tests import factories
from tests.helpers import NOW
from tickets.states import TicketState

WEB = Origin("web")
TODAY = NOW.date()  # 10:30 in Shanghai: the early shift
FLOOR_PHOTO, CLOSE_UP = "a1" * 32, "b2" * 32
ITEMS = [
    {
        "id": "floor",
        "type": "pass_fail",
        "label": "轿厢地面",
        "on_fail": {"ticket_kind": "rework", "department": "cleaning", "due_hours": 2},
    },
    {"id": "floor_photo", "type": "photo", "label": "地面照片", "show_if": {"item_id": "floor", "equals": "fail"}},
    {
        "id": "door",
        "type": "pass_fail",
        "label": "轿门",
        "on_fail": {"ticket_kind": "repair", "department": "engineering", "due_hours": 24},
    },
]


@dataclass
class World:
    site: Site
    lift: Location
    on_duty: User
    scheduled: User
    cleaning_head: User
    manager: User
    admin: User


@pytest.fixture
def world(session) -> World:
    """A site with a lift car, the cleaning department and its head, a manager, an administrator."""
    site = factories.site(session)
    lift = factories.place(session, site, name="1号电梯厅", area_type="lift_hall")
    cleaning = factories.department(session, "cleaning")
    factories.department(session, "engineering")
    head = factories.person(session, site, role=Role.SUPERVISOR, department_code="cleaning")
    cleaning.head_id = head.id
    world = World(
        site,
        lift,
        on_duty=factories.person(session, site, department_code="cleaning"),
        scheduled=factories.person(session, site, department_code="cleaning"),
        cleaning_head=head,
        manager=factories.person(session, site, role=Role.MANAGER),
        admin=factories.person(session, role=Role.ADMIN),
    )
    session.flush()
    return world


def on_duty(session, world: World) -> None:
    assign_area(session, world.lift, world.on_duty, "early", TODAY - timedelta(days=7))
    session.flush()


def scheduled_check(session, world: World) -> Assignment:
    template = factories.checklist(session, area_type="lift_hall", items=ITEMS, site=world.site)
    assignment = Assignment(
        site_id=world.site.id,
        template_id=template.id,
        location_id=world.lift.id,
        assignee_id=world.scheduled.id,
        due_on=TODAY,
    )
    session.add(assignment)
    session.flush()
    return assignment


def route(session, world: World, *, department: str = "cleaning", assignment: Assignment | None = None, role=None):
    found = route_failure(
        session,
        site=world.site,
        location=world.lift,
        department=factories.department(session, department),
        done_at=NOW,
        assignment_id=assignment.id if assignment else None,
        role=role,
    )
    return found.step, found.person


def test_whoever_is_on_duty_there_takes_it_before_the_schedules_assignee(session, world):
    on_duty(session, world)
    assert route(session, world, assignment=scheduled_check(session, world)) == (Step.ON_DUTY, world.on_duty)


def test_without_a_duty_roster_the_person_the_check_was_scheduled_for_takes_it(session, world):
    assert route(session, world, assignment=scheduled_check(session, world)) == (Step.SCHEDULED, world.scheduled)


def test_with_neither_the_departments_head_takes_it(session, world):
    assert route(session, world) == (Step.DEPARTMENT_HEAD, world.cleaning_head)


def test_a_head_who_has_left_or_works_elsewhere_is_passed_over_for_the_sites_manager(session, world):
    world.cleaning_head.active = False
    assert route(session, world) == (Step.SITE_MANAGER, world.manager)
    world.cleaning_head.active = True
    world.cleaning_head.sites = [factories.site(session)]
    assert route(session, world) == (Step.SITE_MANAGER, world.manager)


def test_a_site_without_a_manager_gives_it_to_the_administrator(session, world):
    world.cleaning_head.active = False
    world.manager.sites = []
    assert route(session, world) == (Step.ADMIN, world.admin)


def test_people_of_another_department_do_not_take_its_failures(session, world):
    """The on-duty cleaner is not handed the lift door's repair: engineering has no head here."""
    on_duty(session, world)
    assignment = scheduled_check(session, world)
    assert route(session, world, department="engineering", assignment=assignment) == (Step.SITE_MANAGER, world.manager)


def test_a_rule_that_names_a_role_passes_over_the_people_of_other_roles_to_the_sites_first_of_it(session, world):
    """The lift's floor meant for the cleaning lead: not the cleaner on duty, nor the scheduled one."""
    on_duty(session, world)
    assignment = scheduled_check(session, world)
    lead = world.cleaning_head  # the site's first cleaning supervisor
    assert route(session, world, assignment=assignment, role=Role.SUPERVISOR) == (Step.ROLE, lead)
    engineer = factories.person(session, world.site, role=Role.ENGINEER, department_code="engineering")
    factories.person(session, world.site, role=Role.ENGINEER, department_code="cleaning")  # not of the department
    assert route(session, world, department="engineering", role=Role.ENGINEER) == (Step.ROLE, engineer)
    engineer.active = False  # nobody of the role left: the rule goes on as without one
    assert route(session, world, department="engineering", role=Role.ENGINEER) == (Step.SITE_MANAGER, world.manager)


def test_a_site_may_skip_steps_and_name_who_takes_the_rest(session, world):
    on_duty(session, world)
    assignment = scheduled_check(session, world)
    deputy = factories.person(session, world.site, role=Role.CUSTOMER_SERVICE)
    save_rule(session, world.site, skipped=[Step.ON_DUTY, Step.DEPARTMENT_HEAD], last_resort=deputy)
    assert route(session, world, assignment=assignment) == (Step.SCHEDULED, world.scheduled)
    assert route(session, world) == (Step.SITE_MANAGER, deputy)
    deputy.active = False  # someone who left is never the answer: the site's manager is
    assert route(session, world) == (Step.SITE_MANAGER, world.manager)


def test_a_failed_check_opens_its_ticket_assigned_with_every_photo_of_the_failure(session, world):
    """The cleaner fails 轿厢地面 on a scheduled check in a company without a duty roster, the
    photo in the show-if photo item under it: the rework is theirs to redo, with that photo."""
    assignment = scheduled_check(session, world)
    answers = [
        {"item_id": "floor", "value": "fail", "photos": [CLOSE_UP], "note": "有污渍"},
        {"item_id": "floor_photo", "value": FLOOR_PHOTO, "photos": [FLOOR_PHOTO]},
        {"item_id": "door", "value": "pass"},
    ]
    submission = InspectionSubmission.model_validate(
        {
            "inspection_id": str(uuid.uuid4()),
            "template_id": assignment.template_id,
            "template_version": 1,
            "site_id": world.site.id,
            "location_id": world.lift.id,
            "assignment_id": assignment.id,
            "started_at": (NOW - timedelta(minutes=5)).isoformat(),
            "finished_at": NOW.isoformat(),
            "answers": answers,
        }
    )
    [ticket] = submit_inspection(session, submission, actor=world.scheduled, origin=WEB, now=NOW).tickets
    assert (ticket.state, ticket.assignee) == (TicketState.ASSIGNED, world.scheduled)
    assert [p.photo_sha256 for p in ticket.photos] == [CLOSE_UP, FLOOR_PHOTO]


def test_in_the_world_make_run_serves_every_failure_anywhere_has_a_person_of_its_site(session, demo):
    departments = {
        item.on_fail.department
        for template in session.scalars(sa.select(ChecklistTemplate).where(ChecklistTemplate.active))
        for item in current_version(session, template).parsed().items()
        if item.on_fail is not None
    }
    places = session.scalars(sa.select(Location).where(Location.kind.in_([LocationKind.AREA, LocationKind.UNIT])))
    routed = 0
    for place in places:
        for code in departments:
            found = route_failure(
                session,
                site=place.site,
                location=place,
                department=factories.department(session, code),
                done_at=NOW,
                assignment_id=None,
            )
            assert found.person is not None and found.person.may_see_site(place.site_id), (place.full_name, code)
            routed += 1
    assert routed > 20 and {"cleaning", "engineering", "security"} <= departments
