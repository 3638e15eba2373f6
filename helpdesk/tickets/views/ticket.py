"""One ticket: create, the ticket page, its properties, thread and attachments
(TKT-01..03, TKT-05)."""

from __future__ import annotations

from dataclasses import dataclass

from csp.decorators import csp_update
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors, client_ip, stored_file_response
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..fields import display_value
from ..forms import ThreadForm, TicketForm, TicketPropertiesForm
from ..history_display import history_rows
from ..html import TEXT, hide_remote_images, html_to_text
from ..models import (
    Attachment,
    Channel,
    CustomField,
    Priority,
    Thread,
    Ticket,
    TicketHistory,
)
from ..services.access import (
    OWN,
    ensure_can,
    ensure_ticket_can,
    ticket_access,
    ticket_can,
    ticket_for_member,
)
from ..services.threads import ALLOWED_EXTENSIONS, thread_add
from ..services.tickets import ticket_create, ticket_update
from . import ticket_extras

# The ticket page shows its newest changes; the history page pages through all of them.
HISTORY_ON_PAGE = 10
HISTORY_PAGE_SIZE = 100


def _ticket_form_page(request: HttpRequest, number: int | None = None) -> HttpResponse:
    """Create a ticket, or edit every field of one (TKT-01). A contact is matched by email in
    the organization, or created with it, in the same transaction as the ticket."""
    if number is not None and request.method == "POST" and not request.htmx:
        with transaction.atomic():  # the ticket stays locked from this read to the save
            return _ticket_form(request, _ticket(request, number, for_update=True))
    return _ticket_form(request, None if number is None else _ticket(request, number))


def _ticket_form(request: HttpRequest, ticket: Ticket | None) -> HttpResponse:
    membership = request.membership
    if ticket is None:
        ensure_can(membership, "create")
    else:
        ensure_ticket_can(membership, ticket, "edit")
        if ticket_access(membership, ticket) != OWN:  # its department is not one of theirs
            raise PermissionDenied(
                _(
                    "A shared ticket is changed in its properties panel; only its own "
                    "department edits it here."
                )
            )
    if ticket is None:
        department = request.GET.get("department")
        initial, custom_initial = ({"department": department} if department else {}), {}
    else:
        initial = {
            "subject": ticket.subject,
            "department": ticket.department,
            "contact_email": ticket.contact.email if ticket.contact_id else "",
            "account": ticket.account_id,
            # Plain text for a browser without JavaScript; the editor loads the HTML (TKT-02).
            "description": html_to_text(ticket.description),
            "status": ticket.status_id,
            "priority": ticket.priority,
            "channel": ticket.channel,
            "owner": str(ticket.owner_id or ""),
            "due_at": ticket.due_at,
        }
        custom_initial = ticket.custom_fields or {}
    form = TicketForm(
        request.POST or None, membership=membership, initial=initial, custom_initial=custom_initial
    )
    if ticket is not None and not form.is_bound:
        form.fields["description"].widget.attrs["data-editor-html"] = ticket.description
    if request.method == "POST" and not request.htmx and form.is_valid():
        try:
            data = form.ticket_input()
            if ticket is None:
                ticket = ticket_create(actor=membership, data=data, ip=client_ip(request))
                done = _("Ticket #%(number)s created.")
            else:
                ticket_update(actor=membership, ticket=ticket, data=data, ip=client_ip(request))
                done = _("Ticket #%(number)s saved.")
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, done % {"number": ticket.number})
            return redirect("desk:ticket_detail", portal=request.org.portal, number=ticket.number)
    context = {"form": form, "ticket": ticket}
    if request.htmx and request.htmx.target == "department-dependent":
        # The department changed: its statuses, owners and custom fields.
        return render(request, "tickets/create.html#department-dependent", context)
    return render(request, "tickets/create.html", context, status=400 if form.errors else 200)


@require_app(App.DESK)
def ticket_create_view(request: HttpRequest) -> HttpResponse:
    return _ticket_form_page(request)


@require_app(App.DESK)
def ticket_edit_view(request: HttpRequest, number: int) -> HttpResponse:
    return _ticket_form_page(request, number)


@dataclass(frozen=True)
class Message:
    """A description or thread entry as the page shows it (TKT-02): sanitised HTML whose
    remote images are held back (`hidden` of them) unless the reader asked to see this
    message's (`shown`)."""

    html: str
    hidden: int = 0
    shown: bool = False


