"""`{% load sla_ticket %}`: the SLA clocks of a ticket as people read them (BP-15, TKT-09).

- `{% ticket_sla_panel %}`: the ticket page's SLA panel, one line in the shared ticket page
  and one query (the ticket's open clocks), whatever the data;
- `{% ticket_state_clock %}`: the current state's clock on the blueprint bar (one query in the
  bar's own request);
- `{{ delta|sla_span }}`: a time left or overdue as "2 h 5 min"."""

from __future__ import annotations

import datetime as dt

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from .. import durations
from ..selectors import ticket_sla

register = template.Library()


@register.filter
def sla_span(delta: dt.timedelta) -> str:
    return durations.span_text(delta)


@register.filter
def sla_minutes(minutes: int | None) -> str:
    return durations.text(minutes) if minutes else "—"


def panel(ticket, request) -> SafeString:  # type: ignore[no-untyped-def]
    """The panel's HTML: nothing at all for a ticket without open clocks."""
    clocks = ticket_sla(ticket)
    # A SafeString: the template escaped what it shows.
    return render_to_string(
        "sla/ticket/_panel.html", {"ticket": ticket, "clocks": clocks}, request=request
    )


@register.simple_tag(takes_context=True)
def ticket_sla_panel(context: template.Context) -> SafeString:
    return panel(context["ticket"], context.get("request"))


@register.simple_tag(takes_context=True)
def ticket_state_clock(context: template.Context) -> SafeString:
    """The clock of the ticket's current blueprint state, if its state has an SLA."""
    ticket = context["ticket"]
    instance = context.get("instance")
    state_id = getattr(instance, "state_id", None)
    clocks = [c for c in ticket_sla(ticket) if c.kind == "state" and c.state_id == state_id]
    return render_to_string(
        "sla/ticket/_state_clock.html",
        {"ticket": ticket, "clock": clocks[0] if clocks else None},
        request=context.get("request"),
    )
