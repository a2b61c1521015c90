"""The ticket store: complaints, repairs, violations, hazards and rework, with full history."""
