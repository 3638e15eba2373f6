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
from helpdesk.tenancy.models import DeskRole
from helpdesk.tickets.models import Priority

from . import durations
from .models import EscalationLevel, SlaPolicy, StateSla, When


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


def level_text(level: EscalationLevel, people: int = 0, teams: int = 0) -> str:
    """An escalation level in words: "Level 2: 1 hour after the due time, mails the ticket's
    owner, 2 people and 1 team"."""
    offset = durations.text(level.offset_minutes) if level.offset_minutes else ""
    if level.when == When.AT or not offset:
        when = _("at the due time")
    elif level.when == When.BEFORE:
        when = _("%(time)s before the due time") % {"time": offset}
    else:
        when = _("%(time)s after the due time") % {"time": offset}
    whom = []
    if level.notify_owner:
        whom.append(_("the ticket's owner"))
    if level.notify_manager:
        whom.append(_("the owner's manager"))
    roles = dict(DeskRole.choices)
    whom += [str(roles.get(role, role)) for role in level.roles or ()]
    if people:
        whom.append(ngettext("%(n)d person", "%(n)d people", people) % {"n": people})
    if teams:
        whom.append(ngettext("%(n)d team", "%(n)d teams", teams) % {"n": teams})
    return _("Level %(level)d: %(when)s, mails %(whom)s") % {
        "level": level.level,
        "when": when,
        "whom": ", ".join(whom) if whom else _("nobody yet"),
    }


def state_notes(org_id: int, portal: str, state_ids: Sequence[int]) -> dict[int, StateNote]:
    """The SLA of each state with its escalation levels (two queries), and the link to its
    form."""
    slas = {
        s.state_id: s
        for s in StateSla.objects.for_org(org_id)
        .filter(state_id__in=list(state_ids))
        .annotate(level_count=Count("levels"))
    }
    details: dict[int, list[str]] = {}
    if slas:
        levels = (
            EscalationLevel.objects.for_org(org_id)
            .filter(state_sla__in=[s.pk for s in slas.values()])
            .annotate(
                people=Count("users", distinct=True), team_count=Count("teams", distinct=True)
            )
            .order_by("level")
        )
        state_of = {s.pk: state_id for state_id, s in slas.items()}
        for level in levels:
            details.setdefault(state_of[level.state_sla_id], []).append(
                level_text(level, level.people, level.team_count)
            )
    notes = {}
    for state_id in state_ids:
        sla = slas.get(state_id)
        notes[state_id] = StateNote(
            text=state_sla_text(sla, getattr(sla, "level_count", 0)),
            link_text=_("Edit SLA") if sla else _("Set an SLA"),
            url=reverse("sla:state_sla", kwargs={"portal": portal, "state_id": state_id}),
            details=tuple(details.get(state_id, ())),
        )
    return notes


def connect() -> None:
    """The "SLA" column of a blueprint's states table in Setup (called from `hooks.connect`)."""
    state_column_register("sla", gettext_lazy("SLA"), state_notes)