def _message(html: str, key: str, show_images: str) -> Message:
    safe, hidden = hide_remote_images(html)
    if hidden and key == show_images:
        return Message(html=html, shown=True)
    return Message(html=safe, hidden=hidden)


@csp_update({"img-src": ["https:", "http:"]})
def _with_remote_images(response: HttpResponse) -> HttpResponse:
    """The reader asked to see one message's remote images: this answer's CSP lets them load
    (every other answer allows images from our origin only)."""
    return response


def _detail_context(
    request: HttpRequest, ticket, *, properties=None, thread_form=None, show_images: str = ""
):
    """Everything the ticket page shows, in a fixed number of queries."""
    membership = request.membership
    fields = list(
        CustomField.objects.for_org(request.org)
        .filter(department=ticket.department_id)
        .order_by("order", "pk")
    )
    threads = list(
        Thread.objects.for_org(request.org)
        .filter(ticket=ticket)
        .select_related("author", "contact")
    )
    by_thread: dict[int | None, list[Attachment]] = {}
    for attachment in Attachment.objects.for_org(request.org).filter(ticket=ticket):
        by_thread.setdefault(attachment.thread_id, []).append(attachment)
    for thread in threads:
        thread.files = by_thread.get(thread.pk, [])
        thread.message = _message(thread.body, str(thread.pk), show_images)
    description = _message(ticket.description, "description", show_images)
    # The role, and the share's level on another department's ticket (TKT-04); no query.
    kinds = [k for k in ("reply", "comment", "forward") if ticket_can(membership, ticket, k)]
    properties = properties or TicketPropertiesForm(
        membership=membership, ticket=ticket, fields=fields
    )
    return {
        "properties_values": _properties_values(properties),
        "status_choices": [
            (str(pk), name)
            for pk, name in properties.fields["status"].queryset.values_list("pk", "name")
        ],
        "owner_choices": properties.fields["owner"].choices,
        "priorities": Priority.choices,
        "channels": Channel.choices,
        "ticket": ticket,
        "threads": threads,
        "description": description,
        "images_shown": description.shown or any(t.message.shown for t in threads),
        "custom_values": [
            (f, display_value(f, (ticket.custom_fields or {}).get(f.key)))
            for f in fields
            if f.is_active or f.key in (ticket.custom_fields or {})
        ],
        "properties": properties,
        "thread_form": thread_form or ThreadForm(initial={"kind": kinds[0] if kinds else ""}),
        "can_edit": ticket_can(membership, ticket, "edit"),
        # ticket_can also asks the access guards (a restricted-mode blueprint, BP-02).
        "can_edit_page": ticket_access(membership, ticket) == OWN
        and ticket_can(membership, ticket, "edit"),
        "thread_kinds": kinds,
        "allowed_extensions": ", ".join(sorted(ALLOWED_EXTENSIONS)),
    }


def _properties_values(form: TicketPropertiesForm) -> dict[str, str]:
    """What the hand-written controls show: the posted values, else the ticket's."""
    values = {}
    for name in ("status", "priority", "owner", "due_at", "channel"):
        value = form[name].value()
        if name == "due_at" and value and not isinstance(value, str):
            if timezone.is_aware(value):  # the form gives the initial value as local time
                value = timezone.localtime(value)
            value = value.strftime("%Y-%m-%dT%H:%M")
        values[name] = "" if value is None else str(value)
    return values


# What the ticket page shows of the ticket's relations: joined in its read (prepared
# statements keep the join's planning) instead of a query each when the template reads them.
PAGE_RELATED = ("status", "department", "owner", "contact", "account", "created_by")


def _ticket(
    request: HttpRequest,
    number: int,
    *,
    for_update: bool = False,
    related: tuple[str, ...] = ("status", "department"),
) -> Ticket:
    """The ticket with its status and department (or `related`); the changes read no more.
    `for_update` locks it until the caller's transaction ends (a change reads it once)."""
    return ticket_for_member(request.membership, number, for_update=for_update, related=related)


@require_app(App.DESK)
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    """The ticket page. `?images=<thread id>` (or `=description`) shows that one message's
    remote images."""
    ticket = _ticket(request, number, related=PAGE_RELATED)
    if moved := ticket_extras.merged_redirect(request, ticket):  # a merged ticket (TKT-01)
        return moved
    context = _detail_context(request, ticket, show_images=request.GET.get("images", ""))
    response = render(request, "tickets/detail.html", context)
    return _with_remote_images(response) if context["images_shown"] else response


