"""A desk ticket on the CRM's pages (CRM-10, CRM-11): `/<portal>/crm/tickets/<number>/`.

Every CRM user sees a ticket the CRM may open (of a linked contact or account, or linked to a
deal: `crmsync.desk_tickets`); another number, another organization's or an unreachable
ticket is a 404. The page offers what the user's desk role allows on it (reply, forward,
comment, update fields, close, delete); a CRM user without a desk account sees the ticket and
a comment form only. Each action is a POST to its own address: the view checks the action
is offered (403 otherwise, nothing changes), validates the form (400 keeping what was typed)
and calls one service of `crmsync.services.desk_actions`, which calls the desk's own
service with the user's desk membership. "New ticket" (`tickets/new/?contact=`, `?account=`
or `?deal=`) creates a ticket from a CRM record.

Thread bodies are shown as the desk shows them: stored sanitised, with remote images held
back (`hide_remote_images`). Files download through the CRM (`ticket_attachment`), which
checks the ticket is reachable: users without a desk account cannot use the desk's address."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors, client_ip, stored_file_response
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app
from helpdesk.tickets.forms import _owner_choices
from helpdesk.tickets.html import hide_remote_images
from helpdesk.tickets.models import Attachment, Thread, Ticket
from helpdesk.tickets.services.layouts import statuses_for
from helpdesk.tickets.services.threads import ALLOWED_EXTENSIONS, MAX_FILES

from ..desk_tickets import CrmRecord, DeskView
from ..forms_tickets import (
    CommentForm,
    ForwardForm,
    ReplyForm,
    TicketCreateForm,
    TicketFieldsForm,
)
from ..models import CrmAccount, CrmContact, Deal, SyncKind, SyncLink
from ..services import desk_actions as svc
from .common import crm_render

gate = require_app(App.CRM)


# --- Reading the page ------------------------------------------------------------------------
def _crm_record_of(desk: DeskView, ticket: Ticket) -> dict[str, Any]:
    """The CRM contact and account linked to the ticket's desk contact and account (links on
    the page), read in the CRM's scope."""
    links = SyncLink.objects.for_org(desk.integration.org).filter(integration=desk.integration)
    contact_id = (
        links.filter(kind=SyncKind.CONTACT, desk_id=ticket.contact_id)
        .values_list("crm_id", flat=True)
        .first()
        if ticket.contact_id
        else None
    )
    account_id = (
        links.filter(kind=SyncKind.ACCOUNT, desk_id=ticket.account_id)
        .values_list("crm_id", flat=True)
        .first()
        if ticket.account_id
        else None
    )
    return {"crm_contact_id": contact_id, "crm_account_id": account_id}


def _fields_form(
    desk: DeskView, ticket: Ticket, allowed: set[str], data=None
) -> TicketFieldsForm | None:
    """The "Update fields" form, its desk choices read now (in the desk's scope)."""
    if "update" not in allowed or desk.member is None:
        return None
    with desk.scope():
        statuses = [(s.pk, s.name) for s in statuses_for(ticket.department)]
        owners = [(int(k), v) for k, v in _owner_choices(desk.desk_org, ticket.department) if k]
        departments = (
            svc.create_departments(desk) if "move" in allowed else None
        )  # the member's departments
    due = ticket.due_at
    return TicketFieldsForm(
        data,
        statuses=statuses,
        owners=owners,
        departments=departments,
        initial={
            "status": ticket.status_id,
            "priority": ticket.priority,
            "owner": ticket.owner_id or "",
            "due_at": timezone.localtime(due) if due else None,
            "department": ticket.department_id,
        },
        prefix="fields",
    )


