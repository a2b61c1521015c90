"""The roles and every set of them a rule names: the one place that says who is what.

Views state their rule with these (``roles_required(roles.DESK)``), the domain checks with them,
and the access-matrix test reads them; nothing else spells out a set of roles.
"""

from __future__ import annotations

import enum


class Role(str, enum.Enum):
    GUARD = "guard"
    CLEANER = "cleaner"
    SUPERVISOR = "supervisor"
    ENGINEER = "engineer"
    CUSTOMER_SERVICE = "customer_service"
    MANAGER = "manager"
    ADMIN = "admin"


EVERYONE = frozenset(Role)
# Run the department from a desk: people, places, schedules, scoring rules, overrides.
OFFICE = frozenset({Role.MANAGER, Role.ADMIN})
# The department's office: the console, customers' calls (受理), fit-out applications.
DESK = frozenset({Role.CUSTOMER_SERVICE, Role.MANAGER, Role.ADMIN})
# Move tickets along and assign them; check cleaning as lead, in the joint check or as manager.
HANDLERS = frozenset({Role.SUPERVISOR, Role.CUSTOMER_SERVICE, Role.MANAGER, Role.ADMIN})
# Write and publish checklists (and anyone a manager lets: ``User.writes_checklists``).
CHECKLIST_WRITERS = OFFICE
# Plan a department's work: patrol routes, cleaning duties and periodic tasks.
PLANNERS = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})
# Walk patrol rounds and see checkpoint codes.
PATROL = frozenset({Role.GUARD, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})
# See the cleaning areas and duties of a site on Today.
CLEANING = frozenset({Role.CLEANER, Role.SUPERVISOR, Role.MANAGER})
# The cleaning score sheet is posted for everyone it scores.
SCORE_SHEET_READERS = HANDLERS | {Role.CLEANER}
# Inspect fit-outs on site (二装巡查): every department but cleaning.
FITOUT_INSPECTORS = EVERYONE - {Role.CLEANER}
# Read a place's history (tickets and records there): every department but cleaning.
PLACE_HISTORY = EVERYONE - {Role.CLEANER}
