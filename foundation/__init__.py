"""What every part of the product stands on: the model base, sites and their places, people,
roles, devices and sessions, notices, photos and the rules for text people type."""
