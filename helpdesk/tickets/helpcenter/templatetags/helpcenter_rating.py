"""`{% load helpcenter_rating %}{% ticket_rating %}`: the ticket page's rating panel (TKT-04),
one line in the shared ticket page and one query (the ticket's rating, if any)."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString

from ...templatetags.ticket_page import render_partial
from ..models import Rating

register = template.Library()


@register.simple_tag(takes_context=True)
def ticket_rating(context: template.Context) -> SafeString:
    ticket = context["ticket"]
    rating = (
        Rating.objects.for_org(ticket.org_id)
        .filter(ticket=ticket)
        .select_related("contact")
        .first()
    )
    return render_partial(context, "tickets/_rating.html", {"ticket": ticket, "rating": rating})
