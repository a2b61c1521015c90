"""A company's places: the tree, archiving instead of deleting, and the spreadsheet import that
previews everything and changes nothing while one row is wrong."""

from __future__ import annotations

import gc

import pytest
import sqlalchemy as sa

from foundation.org import Location, LocationKind
from foundation.place_import import apply_plan, export_rows, plan_import
from foundation.places import PlaceRefused, archive_place, edit_place, restore_place, site_tree
from foundation.sheets import write_sheet
from inspections.today import locations_for
from tests import factories
from tests.helpers import NOW, logged_after, newest_cursor

K = LocationKind


def csv_of(*rows: str) -> bytes:
    return ("building,floor,place,kind,area_type,archived\n" + "\n".join(rows) + "\n").encode()


def names(session, site) -> list[str]:
    return [("  " * depth) + place.name for place, depth in site_tree(session, site, archived=False)]


def test_a_tree_is_built_moved_and_archived_never_deleted(session):
    site = factories.site(session)
    tower = factories.place(session, site, kind=K.BUILDING, name="A座")
    floor = factories.place(session, site, kind=K.FLOOR, name="3F", parent=tower)
    restroom = factories.place(session, site, name="男卫生间", parent=floor, area_type="restroom")
    with pytest.raises(PlaceRefused) as refused:
        factories.place(session, site, name="男卫生间", parent=floor)
    assert refused.value.code == "name_taken"
    with pytest.raises(PlaceRefused) as refused:
        factories.place(session, site, kind=K.FLOOR, name="4F", parent=restroom)
    assert refused.value.code == "wrong_parent_kind"
    with pytest.raises(PlaceRefused) as refused:
        edit_place(session, floor, name="3F", parent=floor, area_type=None)
    assert refused.value.code == "wrong_parent_kind"

    edit_place(session, restroom, name="男卫生间（东）", parent=floor, area_type="restroom")
    assert names(session, site) == ["A座", "  3F", "    男卫生间（东）"]

    archive_place(session, tower, NOW)  # the building and everything in it
    assert names(session, site) == []
    assert session.get(Location, restroom.id).archived_at == NOW  # still there: records cite it
    template = factories.checklist(session, area_type="restroom")
    assert locations_for(session, template, site) == []  # gone from pickers
    restore_place(session, restroom)  # and whatever holds it comes back with it
    assert names(session, site) == ["A座", "  3F", "    男卫生间（东）"]


def test_import_previews_then_applies_and_export_reads_back_unchanged(session):
    site = factories.site(session)
    data = csv_of(
        "A座,,,,,",
        "A座,1F,大堂,area,lobby,",
        "A座,1F,男卫生间,区域,卫生间,",
        "A座,2F,201,unit,,",
        "B座,B1,配电房,巡更点,,",
    )
    plan = plan_import(session, site, "places.csv", data)
    assert plan.problems == []
    assert [p.path for p in plan.create] == [
        ("A座", "", ""),
        ("A座", "1F", "大堂"),
        ("A座", "1F", ""),  # implied by the row inside it
        ("A座", "1F", "男卫生间"),
        ("A座", "2F", "201"),
        ("A座", "2F", ""),
        ("B座", "B1", "配电房"),
        ("B座", "", ""),
        ("B座", "B1", ""),
    ]
    assert session.scalar(sa.select(sa.func.count(Location.id))) == 0  # a preview changes nothing
    apply_plan(session, site, plan, NOW)
    assert names(session, site) == [
        "A座",
        "  1F",
        "    大堂",
        "    男卫生间",
        "  2F",
        "    201",
        "B座",
        "  B1",
        "    配电房",
    ]
    checkpoint = session.scalar(sa.select(Location).where(Location.name == "配电房"))
    assert checkpoint.kind == K.CHECKPOINT and len(checkpoint.qr_code) == 9

    for chinese in (True, False):
        for fmt in ("csv", "xlsx"):
            header, rows = export_rows(session, site, chinese=chinese)
            again = plan_import(session, site, f"places.{fmt}", write_sheet(fmt, header, rows))
            assert again.problems == [] and again.empty, (chinese, fmt)


