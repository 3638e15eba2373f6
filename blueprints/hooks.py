"""Where the engine joins the tickets app (at start-up, from `BlueprintsConfig.ready`): the
pipeline's "blueprints" slot (TKT-09), the history listener (actions inside a window, BP-09/13;
auto-transitions, BP-05), the access guard (restricted mode, BP-02) and the condition
language's extra fields. Registries of tickets, so tickets imports nothing of blueprints."""

from __future__ import annotations


def connect() -> None:
    """Register the blueprint steps into the tickets app's registries (idempotent)."""
    from helpdesk.tickets import pipeline
    from helpdesk.tickets.services.access import guard_register
    from helpdesk.tickets.services.history import history_listen

    from . import conditions, engine

    pipeline.register("blueprints", engine.blueprint_step)
    pipeline.token_register(engine.definitions.TOKEN_NAME, engine.definitions.TOKEN_SQL)
    history_listen(engine.history_recorded)
    guard_register(engine.restriction_guard)
    conditions.register()
    engine.definitions.watch()  # ticket statuses and custom fields are compiled in
