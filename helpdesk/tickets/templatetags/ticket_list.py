"""The rows of the ticket list, built in Python.

The list is the desk's hottest page; rendering its rows through template nodes cost more than
its queries. `format_html` escapes every value exactly as the template would. Each member
chooses the columns and their order (TKT-06); a cell is one small format per column."""

from __future__ import annotations

from collections.abc import Callable

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

register = template.Library()
OVERDUE = mark_safe(' class="overdue"')  # noqa: S308 - a constant
DASH = "—"


def _time(iso: str, label: str, extra: str = "") -> SafeString:
    if not iso:
        return format_html("<td>{}</td>", DASH)
    # The day and the time each stay whole; a narrow column breaks only between them.
    day, _sep, clock = label.partition(" ")
    return format_html(
        '<td><time datetime="{}"{}><span>{}</span> <span>{}</span></time></td>',
        iso,
        extra,
        day,
        clock,
    )


CELLS: dict[str, Callable[..., SafeString]] = {
    "number": lambda t, url: format_html('<td class="num">{}</td>', t.number),
    "subject": lambda t, url: format_html(
        '<td class="subject"><a href="{}tickets/{}/" data-row-link>{}</a></td>',
        url,
        t.number,
        t.subject,
    ),
    "contact": lambda t, url: format_html("<td>{}</td>", t.contact or DASH),
    "account": lambda t, url: format_html("<td>{}</td>", t.account or DASH),
    "status": lambda t, url: format_html(
        '<td><span class="badge kind-{}">{}</span></td>', t.status_kind, t.status
    ),
    "priority": lambda t, url: format_html(
        '<td><span class="prio prio-{}">{}</span></td>', t.priority, t.priority_label
    ),
    "owner": lambda t, url: format_html("<td>{}</td>", t.owner or DASH),
    "department": lambda t, url: format_html("<td>{}</td>", t.department),
    "channel": lambda t, url: format_html("<td>{}</td>", t.channel_label),
    "created": lambda t, url: _time(t.created_iso, t.created_label),
    "activity": lambda t, url: _time(t.activity_iso, t.activity_label),
    "due": lambda t, url: _time(t.due_iso, t.due_label, OVERDUE if t.overdue else ""),
}


@register.simple_tag
def ticket_rows(rows, columns, desk_url: str, select_label: str, can_bulk: bool) -> SafeString:
    keys = [c.key for c in columns]

    def row(t):
        check = (
            format_html(
                '<td class="check"><input type="checkbox" name="tickets" value="{0}" '
                'aria-label="{1} {0}"></td>',
                t.number,
                select_label,
            )
            if can_bulk
            else ""
        )
        cells = mark_safe("".join(CELLS[k](t, desk_url) for k in keys))  # noqa: S308 - escaped
        return (t.number, check, cells)

    return format_html_join(
        "\n", '<tr data-number="{0}" data-row>{1}{2}</tr>', (row(t) for t in rows)
    )
