"""The list panel's items of the contact and account pages (CUS-02), built in Python.

As the desk's ticket list builds its rows (`helpdesk.tickets.templatetags.ticket_list`): 25
items of template nodes, each reversing its record's address and translating its labels,
cost more than the panel's queries (bench/customers.py). The address is reversed once for the
list (`helpdesk.http.url_maker`); every value passes through `esc`, which escapes what
Django's `escape` does."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.http import url_maker
from helpdesk.tickets.templatetags.ticket_list import DASH, esc


def list_items(
    records: Iterable[Any],
    *,
    kind: str,
    portal: str,
    keep: str,
    tab: str,
    current_pk: int,
) -> SafeString:
    """The `<li>` of each contact or account of the panel's page: its link (keeping the
    list's search and the open tab), name, email and phone (a contact) or contact count and
    phone (an account), owner and tags; the record on show is marked current."""
    record_url = (
        url_maker("customers:contact_detail", "contact_id", portal=portal)
        if kind == "contact"
        else url_maker("customers:account_detail", "account_id", portal=portal)
    )
    query = esc(f"?{keep}&tab={tab}" if keep else f"?tab={tab}")
    owner_label = _("Owner: %(name)s")

    def item(r: Any) -> str:
        url = f"{esc(record_url(r.pk))}{query}"
        current = ' aria-current="true" class="current"' if r.pk == current_pk else ""
        if kind == "contact":
            phone = r.phone or r.mobile
            details = f'<small class="muted">{esc(r.email or DASH)}</small>' + (
                f'<small class="muted">{esc(phone)}</small>' if phone else ""
            )
        else:
            count = ngettext("%(counter)s contact", "%(counter)s contacts", r.contact_count) % {
                "counter": r.contact_count
            }
            phone = f" · {esc(r.phone)}" if r.phone else ""
            details = f'<small class="muted">{esc(count)}{phone}</small>'
        owner = (
            f'<small class="muted">{esc(owner_label % {"name": r.owner.display_name})}</small>'
            if r.owner
            else ""
        )
        tags = r.tag_list
        tag_html = (
            '<span class="record-item-tags">'
            + "".join(f'<span class="badge">{esc(tag)}</span> ' for tag in tags)
            + "</span>"
            if tags
            else ""
        )
        return (
            f'<li><a href="{url}" hx-get="{url}" hx-target="#record-area" hx-swap="outerHTML"'
            f' hx-push-url="true" data-record="{esc(r.pk)}"{current}>'
            f'<span class="record-item-name">{esc(r.name)}</span>'
            f"{details}{owner}{tag_html}</a></li>"
        )

    return mark_safe("\n".join(item(r) for r in records))  # noqa: S308 - every value passed esc()
