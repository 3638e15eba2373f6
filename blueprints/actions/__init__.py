"""After-actions (BP-11): what runs when a transition completes.

The engine calls `schedule_after_actions(log_entry)` from `transaction.on_commit` once a
transition is committed. Each action linked to the transition gets one `AfterActionRun` row
(unique on organization, log entry and action) and one Celery task; the task claims the row
before acting, so a duplicated or retried task acts once. A failing action is retried with
backoff, then recorded as failed (shown on the ticket); it never undoes the transition.

Types: email notification (a mail template to the ticket owner, the contact, chosen users and
roles), field update (through the ticket service, with history), task assignment (an activity
through the activities service), custom function (a signed webhook, enterprise plan).

This package's `__init__` stays light: `blueprints.models` imports `.models` at start-up."""

from __future__ import annotations

from typing import Any

from helpdesk.tickets.mailtemplates import usage as _template_usage

from . import tasks  # noqa: F401  (registers the Celery task with the worker)


def schedule_after_actions(log_entry: Any) -> None:
    """Queue the after-actions linked to `log_entry.transition` (a `TransitionLog` of a
    completed transition), in their order. Called after the transition's commit. A transition
    that the engine's compiled definitions show with no linked action (`after_action_count`
    0) schedules nothing without asking the database."""
    if getattr(_cached_transition(log_entry), "after_action_count", None) == 0:
        return
    from .services import after_actions_schedule

    tasks.enqueue(after_actions_schedule(log_entry=log_entry))


def _cached_transition(log_entry: Any) -> Any:
    """The entry's transition if it is loaded already (the engine's compiled one), else None."""
    state = getattr(log_entry, "_state", None)
    return getattr(state, "fields_cache", {}).get("transition")


def _email_actions_sending(org_id: int, template_id: int) -> int:
    from blueprints.models import AfterAction, AfterActionType

    return (
        AfterAction.objects.for_org(org_id)
        .filter(type=AfterActionType.EMAIL, config__template_id=template_id)
        .count()
    )


_template_usage.register("blueprints.after_actions", _email_actions_sending)