def test_imported_places_reach_the_phones_of_their_site_only(session):
    site, elsewhere = factories.site(session), factories.site(session)
    session.commit()
    cursor = newest_cursor(session)
    plan = plan_import(session, site, "places.csv", csv_of("A座,1F,大堂,area,lobby,", "A座,2F,201,unit,,"))
    apply_plan(session, site, plan, NOW)
    session.commit()
    made = session.scalars(sa.select(Location.id).where(Location.site_id == site.id)).all()
    assert len(made) == 5  # a building, two floors, two places in them
    assert logged_after(session, cursor, site) == {("location", str(i)) for i in made}
    assert logged_after(session, cursor, elsewhere) == set()


def test_a_place_left_out_is_archived_and_a_place_named_again_comes_back(session):
    site = factories.site(session)
    apply_plan(
        session,
        site,
        plan_import(session, site, "p.csv", csv_of("A座,1F,大堂,,lobby,", "A座,1F,电梯厅,,lift_hall,")),
        NOW,
    )
    plan = plan_import(session, site, "p.csv", csv_of("A座,1F,大堂,,restroom,"))
    assert [p.name for p in plan.archive] == ["电梯厅"]
    assert [(place.name, fields) for place, _, fields in plan.change] == [("大堂", ["area_type"])]
    apply_plan(session, site, plan, NOW)
    lift_hall = session.scalar(sa.select(Location).where(Location.name == "电梯厅"))
    assert lift_hall.archived_at == NOW
    plan = plan_import(session, site, "p.csv", csv_of("A座,1F,大堂,,restroom,", "A座,1F,电梯厅,,lift_hall,"))
    assert plan.restore == [lift_hall] and plan.create == []


def test_one_bad_row_and_nothing_changes_each_problem_named_by_its_line(session):
    site = factories.site(session)
    factories.place(session, site, kind=K.BUILDING, name="A座")
    data = csv_of(
        "A座,1F,大堂,area,lobby,",
        "A座,1F,男卫生间,toilet,,",  # line 3: unknown kind
        "A座,1F,电梯厅,area,spa,",  # line 4: unknown area type
        "A座,1F,大堂,area,lobby,",  # line 5: the same place as line 2
        "A座,1F,1101,unit,restroom,",  # line 6: only areas have an area type
        "A座,1F,\u202e东门,area,,",  # line 7: an invisible character
        "A座,1F,西门,area,,maybe",  # line 8: archived is yes or blank
        "C座,,,,,yes",
        "C座,1F,,,,",  # line 10: alive inside an archived building
    )
    plan = plan_import(session, site, "places.csv", data)
    assert [(p.line, p.code) for p in plan.problems] == [
        (3, "unknown_kind"),
        (4, "unknown_area_type"),
        (5, "duplicate"),
        (6, "area_type_not_area"),
        (7, "invisible_character"),
        (8, "bad_archived"),
        (10, "inside_archived"),
    ]
    assert plan.empty
    assert names(session, site) == ["A座"]
    assert gc.isenabled()  # paused while the file was checked, back on after


def test_files_that_are_not_a_place_tree_are_refused_as_a_whole(session):
    site = factories.site(session)
    assert plan_import(session, site, "p.csv", b"name,type\nx,y\n").problems[0].code == "missing_columns"
    assert plan_import(session, site, "p.xlsx", b"not a zip").problems[0].code == "not_a_sheet"
    gb = "楼栋,楼层,位置,类型,保洁区域类型,已停用\nA座,1F,大堂,区域,大堂,\n".encode("gb18030")
    plan = plan_import(session, site, "p.csv", gb)  # Chinese Excel's CSV
    assert plan.problems == [] and [p.path for p in plan.create][0] == ("A座", "1F", "大堂")
