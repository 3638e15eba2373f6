"""Desk tickets on CRM records (CRM-08, CRM-09, CRM-12, CRM-13).

The account, contact and deal pages show a "Tickets" related list when the CRM's settings
name their module (CRM-08) and the CRM has an integration. The page itself only holds a
placeholder (`tickets_panel`); the list is a fragment of its own,
`<record>/<id>/tickets/?view=...&page=...` (`crm:account_tickets`, `crm:contact_tickets`,
`crm:deal_tickets`), which htmx loads into `#crm-tickets` and whose tabs and pages are links to
the same address: without JavaScript (no `HX-Request` header) the address answers a full page
with the same list. The statistics (CRM-13) are `<record>/<id>/ticket-stats/`, loaded the same
way when the reader opens "View statistics".

Linking tickets to a deal (CRM-12) is a form around the list of an account or a contact: the
reader ticks tickets and chooses a deal under "Link to deal" (the deals of that account or
contact that they may edit; one submit button per deal, so it works without JavaScript). On a
deal's list each row has "Unlink". Both post, then return to the record page.

Every address reads the record through the organization (404 for another organization's) and
needs CRM access; the desk's rows are read in the desk's scope (`crmsync.desk_tickets`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_POST

from helpdesk.compiledreads import CompiledRead
from helpdesk.http import url_maker
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app
from helpdesk.tickets.customer_stats import duration_text

from .. import per_request
from ..desk_tickets import CrmRecord, DeskView, desk_view
from ..models import CrmAccount, CrmContact, CrmSettings, Deal, TicketModule
from ..record_ticket_selectors import (
    DEFAULT_VIEW,
    VIEWS,
    module_of,
    record_ticket_page,
    record_ticket_stats,
)
from ..services import deal_tickets as svc
from ..services.access import can
from ..services.integration import integration_problem
from .common import crm_render

gate = require_app(App.CRM)
LINK_DEALS_SHOWN = 50  # deals offered under "Link to deal"


@dataclass(frozen=True)
class Kind:
    key: str
    model: type[models.Model]
    kwarg: str
    module: str
    list_url: str  # the module's list page
    list_label: Any  # lazy text


KINDS = {
    "account": Kind(
        "account",
        CrmAccount,
        "crm_account_id",
        TicketModule.ACCOUNTS,
        "crm:accounts",
        gettext_lazy("Accounts"),
    ),
    "contact": Kind(
        "contact",
        CrmContact,
        "crm_contact_id",
        TicketModule.CONTACTS,
        "crm:contacts",
        gettext_lazy("Contacts"),
    ),
    "deal": Kind("deal", Deal, "deal_id", TicketModule.DEALS, "crm:deals", gettext_lazy("Deals")),
}
KIND_OF_MODULE = {kind.module: kind for kind in KINDS.values()}


def _urls(request: HttpRequest, kind: Kind, record: CrmRecord) -> dict[str, str]:
    kwargs = {"portal": request.org.portal, kind.kwarg: record.pk}
    return {
        "detail": reverse(f"crm:{kind.key}_detail", kwargs=kwargs),
        "tickets": reverse(f"crm:{kind.key}_tickets", kwargs=kwargs),
        "stats": reverse(f"crm:{kind.key}_ticket_stats", kwargs=kwargs),
    }


# --- On the record page ----------------------------------------------------------------------
def tickets_panel(request: HttpRequest, record: CrmRecord, settings: CrmSettings) -> dict | None:
    """What a record page needs for its "Tickets" related list, or None when it shows none:
    its module is not chosen in the CRM's settings (CRM-08), or the CRM has no integration.
    One query (the integration); whether the desk works is the fragment's answer."""
    module = module_of(record)
    if module not in (settings.ticket_modules or []):
        return None
    if per_request.integration(request) is None:
        return None
    return _urls(request, KIND_OF_MODULE[module], record)


# --- The fragments ---------------------------------------------------------------------------
# The lists' reads of their record and of the deals to link to, compiled once per process:
# compiling these querysets cost more than running them (bench/crm_pages.py).
_RECORD_READS: dict[str, CompiledRead] = {
    "account": CompiledRead(lambda org_id, pk: CrmAccount.objects.for_org(org_id).filter(pk=pk)),
    "contact": CompiledRead(
        lambda org_id, pk: (
            CrmContact.objects.for_org(org_id).select_related("account").filter(pk=pk)
        )
    ),
    "deal": CompiledRead(
        lambda org_id, pk: Deal.objects.for_org(org_id).select_related("account").filter(pk=pk)
    ),
}
_LINK_DEALS_READS: dict[str, CompiledRead] = {
    "account": CompiledRead(
        lambda org_id, record_id: (
            Deal.objects.for_org(org_id)
            .filter(account_id=record_id)
            .order_by("name", "pk")[:LINK_DEALS_SHOWN]
        )
    ),
    "contact": CompiledRead(
        lambda org_id, record_id: (
            Deal.objects.for_org(org_id)
            .filter(dealcontact__contact_id=record_id)
            .order_by("name", "pk")[:LINK_DEALS_SHOWN]
        )
    ),
}


