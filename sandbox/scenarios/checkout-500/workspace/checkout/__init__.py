"""A small checkout service (the incident fixture)."""
