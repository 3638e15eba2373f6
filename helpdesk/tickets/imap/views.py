"""Setup pages of IMAP mailboxes (Desk admins): list, add, edit, test, enable/disable, delete."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app_admin

from .forms import MailboxForm
from .models import Mailbox
from .services import mailbox_delete, mailbox_save, mailbox_set_enabled, mailbox_test

desk_admin_required = require_app_admin(App.DESK)


def _mailbox(request: HttpRequest, mailbox_id: int) -> Mailbox:
    return get_object_or_404(
        Mailbox.objects.for_org(request.org).select_related("department"), pk=mailbox_id
    )


def _to_list(request: HttpRequest) -> HttpResponse:
    return redirect("imap:mailboxes", portal=request.org.portal)


@desk_admin_required
def mailbox_list(request: HttpRequest) -> HttpResponse:
    mailboxes = Mailbox.objects.for_org(request.org).select_related("department")
    return render(request, "imap/mailboxes.html", {"mailboxes": mailboxes})


@desk_admin_required
def mailbox_edit(request: HttpRequest, mailbox_id: int | None = None) -> HttpResponse:
    mailbox = Mailbox(org=request.org) if mailbox_id is None else _mailbox(request, mailbox_id)
    form = MailboxForm(request.POST or None, instance=mailbox, org=request.org)
    if request.method == "POST" and form.is_valid():
        try:
            mailbox_save(
                actor=request.membership,
                mailbox=form.instance,
                password=form.cleaned_data["password"],
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Mailbox “%(name)s” saved.") % {"name": mailbox})
            return _to_list(request)
    return render(
        request,
        "imap/mailbox_form.html",
        {"form": form, "mailbox": mailbox if mailbox.pk else None},
        status=400 if form.errors else 200,
    )


@require_POST
@desk_admin_required
def mailbox_test_view(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _mailbox(request, mailbox_id)
    result = mailbox_test(actor=request.membership, mailbox=mailbox)
    if result.ok:
        messages.success(request, f"{mailbox}: {result.message}")
    elif result.detail:
        messages.error(
            request,
            _("%(mailbox)s: %(message)s (The server said: %(detail)s)")
            % {"mailbox": mailbox, "message": result.message, "detail": result.detail},
        )
    else:
        messages.error(request, f"{mailbox}: {result.message}")
    return _to_list(request)


@require_POST
@desk_admin_required
def mailbox_toggle(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _mailbox(request, mailbox_id)
    enabled = not mailbox.enabled
    mailbox_set_enabled(actor=request.membership, mailbox=mailbox, enabled=enabled)
    if enabled:
        messages.success(request, _("Mailbox “%(name)s” is read again.") % {"name": mailbox})
    else:
        messages.success(request, _("Mailbox “%(name)s” is no longer read.") % {"name": mailbox})
    return _to_list(request)


@require_POST
@desk_admin_required
def mailbox_delete_view(request: HttpRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _mailbox(request, mailbox_id)
    name = str(mailbox)
    mailbox_delete(actor=request.membership, mailbox=mailbox)
    messages.success(
        request,
        _("Mailbox “%(name)s” deleted. Its tickets and the messages on the server stay.")
        % {"name": name},
    )
    return _to_list(request)
