"""Demo data: the top layer, free to import every app."""
