"""Sales signals (CRM-14) under /<portal>/crm/signals/: the current user's notifications about
the desk tickets of their contacts, accounts and deals, and their preferences.

Every CRM user sees only their own signals: another user's or another organization's signal
is 404, the same answer as a missing one."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from .. import signals as svc
from ..models import CrmAccount, CrmContact, Deal, SignalEvent
from .common import PER_PAGE, crm_render

gate = require_app(App.CRM)

RECORD_KINDS = {
    "contact": (CrmContact, "crm:contact_detail", "crm_contact_id", gettext_lazy("Contact")),
    "account": (CrmAccount, "crm:account_detail", "crm_account_id", gettext_lazy("Account")),
    "deal": (Deal, "crm:deal_detail", "deal_id", gettext_lazy("Deal")),
}


class SignalSettingsForm(forms.Form):
    events = forms.MultipleChoiceField(
        label=gettext_lazy("Notify me of"),
        choices=SignalEvent.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy(
            "About the desk tickets of the contacts, accounts and deals you own."
        ),
    )
    mail = forms.BooleanField(label=gettext_lazy("Also send them to me by email"), required=False)


def _records(org, page) -> dict[tuple[str, int], object]:
    """The CRM records that brought the page's signals (one query per kind at most)."""
    wanted: dict[str, set[int]] = {}
    for signal in page:
        wanted.setdefault(signal.record_kind, set()).add(signal.record_id)
    found = {}
    for kind, ids in wanted.items():
        if kind in RECORD_KINDS:
            for record in RECORD_KINDS[kind][0].objects.for_org(org).filter(pk__in=ids):
                found[(kind, record.pk)] = record
    return found


@gate
def signal_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(svc.signals_of(request.org, request.user), PER_PAGE).get_page(
        request.GET.get("page")
    )
    records = _records(request.org, page)
    rows = []
    for signal in page:
        kind = RECORD_KINDS.get(signal.record_kind)
        record = records.get((signal.record_kind, signal.record_id))
        url = ""
        if kind and record is not None:
            url = reverse(kind[1], kwargs={"portal": request.org.portal, kind[2]: record.pk})
        rows.append(
            {
                "signal": signal,
                "kind_label": kind[3] if kind else "",
                "record": record,
                "record_url": url,
            }
        )
    return crm_render(request, "crm/signals.html", {"page_obj": page, "rows": rows})


def _back(request: HttpRequest) -> HttpResponse:
    page = request.POST.get("page", "")
    url = reverse("crm:signals", kwargs={"portal": request.org.portal})
    if page.isdigit():
        url += f"?page={page}"
    return redirect(url)


@require_POST
@gate
def signal_read(request: HttpRequest, signal_id: int) -> HttpResponse:
    signal = svc.signal_get(actor=request.membership, signal_id=signal_id)
    if signal is None:
        raise Http404
    svc.signal_mark_read(actor=request.membership, signal=signal)
    return _back(request)


@require_POST
@gate
def signal_read_all(request: HttpRequest) -> HttpResponse:
    count = svc.signals_mark_all_read(actor=request.membership)
    if count:
        messages.success(request, _("All notifications marked as read."))
    return _back(request)


@gate
def signal_settings(request: HttpRequest) -> HttpResponse:
    pref = svc.signal_preference(request.org, request.user)
    if request.method != "POST":
        form = SignalSettingsForm(initial={"events": pref.events, "mail": pref.mail})
        return crm_render(request, "crm/signals_settings.html", {"form": form})
    form = SignalSettingsForm(request.POST)
    if form.is_valid():
        try:
            svc.signal_preference_save(
                actor=request.membership,
                events=form.cleaned_data["events"],
                mail=form.cleaned_data["mail"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Notification settings saved."))
            return redirect("crm:signal_settings", portal=request.org.portal)
    return crm_render(request, "crm/signals_settings.html", {"form": form}, status=400)
