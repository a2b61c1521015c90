"""Field inspections: checklist templates, the three workflows (patrol, cleaning, fit-out),
inspections, schedules and what is due today.

The domain never imports from ``webapp`` or ``sync``: callers pass the acting person, the
device and the clock in. Sites, places, people and roles come from ``foundation``.
"""
