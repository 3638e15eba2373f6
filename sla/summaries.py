"""Short descriptions of SLA settings for the Setup pages: a department's policies by
priority, and the SLA of each state of a blueprint (what the blueprint's states table shows
through `blueprints.panels`, which sla fills at start-up so blueprints imports nothing of sla).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db.models import Count
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from blueprints.panels import StateNote, state_column_register
from helpdesk.tickets.models import Priority

from . import durations
from .models import SlaPolicy, StateSla


@dataclass(frozen=True)
class PolicyRow:
    priority: str
    label: str
    policy: SlaPolicy | None

    @property
    def first_response(self) -> str:
        minutes = self.policy.first_response_minutes if self.policy else None
        return durations.text(minutes) if minutes else "—"

    @property
    def resolution(self) -> str:
        minutes = self.policy.resolution_minutes if self.policy else None
        return durations.text(minutes) if minutes else "—"


def policy_rows(policies: Sequence[SlaPolicy]) -> list[PolicyRow]:
    """One row per priority, from urgent to low, with the department's policy if it has one."""
    by_priority = {p.priority: p for p in policies}
    return [
        PolicyRow(priority=value, label=str(label), policy=by_priority.get(value))
        for value, label in reversed(Priority.choices)
    ]


def mode_text(business_hours: bool) -> str:
    return _("business hours") if business_hours else _("calendar hours")


def state_sla_text(state_sla: StateSla | None, level_count: int = 0) -> str:
    """The state's SLA in words ("4 hours in business hours, 2 escalation levels") or "No
    SLA"."""
    if state_sla is None:
        return _("No SLA")
    text = _("%(time)s in %(mode)s") % {
        "time": durations.text(state_sla.minutes),
        "mode": mode_text(state_sla.business_hours),
    }
    if level_count:
        text += ", " + ngettext(
            "%(n)d escalation level", "%(n)d escalation levels", level_count
        ) % {"n": level_count}
    return text


def state_notes(org_id: int, portal: str, state_ids: Sequence[int]) -> dict[int, StateNote]:
    """The SLA of each state (one query), with the link to its form."""
    slas = {
        s.state_id: s
        for s in StateSla.objects.for_org(org_id)
        .filter(state_id__in=list(state_ids))
        .annotate(level_count=Count("levels"))
    }
    notes = {}
    for state_id in state_ids:
        sla = slas.get(state_id)
        notes[state_id] = StateNote(
            text=state_sla_text(sla, getattr(sla, "level_count", 0)),
            link_text=_("Edit SLA") if sla else _("Set an SLA"),
            url=reverse("sla:state_sla", kwargs={"portal": portal, "state_id": state_id}),
        )
    return notes


def connect() -> None:
    """The "SLA" column of a blueprint's states table in Setup (called from `hooks.connect`)."""
    state_column_register("sla", gettext_lazy("SLA"), state_notes)
