"""Tasks, calls, events and time entries (TKT-04)."""
