"""`{% ticket_panel "tags" %}` and friends: the ticket page's own panels (TKT-01), each
rendered from its partial with its context function (views/ticket_extras.py), so the shared
ticket page includes each with one line."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from ..views import ticket_extras

register = template.Library()

PANELS = {
    "tags": ("tickets/_tags.html", ticket_extras.tags_context),
    "followers": ("tickets/_followers.html", ticket_extras.followers_context),
    "customer": ("tickets/_customer_panel.html", ticket_extras.customer_context),
    "neighbours": ("tickets/_neighbours.html", ticket_extras.neighbours_context),
    "merge": ("tickets/_merge.html", ticket_extras.merge_context),
    "presence": ("tickets/_presence.html", ticket_extras.presence_context),
}


@register.simple_tag(takes_context=True)
def ticket_panel(context: template.Context, name: str) -> SafeString:
    request, ticket = context["request"], context["ticket"]
    template_name, build = PANELS[name]
    # A SafeString: the partial's template escaped what it shows.
    return render_to_string(template_name, build(request, ticket), request=request)
