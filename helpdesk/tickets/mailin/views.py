"""Incoming email's pages: the relay's inbound endpoint (public, authenticated by the
organization's secret) and the Setup page (settings, the secret, the log, held messages)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from helpdesk.tenancy.middleware import tenant_public
from helpdesk.tenancy.models import App, Department
from helpdesk.tenancy.permissions import require_app_admin

from . import parse
from .forms import MailSettingsForm
from .models import InboundMessage, Outcome, Source
from .services import (
    held_delete,
    held_retry,
    ingest,
    mail_secret_regenerate,
    mail_settings,
    mail_settings_save,
    max_message_bytes,
    secret_matches,
)

desk_admin_required = require_app_admin(App.DESK)
RAW_SHOWN = 200_000  # characters of a held message's source shown on its page


# --- The inbound endpoint -------------------------------------------------------------------
@csrf_exempt
@tenant_public
def inbound(request: HttpRequest) -> HttpResponse:
    """POST one raw RFC 822 message (the request body) with `Authorization: Bearer <secret>`;
    `?department=<id>` opens new tickets there. Anything else, and a wrong or missing secret,
    gets the 404 of a portal that does not exist: an outsider learns nothing. Answers one
    line (as the command prints): 200 when taken (held included), 413 when too large."""
    org = request.portal_org
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if request.method != "POST" or org is None or not secret_matches(org, given):
        raise Http404
    limit = max_message_bytes()
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > limit:
        return _plain(f"refused: larger than {limit} bytes", 413)
    raw = request.read(limit + 1)  # the stream, not request.body (no form-size limit)
    if len(raw) > limit:
        return _plain(f"refused: larger than {limit} bytes", 413)
    if not raw.strip():
        return _plain("refused: empty message", 400)
    department = None
    if request.GET.get("department"):
        department = (
            Department.objects.for_org(org).filter(pk=_int(request.GET["department"])).first()
        )
        if department is None:
            return _plain("refused: no such department", 400)
    result = ingest(org, raw, source=Source.ENDPOINT, department=department)
    return _plain(result.line(), 200)


def _plain(text: str, status: int) -> HttpResponse:
    return HttpResponse(text + "\n", status=status, content_type="text/plain; charset=utf-8")


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


# --- Setup ---------------------------------------------------------------------------------------
@desk_admin_required
def mail_setup(request: HttpRequest) -> HttpResponse:
    """Where mail comes in (the endpoint and its secret, the command), where other mail goes,
    what was held and what was ignored."""
    org = request.org
    settings_row = mail_settings(org)
    form = MailSettingsForm(request.POST or None, instance=settings_row, org=org)
    if request.method == "POST" and form.is_valid():
        try:
            mail_settings_save(
                actor=request.membership, default_department=form.cleaned_data["default_department"]
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Incoming mail settings saved."))
            return redirect("mailin:mail_setup", portal=org.portal)
    log = InboundMessage.objects.for_org(org).defer("raw")
    endpoint = request.build_absolute_uri(
        reverse("mailin_public:inbound", kwargs={"portal": org.portal})
    )
    counts = dict(log.values_list("outcome").annotate(n=Count("pk")).order_by())
    return render(
        request,
        "setup/mailin.html",
        {
            "form": form,
            "settings_row": settings_row,
            "endpoint": endpoint,
            "held": log.filter(outcome=Outcome.HELD)[:100],
            "ignored": log.filter(outcome=Outcome.IGNORED)[:50],
            "counts": [(label, counts.get(value, 0)) for value, label in Outcome.choices],
            "departments": Department.objects.for_org(org).filter(is_enabled=True),
        },
        status=400 if form.errors else 200,
    )


@require_POST
@desk_admin_required
def secret_regenerate(request: HttpRequest) -> HttpResponse:
    mail_secret_regenerate(actor=request.membership)
    messages.success(
        request, _("A new secret was made. Update your mail relay: the old one no longer works.")
    )
    return redirect("mailin:mail_setup", portal=request.org.portal)


def _held(request: HttpRequest, inbound_id: int) -> InboundMessage:
    return get_object_or_404(
        InboundMessage.objects.for_org(request.org), pk=inbound_id, outcome=Outcome.HELD
    )


@desk_admin_required
def held_detail(request: HttpRequest, inbound_id: int) -> HttpResponse:
    entry = _held(request, inbound_id)
    raw = bytes(entry.raw or b"")
    source = parse.decode_bytes(raw[: RAW_SHOWN * 2], None)[:RAW_SHOWN]
    return render(
        request,
        "setup/mailin_held.html",
        {"entry": entry, "source": source, "truncated": len(raw) > RAW_SHOWN},
    )


@desk_admin_required
def held_raw(request: HttpRequest, inbound_id: int) -> HttpResponse:
    """The held message's bytes as a file, to open in a mail program."""
    entry = _held(request, inbound_id)
    response = HttpResponse(bytes(entry.raw or b""), content_type="application/octet-stream")
    response["Content-Disposition"] = f'attachment; filename="held-{entry.pk}.eml"'
    return response


@require_POST
@desk_admin_required
def held_retry_view(request: HttpRequest, inbound_id: int) -> HttpResponse:
    entry = _held(request, inbound_id)
    try:
        result = held_retry(actor=request.membership, entry=entry)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("mailin:mail_setup", portal=request.org.portal)
    if result.outcome == Outcome.HELD:
        messages.error(
            request, _("The message is still held: %(reason)s") % {"reason": result.reason}
        )
        return redirect("mailin:held_detail", portal=request.org.portal, inbound_id=entry.pk)
    if result.ticket is not None:
        messages.success(
            request,
            _("The message was placed on ticket #%(number)s.") % {"number": result.ticket.number},
        )
    else:
        messages.success(
            request, _("The message was ignored: %(reason)s") % {"reason": result.reason}
        )
    return redirect("mailin:mail_setup", portal=request.org.portal)


@require_POST
@desk_admin_required
def held_delete_view(request: HttpRequest, inbound_id: int) -> HttpResponse:
    entry = _held(request, inbound_id)
    held_delete(actor=request.membership, entry=entry)
    messages.success(request, _("The held message was deleted."))
    return redirect("mailin:mail_setup", portal=request.org.portal)
