"""The rows of the CRM's lists and of a record's desk tickets, built in Python.

As the desk's ticket list builds its rows (`helpdesk.tickets.templatetags.ticket_list`): 25
rows of template nodes (a form, a CSRF token and two translated labels a row on a deal's
tickets) cost more than the page's queries (bench/crm_pages.py). Every value passes through
`esc`, which escapes what Django's `escape` does; the translated texts are looked up once per
list, not once per row."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django import template
from django.template.defaultfilters import floatformat
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from helpdesk.tickets.templatetags.ticket_list import DASH, esc

register = template.Library()


def _or_dash(value: object) -> str:
    return esc(value) if value not in (None, "") else DASH


def _linked(url: str, text: object) -> str:
    return f'<a href="{esc(url)}">{esc(text)}</a>' if url else esc(text)


def _join(rows: Iterable[str]) -> SafeString:
    return mark_safe("\n".join(rows))  # noqa: S308 - every value passed esc()


@register.simple_tag
def crm_contact_rows(rows: Iterable[Mapping[str, Any]]) -> SafeString:
    """`crmsync.views.records._contact_rows` rows: name (and title), email (and the secondary
    one), phone (else mobile), account, owner."""

    def row(c: Mapping[str, Any]) -> str:
        title = f'<br><small class="muted">{esc(c["title"])}</small>' if c["title"] else ""
        second = (
            f'<br><small class="muted">{esc(c["secondary_email"])}</small>'
            if c["secondary_email"]
            else ""
        )
        account = _linked(c["account_url"], c["account_name"]) if c["account_id"] else DASH
        return (
            f'<tr data-contact="{esc(c["pk"])}">'
            f'<td><a href="{esc(c["url"])}">{esc(c["name"])}</a>{title}</td>'
            f"<td>{_or_dash(c['email'])}{second}</td>"
            f"<td>{_or_dash(c['phone'] or c['mobile'])}</td>"
            f"<td>{account}</td>"
            f"<td>{_or_dash(c['owner'])}</td></tr>"
        )

    return _join(row(c) for c in rows)


@register.simple_tag
def crm_account_rows(rows: Iterable[Mapping[str, Any]]) -> SafeString:
    """`crmsync.views.records._account_rows` rows, with their open deals."""

    def row(a: Mapping[str, Any]) -> str:
        return (
            f'<tr data-account="{esc(a["pk"])}">'
            f'<td><a href="{esc(a["url"])}">{esc(a["name"])}</a></td>'
            f"<td>{esc(a['type_label'])}</td>"
            f"<td>{_or_dash(a['industry'])}</td>"
            f"<td>{_or_dash(a['phone'])}</td>"
            f"<td>{_or_dash(a['owner'])}</td>"
            f"<td>{esc(a.get('open_deals', ''))}</td></tr>"
        )

    return _join(row(a) for a in rows)


@register.simple_tag
def crm_deal_rows(rows: Iterable[Mapping[str, Any]]) -> SafeString:
    """`crmsync.views.records._deal_rows` rows: name, account, stage, amount (grouped, two
    decimals, in the active language's format), expected close, owner."""

    def row(d: Mapping[str, Any]) -> str:
        account = _linked(d["account_url"], d["account_name"]) if d["account_id"] else DASH
        amount = esc(floatformat(d["amount"], "2g")) if d["amount"] is not None else DASH
        close = d["expected_close"]
        return (
            f'<tr data-deal="{esc(d["pk"])}">'
            f'<td><a href="{esc(d["url"])}">{esc(d["name"])}</a></td>'
            f"<td>{account}</td>"
            f'<td><span class="badge">{esc(d["stage_label"])}</span></td>'
            f'<td class="num">{amount}</td>'
            f"<td>{esc(close.strftime('%Y-%m-%d')) if close else DASH}</td>"
            f"<td>{_or_dash(d['owner'])}</td></tr>"
        )

    return _join(row(d) for d in rows)


@register.simple_tag(takes_context=True)
def crm_ticket_rows(
    context: template.Context, rows: Iterable[Any], link_deals: bool, can_unlink: bool, back: str
) -> SafeString:
    """A record's desk tickets (`crmsync.record_ticket_selectors.TicketRow`): a checkbox for
    linking to a deal (accounts and contacts), number, subject, status, priority, owner, due
    (marked when overdue), created, and on a deal an "Unlink" form."""
    csrf = esc(context.get("csrf_token", ""))
    back_value = esc(back)
    unlink = esc(_("Unlink"))
    select_label = _("Select ticket #%(number)s")
    unlink_label = _("Unlink ticket #%(number)s from this deal")

    def row(t: Any) -> str:
        number = esc(t.number)
        check = (
            f'<td><input type="checkbox" name="tickets" value="{number}" '
            f'id="crm-ticket-{number}" aria-label="{esc(select_label % {"number": t.number})}">'
            "</td>"
            if link_deals
            else ""
        )
        due = (
            f'<td class="danger-text" data-overdue="1">{_or_dash(t.due_text)}</td>'
            if t.overdue
            else f"<td>{_or_dash(t.due_text)}</td>"
        )
        action = (
            f'<td><form method="post" action="{esc(t.unlink_url)}">'
            f'<input type="hidden" name="csrfmiddlewaretoken" value="{csrf}">'
            f'<input type="hidden" name="next" value="{back_value}">'
            f'<button type="submit" class="button small" '
            f'aria-label="{esc(unlink_label % {"number": t.number})}">{unlink}</button>'
            "</form></td>"
            if can_unlink
            else ""
        )
        return (
            f'<tr data-ticket="{number}">{check}'
            f"<td>{_linked(t.url, f'#{t.number}')}</td>"
            f"<td>{_linked(t.url, t.subject)}</td>"
            f'<td><span class="badge status-{esc(t.status_kind)}">{esc(t.status)}</span></td>'
            f'<td><span class="priority-{esc(t.priority)}">{esc(t.priority_label)}</span></td>'
            f"<td>{_or_dash(t.owner)}</td>{due}<td>{esc(t.created_text)}</td>{action}</tr>"
        )

    return _join(row(t) for t in rows)
