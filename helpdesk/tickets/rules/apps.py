from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RulesConfig(AppConfig):
    name = "helpdesk.tickets.rules"
    label = "rules"
    verbose_name = _("Rules")

    def ready(self) -> None:
        # The rules' steps of the TKT-09 pipeline, in the slots it declares.
        from helpdesk.tickets import pipeline

        from . import steps, version
        from .models import AssignmentRule, WorkflowRule

        # What the steps cache per organization is renewed by every save and delete.
        version.watch(AssignmentRule, WorkflowRule)
        pipeline.register("assignment", steps.assignment_step)
        pipeline.register("workflow", steps.workflow_step)
        pipeline.register("round_robin", steps.round_robin_step)