@require_app(App.DESK)
def ticket_history(request: HttpRequest, number: int) -> HttpResponse:
    """A ticket's whole history (TKT-05), newest first, a page of HISTORY_PAGE_SIZE changes
    at a time. The ticket page loads its newest HISTORY_ON_PAGE changes from here with htmx
    after it renders (the panel, with a link to this page when there are more)."""
    ticket = _ticket(request, number)
    fields = list(
        CustomField.objects.for_org(request.org)
        .filter(department=ticket.department_id)
        .order_by("order", "pk")
    )
    entries = (
        TicketHistory.objects.for_org(request.org)
        .filter(ticket=ticket)
        .select_related("actor")
        .order_by("-created_at", "-pk")
    )
    if request.htmx:  # the ticket page's panel
        newest = list(entries[: HISTORY_ON_PAGE + 1])
        return render(
            request,
            "tickets/_history.html",
            {
                "ticket": ticket,
                "history": history_rows(newest[:HISTORY_ON_PAGE], fields),
                "history_more": len(newest) > HISTORY_ON_PAGE,
            },
        )
    page = Paginator(entries, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "tickets/history.html",
        {
            "ticket": ticket,
            "history": history_rows(list(page.object_list), fields),
            "page_obj": page,
        },
    )


@require_app(App.DESK)
def ticket_more_panels(request: HttpRequest, number: int) -> HttpResponse:
    """The ticket page's lower side panels (followers, merge, the customer's rating), loaded
    with htmx after the page renders; without JavaScript, the same panels as a page."""
    ticket = _ticket(request, number)
    template = "tickets/_more_panels.html" if request.htmx else "tickets/more_panels.html"
    return render(request, template, {"ticket": ticket})


@require_POST
@require_app(App.DESK)
def ticket_properties(request: HttpRequest, number: int) -> HttpResponse:
    with transaction.atomic():  # locked from this read to the save
        ticket = _ticket(request, number, for_update=True)
        form = TicketPropertiesForm(request.POST, membership=request.membership, ticket=ticket)
        changes = None
        if form.is_valid():
            try:
                changes = ticket_update(
                    actor=request.membership,
                    ticket=ticket,
                    data=form.ticket_input(),
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                apply_errors(form, exc)
    if changes is not None:
        if changes:
            messages.success(request, _("Ticket updated."))
        else:
            messages.info(request, _("Nothing changed."))
        return redirect("desk:ticket_detail", portal=request.org.portal, number=number)
    ticket = _ticket(request, number)  # as stored: the failed change was not saved
    return render(
        request,
        "tickets/detail.html",
        _detail_context(request, ticket, properties=form),
        status=400,
    )


@require_POST
@require_app(App.DESK)
def ticket_thread(request: HttpRequest, number: int) -> HttpResponse:
    """Reply, forward or comment (with attachments)."""
    ticket = _ticket(request, number)
    form = ThreadForm(request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        try:
            thread_add(
                actor=request.membership,
                ticket=ticket,
                kind=data["kind"],
                body=data["body"],
                body_format=data["body_format"] or TEXT,
                files=data["files"],
                to=data["to"],
                cc=data["cc"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            done = {
                "reply": _("Reply sent."),
                "forward": _("Ticket forwarded."),
                "comment": _("Comment added."),
            }[data["kind"]]
            messages.success(request, done)
            return redirect("desk:ticket_detail", portal=request.org.portal, number=number)
    return render(
        request,
        "tickets/detail.html",
        _detail_context(request, ticket, thread_form=form),
        status=400,
    )


@require_app(App.DESK)
def attachment_download(request: HttpRequest, number: int, attachment_id: int) -> FileResponse:
    """Files are served only to members who may see the ticket (TKT-03). The ticket that
    counts is the one the file belongs to now: an image shown inline in a message keeps its
    address when a merge moves the message to another ticket (TKT-02)."""
    ticket = ticket_for_member(request.membership, number)
    attachment = Attachment.objects.for_org(request.org).filter(pk=attachment_id).first()
    if attachment is None or attachment.ticket_id is None:
        raise Http404
    if attachment.ticket_id != ticket.pk:
        current = Ticket.objects.for_org(request.org).filter(pk=attachment.ticket_id)
        ticket_for_member(request.membership, current.values_list("number", flat=True).get())
    return stored_file_response(
        attachment.file, name=attachment.name, content_type=attachment.content_type
    )
