"""Where the SLA app joins the apps below it (at start-up, from `SlaConfig.ready`): the
pipeline's "sla" slot (TKT-09), the ticket history (the first public reply), the blueprint
engine's state visits (BP-15), the mail templates' usage count and the desk's "escalated" view
(TKT-06), all through registries, so neither tickets nor blueprints imports sla."""

from __future__ import annotations


def _templates_in_use(org_id: int, template_id: int) -> int:
    """Escalation levels sending the template: it may not be deleted from under them."""
    from .models import EscalationLevel

    return EscalationLevel.objects.for_org(org_id).filter(template_id=template_id).count()


def _schedule_changed(org_id: int, department_id: int) -> None:
    """A department's business hours, holidays or time zone changed (after commit): its open
    business-hours clocks are re-planned by a task, so the admin does not wait for them."""
    from .tasks import sla_replan_task

    sla_replan_task.delay(org_id, department_id=department_id)


def connect() -> None:
    """Register the SLA steps into the registries below (idempotent)."""
    from blueprints.visits import visit_listen
    from helpdesk.tenancy.selectors import schedule_listen
    from helpdesk.tickets import pipeline
    from helpdesk.tickets.mailtemplates import usage
    from helpdesk.tickets.selectors import view_filter_register
    from helpdesk.tickets.services.history import history_listen

    from .selectors import escalated_tickets
    from .services import steps

    pipeline.register("sla", steps.sla_step)
    history_listen(steps.reply_recorded)
    visit_listen(steps.state_visited)
    usage.register("sla", _templates_in_use)
    schedule_listen(_schedule_changed)
    view_filter_register("escalated", escalated_tickets)
    from . import summaries  # the SLA column of a blueprint's states in Setup (SETUP)

    summaries.connect()
