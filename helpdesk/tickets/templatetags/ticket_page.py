"""`{% ticket_panel "tags" %}` and friends: the ticket page's own panels (TKT-01), each
rendered from its partial with its context function (views/ticket_extras.py), so the shared
ticket page includes each with one line."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from ..views import ticket_extras
from .ticket_list import esc

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


# --- History rows (TKT-05) ------------------------------------------------------------------
def _clip(text: str) -> str:
    """`truncatechars:80`, without building a Truncator for the short values most are."""
    return text if len(text) <= 80 else Truncator(text).chars(80)


def _history_row(row: Any) -> str:
    entry = row.entry
    at = timezone.localtime(entry.created_at)
    if row.rule:
        who = esc(_("Rule: %(name)s") % {"name": row.rule})
    else:
        name = entry.actor.display_name if entry.actor is not None else ""
        who = esc(name or "—")
    changes = ""
    if row.changes:
        items = []
        for change in row.changes:
            before, after = str(change.before or ""), str(change.after or "")
            value = f"<del>{esc(_clip(before))}</del> → " if before else ""
            if after:
                value += f"<ins>{esc(_clip(after))}</ins>"
            elif before:
                value += f'<span class="muted">{esc(_("(removed)"))}</span>'
            else:
                value += "—"
            items.append(f'<div class="change"><dt>{esc(change.label)}</dt><dd>{value}</dd></div>')
        changes = f'<dl class="changes">{"".join(items)}</dl>'
    return (
        f'<tr data-action="{esc(entry.action)}">'
        f'<td><time datetime="{esc(at.isoformat())}">{at:%Y-%m-%d %H:%M:%S}</time></td>'
        f"<td>{who}</td>"
        f'<td data-testid="history-action">{esc(row.action)}</td>'
        f"<td>{changes}</td>"
        f"<td>{esc(entry.ip_address or '—')}</td></tr>"
    )


@register.simple_tag
def history_table_rows(rows: list[Any]) -> SafeString:
    """A ticket's history rows (`helpdesk.tickets.history_display.history_rows`) as table
    rows, built in Python as the list's rows are (`ticket_list.py`): through template nodes
    they cost about half a millisecond each, a quarter of a busy ticket page. Every value
    passes through `esc`; the same cells as the template had (tests compare them)."""
    return mark_safe("".join(_history_row(row) for row in rows))  # noqa: S308 - escaped above
