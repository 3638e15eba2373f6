"""Where the engine joins the tickets app: filled in with the engine."""


def connect() -> None:
    """Register the blueprint steps into the tickets app's registries (idempotent)."""
