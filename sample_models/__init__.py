"""Seeded builders of the sample models (`catalogue`) and their saved files (`files/`)."""
