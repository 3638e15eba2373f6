"""Models of activities and time."""