def _context(
    request: HttpRequest,
    desk: DeskView,
    ticket: Ticket,
    bound: dict[str, forms.Form] | None = None,
    refusal: str = "",
) -> dict[str, Any]:
    bound = bound or {}
    allowed = svc.allowed_actions(desk, ticket)
    with desk.scope():
        threads = list(
            Thread.objects.for_org(desk.desk_org)
            .filter(ticket=ticket)
            .select_related("author", "contact")
        )
        by_thread: dict[int | None, list[Attachment]] = {}
        for attachment in Attachment.objects.for_org(desk.desk_org).filter(ticket=ticket):
            by_thread.setdefault(attachment.thread_id, []).append(attachment)
    for entry in threads:
        entry.files = by_thread.get(entry.pk, [])
        entry.html, entry.hidden_images = hide_remote_images(entry.body)
    description, description_hidden = hide_remote_images(ticket.description)
    fields_form = bound.get("fields") or _fields_form(desk, ticket, allowed)
    desk_url = (
        reverse(
            "desk:ticket_detail", kwargs={"portal": desk.desk_org.portal, "number": ticket.number}
        )
        if desk.member is not None
        else ""
    )
    return {
        "ticket": ticket,
        "threads": threads,
        "description": description,
        "description_hidden": description_hidden,
        "allowed": allowed,
        "has_desk_account": desk.member is not None,
        "desk_url": desk_url,
        "reply_form": bound.get("reply") or ReplyForm(prefix="reply"),
        "forward_form": bound.get("forward") or ForwardForm(prefix="forward"),
        "comment_form": bound.get("comment") or CommentForm(prefix="comment"),
        "fields_form": fields_form,
        "open_form": next(iter(bound), ""),
        "refusal": refusal,
        "allowed_extensions": ", ".join(sorted(ALLOWED_EXTENSIONS)),
        "max_files": MAX_FILES,
        **_crm_record_of(desk, ticket),
    }


def _page(
    request: HttpRequest,
    number: int,
    *,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
    refusal: str = "",
) -> HttpResponse:
    desk = svc.working_desk(request.membership)
    ticket = svc.reachable_ticket(desk, number)
    context = _context(request, desk, ticket, bound, refusal)
    return crm_render(request, "crm/ticket_detail.html", context, status=status)


@gate
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    return _page(request, number)


# --- Acting on it ----------------------------------------------------------------------------
def _offered(request: HttpRequest, number: int, action: str) -> None:
    """404 for a ticket the CRM may not open; 403 for an action the page does not offer."""
    desk = svc.working_desk(request.membership)
    ticket = svc.reachable_ticket(desk, number)
    if action in svc.allowed_actions(desk, ticket):
        return
    if desk.member is None:
        raise PermissionDenied(
            _("You have no desk account: from the CRM you may only comment on tickets.")
        )
    raise PermissionDenied(_("Your desk role does not allow this on this ticket."))


