"""`{% ticket_panel "tags" %}` and friends: the ticket page's own panels (TKT-01), each
rendered from its partial with its context function (views/ticket_extras.py), so the shared
ticket page includes each with one line."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

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


def render_partial(
    context: template.Context, template_name: str, values: dict[str, Any]
) -> SafeString:
    """Render a partial inside the page's own context, as `{% include %}` does, with `values`
    on top. `render_to_string(..., request=...)` would build a new RequestContext and run every
    context processor again for each panel."""
    partial = context.template.engine.get_template(template_name)
    with context.push(values):
        # A SafeString: the partial's template escaped what it shows.
        return mark_safe(partial.render(context))  # noqa: S308


@register.simple_tag(takes_context=True)
def ticket_panel(context: template.Context, name: str) -> SafeString:
    request, ticket = context["request"], context["ticket"]
    template_name, build = PANELS[name]
    return render_partial(context, template_name, build(request, ticket))
