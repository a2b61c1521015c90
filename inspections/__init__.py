"""Field inspections: sites, people, checklist templates, inspections and photos.

The domain never imports from ``webapp`` or ``sync``: callers pass the acting
person, the device and the clock in.
"""