def _record(request: HttpRequest, kind: Kind, record_id: int) -> CrmRecord:
    """The record (404 for a missing one or another organization's) whose module shows
    tickets (404 when an admin turned the module's list off)."""
    record = _RECORD_READS[kind.key](org_id=request.org.pk, pk=record_id)
    if record is None:
        raise Http404
    if kind.module not in (per_request.settings_of(request).ticket_modules or []):
        raise Http404
    return record


def _page_int(value: str | None) -> int:
    try:
        number = int(value or "1")
    except ValueError:
        return 1
    return number if 1 <= number <= 10_000 else 1


def _with(url: str, **params: Any) -> str:
    query = urlencode({k: v for k, v in params.items() if v not in (None, "", 1, DEFAULT_VIEW)})
    return f"{url}?{query}" if query else url


def _desk_problem(request: HttpRequest) -> tuple[DeskView | None, str]:
    desk = per_request.desk(request)
    if desk is not None:
        return desk, ""
    integration = per_request.integration(request)
    if integration is None:
        return None, _("This CRM is not linked to a desk: there are no tickets to show.")
    return None, integration_problem(integration) or _("The desk cannot be reached now.")


def _respond(
    request: HttpRequest, kind: Kind, record: CrmRecord, fragment: str, context: dict
) -> HttpResponse:
    """The fragment for htmx, else a full page around it (the same address serves both)."""
    context = {"record": record, "kind": kind.key, "fragment": fragment, **context}
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, fragment, context)
    else:
        context["list_url"] = reverse(kind.list_url, kwargs={"portal": request.org.portal})
        context["list_label"] = kind.list_label
        response = crm_render(request, "crm/_tickets_page.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _link_deals(request: HttpRequest, kind: Kind, record: CrmRecord) -> list[Deal]:
    """The deals the reader may link this account's or contact's tickets to: its deals that
    they may edit (CRM-12)."""
    read = _LINK_DEALS_READS.get(kind.key)
    if read is None:
        return []
    actor = request.membership
    deals = read.all(org_id=request.org.pk, record_id=record.pk)
    return [deal for deal in deals if can(actor, "edit", deal)]


def _tickets(request: HttpRequest, kind_key: str, record_id: int) -> HttpResponse:
    kind = KINDS[kind_key]
    record = _record(request, kind, record_id)
    urls = _urls(request, kind, record)
    desk, problem = _desk_problem(request)
    context: dict[str, Any] = {"urls": urls, "problem": problem}
    if desk is not None:
        requested = request.GET.get("view") or DEFAULT_VIEW
        page = record_ticket_page(
            desk,
            record,
            actor=request.membership,
            view=requested,
            page=_page_int(request.GET.get("page")),
            url_of=url_maker("crm:ticket", "number", portal=request.org.portal),
        )
        can_unlink = kind.key == "deal" and can(request.membership, "edit", record)
        if can_unlink:
            unlink = url_maker(
                "crm:deal_ticket_unlink", "number", portal=request.org.portal, deal_id=record.pk
            )
            page.rows = [
                dataclasses.replace(row, unlink_url=unlink(row.number)) for row in page.rows
            ]
        context.update(
            page=page,
            tabs=[
                {
                    "key": key,
                    "label": label,
                    "count": page.counts[key],
                    "capped": page.counts[key] > page.cap,
                    "current": key == page.view,
                    "url": _with(urls["tickets"], view=key),
                }
                for key, label in VIEWS.items()
            ],
            previous_url=_with(urls["tickets"], view=page.view, page=page.number - 1),
            next_url=_with(urls["tickets"], view=page.view, page=page.number + 1),
            back=urls["detail"] + "#crm-tickets",
            link_deals=_link_deals(request, kind, record),
            can_unlink=can_unlink,
            desk_name=desk.desk_org.name,
        )
    return _respond(request, kind, record, "crm/_tickets.html", context)


def _stats(request: HttpRequest, kind_key: str, record_id: int) -> HttpResponse:
    kind = KINDS[kind_key]
    record = _record(request, kind, record_id)
    urls = _urls(request, kind, record)
    desk, problem = _desk_problem(request)
    context: dict[str, Any] = {"urls": urls, "problem": problem}
    if desk is not None:
        stats = record_ticket_stats(desk, record)
        context.update(
            stats=stats,
            durations={
                "first_response": duration_text(stats.first_response),
                "response": duration_text(stats.response),
                "resolution": duration_text(stats.resolution),
            },
        )
    return _respond(request, kind, record, "crm/_ticket_stats.html", context)


@gate
def account_tickets(request: HttpRequest, crm_account_id: int) -> HttpResponse:
    return _tickets(request, "account", crm_account_id)


@gate
def contact_tickets(request: HttpRequest, crm_contact_id: int) -> HttpResponse:
    return _tickets(request, "contact", crm_contact_id)


@gate
def deal_tickets(request: HttpRequest, deal_id: int) -> HttpResponse:
    return _tickets(request, "deal", deal_id)


@gate
def account_ticket_stats(request: HttpRequest, crm_account_id: int) -> HttpResponse:
    return _stats(request, "account", crm_account_id)


@gate
def contact_ticket_stats(request: HttpRequest, crm_contact_id: int) -> HttpResponse:
    return _stats(request, "contact", crm_contact_id)


@gate
def deal_ticket_stats(request: HttpRequest, deal_id: int) -> HttpResponse:
    return _stats(request, "deal", deal_id)


# --- Linking tickets to deals (CRM-12) -------------------------------------------------------
def _deal(request: HttpRequest, deal_id: int) -> Deal:
    return get_object_or_404(Deal.objects.for_org(request.org), pk=deal_id)


def _back(request: HttpRequest, deal: Deal) -> str:
    """Where to go after linking: the record page the form was on (a CRM page of this
    portal), else the deal's page."""
    target = request.POST.get("next", "")
    prefix = f"/{request.org.portal}/crm/"
    if target.startswith(prefix) and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return (
        reverse("crm:deal_detail", kwargs={"portal": request.org.portal, "deal_id": deal.pk})
        + "#crm-tickets"
    )


def _refused(request: HttpRequest, deal: Deal, exc: ValidationError, back: str) -> HttpResponse:
    errors = [str(m) for m in exc.messages]
    return crm_render(
        request,
        "crm/_tickets_refused.html",
        {"record": deal, "errors": errors, "back": back},
        status=400,
    )


def _numbers(values: list[str]) -> list[int] | None:
    """Ticket numbers as posted by the checkboxes; None when one is not a number."""
    numbers = []
    for value in values:
        value = value.strip()
        if not value.isdigit() or len(value) > 18:
            return None
        numbers.append(int(value))
    return numbers


@require_POST
@gate
def deal_tickets_link(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = _deal(request, deal_id)
    back = _back(request, deal)
    numbers = _numbers(request.POST.getlist("tickets"))
    try:
        if numbers is None:
            raise ValidationError(_("Choose tickets from the list."))
        added = svc.deal_tickets_link(actor=request.membership, deal=deal, ticket_numbers=numbers)
    except ValidationError as exc:
        return _refused(request, deal, exc, back)
    if added:
        messages.success(
            request,
            ngettext(
                "%(count)d ticket linked to the deal “%(deal)s”.",
                "%(count)d tickets linked to the deal “%(deal)s”.",
                added,
            )
            % {"count": added, "deal": deal.name},
        )
    else:
        messages.info(
            request, _("These tickets were already linked to “%(deal)s”.") % {"deal": deal.name}
        )
    return redirect(back)


@require_POST
@gate
def deal_ticket_unlink(request: HttpRequest, deal_id: int, number: int) -> HttpResponse:
    deal = _deal(request, deal_id)
    back = _back(request, deal)
    if desk_view(request.membership) is None:
        raise Http404  # no working desk: the deal shows no tickets to unlink
    try:
        removed = svc.deal_ticket_unlink(actor=request.membership, deal=deal, ticket_number=number)
    except ValidationError as exc:
        return _refused(request, deal, exc, back)
    if not removed:
        raise Http404  # not linked to this deal (or no such ticket): nothing to unlink
    messages.success(
        request,
        _("Ticket #%(number)d unlinked from the deal “%(deal)s”.")
        % {"number": number, "deal": deal.name},
    )
    return redirect(back)
