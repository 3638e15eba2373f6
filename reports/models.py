"""The blueprint report's record of state visits (BP-26).

A `StateVisit` is one stay of a ticket in one blueprint state: entered at `entered_at`, left
at `left_at` (None while the ticket is still there). When the visit ends its length is stored
twice, in calendar seconds and in business seconds under the department's schedule (DEP-03),
so the report aggregates both in SQL (averages and percentiles) instead of running the
business-time arithmetic over every visit of a period at each page view. The transition that
ended the visit and who took it come with the engine's visit (`blueprints.visits.Visit`), so
the report reads one table, without joining the transition log.

Written only by `reports.visits` (a listener of `blueprints.visits`); read by
`reports.selectors`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from blueprints.models import Blueprint, State, Transition
from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import Department, TenantModel
from helpdesk.tickets.models import Ticket


class StateVisit(TenantModel):
    """One stay of a ticket in a blueprint state (see the module docstring)."""

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    blueprint = TenantForeignKey(Blueprint, on_delete=models.CASCADE, related_name="+")
    # Kept when the state is deleted from the blueprint: the report shows "Deleted state".
    state = TenantForeignKey(
        State, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Whose business hours measure the visit: the ticket's department when it entered.
    department = TenantForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    entered_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    seconds = models.PositiveIntegerField(null=True, blank=True)
    business_seconds = models.PositiveIntegerField(null=True, blank=True)
    # How the visit ended: by a transition (`transition` None when it was deleted since) taken
    # by `actor` (None: an automatic transition), or not (a status change outside transitions,
    # leaving or removal from the blueprint).
    by_transition = models.BooleanField(default=False)
    transition = TenantForeignKey(
        Transition, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["entered_at", "pk"]
        constraints = [
            # A ticket is in one blueprint state at a time.
            models.UniqueConstraint(
                fields=["org", "ticket"],
                condition=Q(left_at__isnull=True),
                name="reports_visit_one_open",
            ),
        ]
        indexes = [
            # The report: a blueprint's visits that ended in a period.
            models.Index(fields=["org", "blueprint", "left_at"], name="reports_visit_left"),
        ]

    def __str__(self) -> str:
        return f"visit of ticket {self.ticket_id} in state {self.state_id}"
