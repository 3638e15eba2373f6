"""The rows of the ticket list, built in Python.

The list is the desk's hottest page; rendering its rows through template nodes cost more than
its queries, and even `format_html` spent most of a row's time checking each value for lazy
strings. A cell is therefore one f-string whose values all pass through `esc`, which escapes
exactly the characters Django's `escape` does (& < > " '), with the same entities. Each member
chooses the columns and their order (TKT-06)."""

from __future__ import annotations

from collections.abc import Callable

from django import template
from django.utils.safestring import SafeString, mark_safe

register = template.Library()
DASH = "—"
_ENTITIES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def esc(value: object) -> str:
    """Django's `escape` without its lazy-string wrapper (the values here are plain)."""
    return str(value).translate(_ENTITIES)


def _time(iso: str, label: str, extra: str = "") -> str:
    if not iso:
        return f"<td>{DASH}</td>"
    # The day and the time each stay whole; a narrow column breaks only between them.
    day, _sep, clock = label.partition(" ")
    return (
        f'<td><time datetime="{esc(iso)}"{extra}><span>{esc(day)}</span> '
        f"<span>{esc(clock)}</span></time></td>"
    )


CELLS: dict[str, Callable[..., str]] = {
    "number": lambda t, url: f'<td class="num">{esc(t.number)}</td>',
    "subject": lambda t, url: (
        f'<td class="subject"><a href="{esc(url)}tickets/{esc(t.number)}/" data-row-link>'
        f"{esc(t.subject)}</a></td>"
    ),
    "contact": lambda t, url: f"<td>{esc(t.contact or DASH)}</td>",
    "account": lambda t, url: f"<td>{esc(t.account or DASH)}</td>",
    "status": lambda t, url: (
        f'<td><span class="badge kind-{esc(t.status_kind)}">{esc(t.status)}</span></td>'
    ),
    "priority": lambda t, url: (
        f'<td><span class="prio prio-{esc(t.priority)}">{esc(t.priority_label)}</span></td>'
    ),
    "owner": lambda t, url: f"<td>{esc(t.owner or DASH)}</td>",
    "department": lambda t, url: f"<td>{esc(t.department)}</td>",
    "channel": lambda t, url: f"<td>{esc(t.channel_label)}</td>",
    "created": lambda t, url: _time(t.created_iso, t.created_label),
    "activity": lambda t, url: _time(t.activity_iso, t.activity_label),
    "due": lambda t, url: _time(t.due_iso, t.due_label, ' class="overdue"' if t.overdue else ""),
}


@register.simple_tag
def ticket_rows(rows, columns, desk_url: str, select_label: str, can_bulk: bool) -> SafeString:
    cells = [CELLS[c.key] for c in columns]
    label = esc(select_label)

    def row(t) -> str:
        number = esc(t.number)
        check = (
            f'<td class="check"><input type="checkbox" name="tickets" value="{number}" '
            f'aria-label="{label} {number}"></td>'
            if can_bulk
            else ""
        )
        body = "".join(cell(t, desk_url) for cell in cells)
        return f'<tr data-number="{number}" data-row>{check}{body}</tr>'

    return mark_safe("\n".join(row(t) for t in rows))  # noqa: S308 - every value passed esc()