def _act(
    request: HttpRequest,
    number: int,
    *,
    key: str,
    form: forms.Form,
    call: Callable[[dict], object],
    done: str,
) -> HttpResponse:
    """Check the action is offered, validate, call the service, then redirect with `done`;
    a refused input re-renders the page (400, what was typed kept), a refusal of the desk's
    (403) too, saying why."""
    _offered(request, number, key)
    if form.is_valid():
        try:
            call(form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied as exc:
            return _page(request, number, bound={key: form}, status=403, refusal=str(exc))
        else:
            messages.success(request, done)
            return redirect("crm:ticket", portal=request.org.portal, number=number)
    return _page(request, number, bound={key: form}, status=400)


@require_POST
@gate
def ticket_reply(request: HttpRequest, number: int) -> HttpResponse:
    return _act(
        request,
        number,
        key="reply",
        form=ReplyForm(request.POST, request.FILES, prefix="reply"),
        call=lambda d: svc.desk_ticket_reply(
            actor=request.membership,
            number=number,
            body=d["body"],
            cc=d["cc"],
            files=d["files"],
            ip=client_ip(request),
        ),
        done=_("Reply sent."),
    )


@require_POST
@gate
def ticket_forward(request: HttpRequest, number: int) -> HttpResponse:
    return _act(
        request,
        number,
        key="forward",
        form=ForwardForm(request.POST, request.FILES, prefix="forward"),
        call=lambda d: svc.desk_ticket_forward(
            actor=request.membership,
            number=number,
            to=d["to"],
            cc=d["cc"],
            body=d["body"],
            files=d["files"],
            ip=client_ip(request),
        ),
        done=_("Ticket forwarded."),
    )


@require_POST
@gate
def ticket_comment(request: HttpRequest, number: int) -> HttpResponse:
    return _act(
        request,
        number,
        key="comment",
        form=CommentForm(request.POST, request.FILES, prefix="comment"),
        call=lambda d: svc.desk_ticket_comment(
            actor=request.membership,
            number=number,
            body=d["body"],
            files=d["files"],
            ip=client_ip(request),
        ),
        done=_("Comment added."),
    )


@require_POST
@gate
def ticket_update(request: HttpRequest, number: int) -> HttpResponse:
    _offered(request, number, "update")
    desk = svc.working_desk(request.membership)
    ticket = svc.reachable_ticket(desk, number)
    form = _fields_form(desk, ticket, svc.allowed_actions(desk, ticket), data=request.POST)
    assert form is not None  # "update" is offered
    changes: dict | None = None
    if form.is_valid():
        d = form.cleaned_data
        try:
            changes = svc.desk_ticket_update(
                actor=request.membership,
                number=number,
                fields=svc.TicketFields(
                    status_id=d["status"],
                    priority=d["priority"],
                    owner_id=d["owner"],
                    due_at=d["due_at"],
                    department_id=d.get("department"),
                ),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except PermissionDenied as exc:
            return _page(request, number, bound={"fields": form}, status=403, refusal=str(exc))
    if changes is None:
        return _page(request, number, bound={"fields": form}, status=400)
    if changes:
        messages.success(request, _("Ticket updated."))
    else:
        messages.info(request, _("Nothing changed."))
    return redirect("crm:ticket", portal=request.org.portal, number=number)


@require_POST
@gate
def ticket_close(request: HttpRequest, number: int) -> HttpResponse:
    _offered(request, number, "close")
    try:
        closed = svc.desk_ticket_close(
            actor=request.membership, number=number, ip=client_ip(request)
        )
    except ValidationError as exc:
        return _page(request, number, status=400, refusal=" ".join(exc.messages))
    except PermissionDenied as exc:
        return _page(request, number, status=403, refusal=str(exc))
    if closed:
        messages.success(request, _("Ticket closed."))
    else:
        messages.info(request, _("The ticket was closed already."))
    return redirect("crm:ticket", portal=request.org.portal, number=number)


@gate
def ticket_delete(request: HttpRequest, number: int) -> HttpResponse:
    """GET: the confirmation page; POST: delete, then back to the ticket's CRM contact (or
    account, or the CRM's start page)."""
    _offered(request, number, "delete")
    desk = svc.working_desk(request.membership)
    ticket = svc.reachable_ticket(desk, number)
    linked = _crm_record_of(desk, ticket)
    portal = request.org.portal
    if linked["crm_contact_id"]:
        back = reverse(
            "crm:contact_detail",
            kwargs={"portal": portal, "crm_contact_id": linked["crm_contact_id"]},
        )
    elif linked["crm_account_id"]:
        back = reverse(
            "crm:account_detail",
            kwargs={"portal": portal, "crm_account_id": linked["crm_account_id"]},
        )
    else:
        back = reverse("crm_home", kwargs={"portal": portal})
    if request.method == "POST":
        try:
            svc.desk_ticket_delete(actor=request.membership, number=number)
        except PermissionDenied as exc:
            return _page(request, number, status=403, refusal=str(exc))
        messages.success(request, _("Ticket #%(number)s deleted.") % {"number": number})
        return redirect(back)
    return crm_render(request, "crm/ticket_delete.html", {"ticket": ticket, "cancel_url": back})


@gate
def ticket_attachment(request: HttpRequest, number: int, attachment_id: int) -> FileResponse:
    """A file of the ticket's thread, for any CRM user who may open the ticket; served with
    the desk's download headers (no sniffing, a sandbox, not cached)."""
    desk = svc.working_desk(request.membership)
    ticket = svc.reachable_ticket(desk, number)
    with desk.scope():
        attachment = (
            Attachment.objects.for_org(desk.desk_org)
            .filter(pk=attachment_id, ticket=ticket)
            .first()
        )
        if attachment is None:
            raise Http404
        return stored_file_response(
            attachment.file, name=attachment.name, content_type=attachment.content_type
        )


# --- Creating one from a CRM record (CRM-10) -------------------------------------------------
def _record(request: HttpRequest) -> tuple[str, CrmRecord]:
    """The record named by `?contact=`, `?account=` or `?deal=` (404 when missing, not a
    number, or another organization's)."""
    org = request.org
    for kind, model in (("contact", CrmContact), ("account", CrmAccount), ("deal", Deal)):
        value = request.GET.get(kind)
        if value is None:
            continue
        if not value.isdigit():
            raise Http404
        queryset = model.objects.for_org(org)
        if model is not CrmAccount:
            queryset = queryset.select_related("account")
        return kind, get_object_or_404(queryset, pk=int(value))
    raise Http404


def _record_url(request: HttpRequest, kind: str, record: CrmRecord) -> str:
    kwarg = {"contact": "crm_contact_id", "account": "crm_account_id", "deal": "deal_id"}[kind]
    return reverse(f"crm:{kind}_detail", kwargs={"portal": request.org.portal, kwarg: record.pk})


@gate
def ticket_create(request: HttpRequest) -> HttpResponse:
    kind, record = _record(request)
    actor = request.membership
    desk = svc.working_desk(actor)
    context: dict[str, Any] = {
        "record": record,
        "kind": kind,
        "cancel_url": _record_url(request, kind, record),
        "allowed_extensions": ", ".join(sorted(ALLOWED_EXTENSIONS)),
        "max_files": MAX_FILES,
    }
    if not svc.can_create(desk):
        context["refusal"] = (
            _("Only CRM users with a desk account whose role may create tickets can do this.")
            if desk.member is not None
            else _(
                "You have no desk account, so you cannot create desk tickets. You may comment "
                "on this record's tickets; ask an administrator to invite you to the desk."
            )
        )
        return crm_render(request, "crm/ticket_create.html", context, status=403)
    contacts = svc.record_contacts(record)
    departments = svc.create_departments(desk)
    initial: dict[str, Any] = {"priority": "medium"}
    if isinstance(record, CrmContact):
        initial["contact"] = record.pk
    form = TicketCreateForm(
        request.POST or None,
        request.FILES or None,
        contacts=contacts,
        departments=departments,
        initial=initial,
    )
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            ticket = svc.desk_ticket_create(
                actor=actor,
                record=record,
                data=svc.NewTicket(
                    subject=d["subject"],
                    description=d["description"],
                    department_id=d["department"],
                    priority=d["priority"],
                    contact=form.chosen_contact(),
                    new_first_name=d["new_first_name"],
                    new_last_name=d["new_last_name"],
                    new_email=d["new_email"],
                    files=d["files"],
                ),
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            done = _("Ticket #%(number)s created.") % {"number": ticket.number}
            if _reachable(desk, ticket):
                messages.success(request, done)
                return redirect("crm:ticket", portal=request.org.portal, number=ticket.number)
            messages.success(
                request,
                done
                + " "
                + _("It shows on the contact's page once the sync has brought the contact over."),
            )
            return redirect(context["cancel_url"])
    context["form"] = form
    return crm_render(
        request, "crm/ticket_create.html", context, status=400 if form.errors else 200
    )


def _reachable(desk: DeskView, ticket: Ticket) -> bool:
    try:
        svc.reachable_ticket(desk, ticket.number)
    except Http404:
        return False
    return True
