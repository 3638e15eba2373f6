"""The records' own data on the 360° pages: the History tab of a contact or an account
(CUS-04, Desk administrators only) and the tag suggestions of the record forms (CUS-01).

The History tab is a fragment like every tab (`customers:contact_history`,
`customers:account_history`, loaded into `#tab-panel`): who, when (in the reader's time zone),
from which IP address, what; a filter by the agent who acted (the people in this record's
history) and by action; 25 entries a page; each entry opens its detail
(`.../tabs/history/<entry_id>/`) with the before and after value of every field. Its links and
filter form work as plain links and GET forms too (the record page with `?tab=history`).

An account's history shows the account's own entries; "Include its contacts" adds the
entries of the contacts it has now (a contact that left keeps its history on its own page)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from helpdesk.http import query_text

from .. import selectors, services
from ..models import Account, Contact, CustomerHistory, HistoryAction, RecordKind
from .common import tab_record

PER_PAGE = 25
# The record page's own parameters (list panel search and page): kept in links, never read.
PAGE_PARAMS = ("q", "page")

# Fields that history entries name but that are not columns of the records.
EXTRA_LABELS = {
    "tags": gettext_lazy("Tags"),
    "products": gettext_lazy("Products"),
    "merged_from": pgettext_lazy("customer history", "Merged from"),
    "merged_into": pgettext_lazy("customer history", "Merged into"),
    "name": gettext_lazy("Name"),
    "note": gettext_lazy("Note"),
    "file": gettext_lazy("File"),
    "files": gettext_lazy("Files"),
    "source": gettext_lazy("Source"),
}


# --- Tag suggestions -------------------------------------------------------------------------
def tag_suggest(request: HttpRequest) -> HttpResponse:
    """Suggestions for a record form's tag box (`?tags=a, b, pr`): the organization's tags
    (tickets' too) starting with the last name typed, each offered as the whole box's text
    with that name completed, so picking one keeps the tags before it."""
    services.ensure_can(request.membership, "view")
    typed = query_text(request, "tags", 2000) or query_text(request, "tag", 50)
    before, _sep, last = typed.rpartition(",")
    kept = [n.strip() for n in before.split(",") if n.strip()]
    taken = {n.lower() for n in kept}
    names = [
        n
        for n in services.tags_suggest(org=request.org, prefix=last.strip())
        if n.lower() not in taken
    ]
    values = [", ".join([*kept, n]) for n in names]
    return render(request, "customers/_tag_suggestions.html", {"values": values})


# --- History (CUS-04) --------------------------------------------------------------------------
class _Links:
    """The tab's fragment URL (`hx-get`) and the record page with the tab open (`href`)."""

    def __init__(self, request: HttpRequest, kind: str, record: Contact | Account):
        kwargs = {"portal": request.org.portal, f"{kind}_id": record.pk}
        self.fragment = reverse(f"customers:{kind}_history", kwargs=kwargs)
        self.page = reverse(f"customers:{kind}_detail", kwargs=kwargs)
        self.keep = {k: request.GET[k] for k in PAGE_PARAMS if request.GET.get(k)}

    def link(self, params: dict[str, Any]) -> dict[str, str]:
        params = {k: v for k, v in params.items() if v not in (None, "")}
        query = urlencode(params)
        return {
            "hx": f"{self.fragment}?{query}" if query else self.fragment,
            "href": f"{self.page}?{urlencode({**self.keep, 'tab': 'history', **params})}",
        }

    def entry(self, entry_id: int, params: dict[str, Any]) -> dict[str, str]:
        base = f"{self.fragment}{entry_id}/"
        params = {k: v for k, v in params.items() if v not in (None, "")}
        query = urlencode(params)
        return {"hx": f"{base}?{query}" if query else base, "href": base}


def _labels(request: HttpRequest, kind: str) -> dict[str, str]:
    model = Contact if kind == RecordKind.CONTACT else Account
    labels: dict[str, str] = {
        f.name: str(f.verbose_name).capitalize()
        for f in model._meta.get_fields()
        if hasattr(f, "verbose_name") and f.concrete
    }
    labels.update({k: str(v) for k, v in EXTRA_LABELS.items()})
    labels.update(selectors.customer_field_labels(request.org, kind))
    return labels


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _row(entry: CustomerHistory, labels: dict[str, str]) -> dict[str, Any]:
    changes = [
        {
            "field": field,
            "label": labels.get(field) or field.replace("_", " ").capitalize(),
            "before": _text(values[0] if len(values) > 0 else None),
            "after": _text(values[1] if len(values) > 1 else None),
        }
        for field, values in (entry.changes or {}).items()
        if isinstance(values, list | tuple)
    ]
    actor = entry.actor.display_name if entry.actor is not None else entry.actor_name
    return {
        "entry": entry,
        "action": entry.get_action_display(),
        "actor": actor,
        "changes": changes,
        "record_kind": entry.get_kind_display(),
    }


def _int(value: str) -> int | None:
    return int(value) if value.isdigit() and len(value) < 19 else None


def _filters(request: HttpRequest, kind: str) -> dict[str, Any]:
    action = query_text(request, "action", 20)
    return {
        "agent": _int(query_text(request, "agent", 20)),
        "action": action if action in HistoryAction.values else "",
        "contacts": "1"
        if kind == RecordKind.ACCOUNT and query_text(request, "contacts", 2) == "1"
        else "",
    }


def _history(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    record = tab_record(request, kind, record_id, permission="configure")  # admins
    filters = _filters(request, kind)
    everyone = selectors.history_entries(
        request.org, kind, record, with_contacts=bool(filters["contacts"])
    )
    entries = selectors.history_entries(
        request.org,
        kind,
        record,
        agent=filters["agent"],
        action=filters["action"],
        with_contacts=bool(filters["contacts"]),
    )
    page = Paginator(entries, PER_PAGE).get_page(query_text(request, "p", 10) or 1)
    links = _Links(request, kind, record)
    labels = _labels(request, kind)
    params = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "customers/tabs/history.html",
        {
            "kind": kind,
            "record": record,
            "rows": [
                {**_row(e, labels), "link": links.entry(e.pk, {**params, "p": page.number})}
                for e in page
            ],
            "page_obj": page,
            "previous": links.link({**params, "p": page.number - 1})
            if page.has_previous()
            else None,
            "next": links.link({**params, "p": page.number + 1}) if page.has_next() else None,
            "agents": selectors.history_agents(request.org, everyone),
            "actions": HistoryAction.choices,
            "filters": filters,
            "links": links,
            "reset": links.link({}),
            "keep": links.keep,
        },
    )


def _history_entry(request: HttpRequest, kind: str, record_id: int, entry_id: int) -> HttpResponse:
    record = tab_record(request, kind, record_id, permission="configure")  # admins
    filters = _filters(request, kind)
    entries = selectors.history_entries(request.org, kind, record, with_contacts=True)
    entry = get_object_or_404(entries, pk=entry_id)
    links = _Links(request, kind, record)
    params = {k: v for k, v in filters.items() if v}
    page = query_text(request, "p", 10)
    return render(
        request,
        "customers/tabs/history_entry.html",
        {
            "kind": kind,
            "record": record,
            "row": _row(entry, _labels(request, entry.kind)),
            "back": links.link({**params, "p": page if page.isdigit() else ""}),
        },
    )


def contact_history(request: HttpRequest, contact_id: int) -> HttpResponse:
    return _history(request, RecordKind.CONTACT, contact_id)


def account_history(request: HttpRequest, account_id: int) -> HttpResponse:
    return _history(request, RecordKind.ACCOUNT, account_id)


def contact_history_entry(request: HttpRequest, contact_id: int, entry_id: int) -> HttpResponse:
    return _history_entry(request, RecordKind.CONTACT, contact_id, entry_id)


def account_history_entry(request: HttpRequest, account_id: int, entry_id: int) -> HttpResponse:
    return _history_entry(request, RecordKind.ACCOUNT, account_id, entry_id)
