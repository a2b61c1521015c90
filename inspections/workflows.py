"""What each kind of checklist does around a submission, declared once per kind, so that
``inspections.submission`` stores any checklist without knowing the workflows (cleaning's check
kinds, fit-out's sign-offs).

A kind not listed here does nothing beyond its own rows and the tickets its failed items open.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from foundation.org import Location, User
from inspections.checklists import ChecklistTemplate, TemplateKind
from inspections.cleaning import CheckKind, check_kind_for
from inspections.fitout import ACCEPTANCE_TEMPLATES, check_acceptance_allowed, record_signoff


@dataclass(frozen=True)
class Workflow:
    # Which kind of check this is for the person making it (cleaning: daily, patrol, spot …).
    check_kind: Callable[[User], CheckKind | None] = lambda actor: None
    # Whether passing an item again closes its open ticket, for a check of that kind.
    rechecks: Callable[[CheckKind | None], bool] = lambda check_kind: False
    # Refuses the submission (raises inspections.fitout.FitoutRefused) before anything is written.
    before: Callable[[Session, ChecklistTemplate, Location, date], None] | None = None
    # Runs once it is written (a sign-off moving a fit-out project on).
    after: Callable[[Session, ChecklistTemplate, Location, date], None] | None = None


NOTHING_MORE = Workflow()

WORKFLOWS: dict[TemplateKind, Workflow] = {
    # A lead's patrol or a spot check that passes an item closes its rework (§3.6.8).
    TemplateKind.CLEANING: Workflow(
        check_kind=lambda actor: check_kind_for(actor.role),
        rechecks=lambda check_kind: check_kind in (CheckKind.PATROL, CheckKind.SPOT),
    ),
    # Any department's daily fit-out inspection that passes an item closes its violation.
    TemplateKind.FITOUT: Workflow(rechecks=lambda check_kind: True),
    # The three departments' acceptance sign-offs (§3.2.4): completion waits for every violation
    # to close, and the last sign-off moves the project on.
    **{kind: Workflow(before=check_acceptance_allowed, after=record_signoff) for kind in ACCEPTANCE_TEMPLATES},
}


def workflow_of(template: ChecklistTemplate) -> Workflow:
    return WORKFLOWS.get(template.kind, NOTHING_MORE)
