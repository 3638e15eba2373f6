"""The help center's pages for customers (TKT-08), under /<portal>/help/.

Every view is `tenant_public` (customers are not members): the middleware gives the portal's
organization as `request.portal_org` and sets no `request.org`. `_center` answers the same 404
as a portal that does not exist when the help center is off. Pages about a customer's tickets
need the help-center session of this portal (`auth.session_customer`); without it they send
the visitor to sign in, and a ticket that is not theirs is a 404 like a missing one."""

from __future__ import annotations

import zoneinfo
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.http import IMAGE_TYPES, apply_errors, client_ip, stored_file_response
from helpdesk.tenancy.middleware import tenant_public
from helpdesk.tenancy.models import Department, Organization

from ...html import hide_remote_images
from ...models import Ticket
from ..auth import (
    Customer,
    LinkInvalid,
    RateLimited,
    link_read,
    link_request,
    link_use,
    session_customer,
    session_sign_in,
    session_sign_out,
)
from ..forms import RatingForm, ReplyForm, SignInForm, SignUpForm, SubmitForm
from ..models import DEFAULT_COLOR, HelpCenterSettings, SignInLink
from ..ratings import rating_for, rating_link_read, rating_set
from ..services import (
    customer_attachment,
    customer_field_values,
    customer_reply,
    customer_thread,
    customer_ticket,
    customer_ticket_submit,
    customer_tickets,
    public_fields,
    published_departments,
    settings_for,
)
from ..theme import theme_for

PAGE_SIZE = 20


def _center(request: HttpRequest) -> tuple[Organization, HelpCenterSettings]:
    """The portal's organization and its help center; 404 (the answer of a portal that does
    not exist) when it is off."""
    org = getattr(request, "portal_org", None)
    if org is None:
        raise Http404
    hc = settings_for(org)
    if not hc.enabled:
        raise Http404
    timezone.activate(zoneinfo.ZoneInfo(org.time_zone))
    return org, hc


def _page(
    request: HttpRequest,
    template: str,
    org: Organization,
    hc: HelpCenterSettings,
    customer: Customer | None,
    context: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    version = int(hc.updated_at.timestamp()) if hc.updated_at else 0
    return render(
        request,
        template,
        {
            "site": org,
            "hc": hc,
            "site_title": hc.title or org.name,
            # The organization's colours, as a stylesheet of our own (the CSP refuses inline
            # styles); a rating link of a closed help center keeps the default colours.
            "theme_url": (
                reverse("help:theme", kwargs={"portal": org.portal}) + f"?v={version}"
                if hc.enabled
                else ""
            ),
            "customer": customer,
            "logo_url": (
                reverse("help:logo", kwargs={"portal": org.portal})
                + f"?v={int(hc.updated_at.timestamp())}"
                if hc.logo
                else ""
            ),
            **(context or {}),
        },
        status=status,
    )


def _signin_redirect(request: HttpRequest, org: Organization) -> HttpResponse:
    url = reverse("help:signin", kwargs={"portal": org.portal})
    return redirect(f"{url}?{urlencode({'next': request.get_full_path()})}")


def _home_url(org: Organization) -> str:
    return reverse("help:home", kwargs={"portal": org.portal})


# --- Home, sign-up, sign-in ----------------------------------------------------------------------
@tenant_public
def home(request: HttpRequest) -> HttpResponse:
    """Signed out: the welcome and the ways in. Signed in: the customer's tickets."""
    org, hc = _center(request)
    customer = session_customer(request, org)
    context: dict[str, Any] = {}
    if customer is not None:
        tickets = (
            customer_tickets(org, hc, customer.contact)
            .select_related("status", "department", "contact")
            .order_by("-last_activity_at", "-id")
        )
        context["page"] = Paginator(tickets, PAGE_SIZE).get_page(request.GET.get("page"))
        context["account_wide"] = hc.show_account_tickets and customer.contact.account_id
    return _page(request, "helpcenter/home.html", org, hc, customer, context)


def _link_form(request: HttpRequest, purpose: str) -> HttpResponse:
    org, hc = _center(request)
    customer = session_customer(request, org)
    form_class = SignUpForm if purpose == SignInLink.Purpose.SIGNUP else SignInForm
    form = form_class(request.POST or None)
    next_path = request.POST.get("next") or request.GET.get("next", "")
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            link_request(
                org=org,
                email=form.cleaned_data["email"],
                name=form.cleaned_data.get("name", ""),
                purpose=purpose,
                next_path=next_path,
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        except RateLimited:
            form.add_error(
                None, _("Too many sign-in mails were asked for. Please try again in an hour.")
            )
            status = 429
        else:
            return redirect("help:sent", portal=org.portal)
    if request.method == "POST" and form.errors and status == 200:
        status = 400
    return _page(
        request,
        "helpcenter/signin.html",
        org,
        hc,
        customer,
        {"form": form, "purpose": purpose, "next": next_path},
        status=status,
    )


@tenant_public
def signup(request: HttpRequest) -> HttpResponse:
    return _link_form(request, SignInLink.Purpose.SIGNUP)


@tenant_public
def signin(request: HttpRequest) -> HttpResponse:
    return _link_form(request, SignInLink.Purpose.SIGNIN)


@tenant_public
def sent(request: HttpRequest) -> HttpResponse:
    """The same answer for every address."""
    org, hc = _center(request)
    return _page(request, "helpcenter/sent.html", org, hc, session_customer(request, org))


@tenant_public
def link(request: HttpRequest, token: str) -> HttpResponse:
    """A mailed link: GET shows a button (so a mail scanner opening the link uses nothing),
    POST uses the link and signs the customer in."""
    org, hc = _center(request)
    try:
        if request.method == "POST":
            contact, used = link_use(org=org, token=token)
        else:
            used = link_read(org=org, token=token)
    except LinkInvalid:
        return _page(request, "helpcenter/link_invalid.html", org, hc, None, status=410)
    if request.method != "POST":
        return _page(request, "helpcenter/link.html", org, hc, None, {"link": used})
    session_sign_in(request, org, contact, used.email)
    if used.purpose == SignInLink.Purpose.SIGNUP:
        messages.success(request, _("Welcome! Your address is confirmed."))
    else:
        messages.success(request, _("You are signed in."))
    return redirect(used.next_path or _home_url(org))


@tenant_public
def signout(request: HttpRequest) -> HttpResponse:
    org, _hc = _center(request)
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    session_sign_out(request, org)
    messages.info(request, _("You are signed out."))
    return redirect("help:home", portal=org.portal)


@tenant_public
def theme(request: HttpRequest) -> HttpResponse:
    """The organization's colours as CSS custom properties (validated hex values only, see
    theme.py), for static/css/helpcenter.css to use."""
    _org, hc = _center(request)
    css = theme_for(hc.primary_color, DEFAULT_COLOR).css()
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=86400"  # the page's URL carries a version
    return response


@tenant_public
def logo(request: HttpRequest) -> HttpResponse:
    """The help center's logo (public, like the pages that show it)."""
    org, hc = _center(request)
    if not hc.logo:
        raise Http404
    try:
        handle = hc.logo.open("rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    response = FileResponse(handle, content_type=hc.logo_type or "application/octet-stream")
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "public, max-age=86400"
    return response


# --- Submitting and following tickets ------------------------------------------------------------
def _department(org: Organization, hc: HelpCenterSettings, raw: str | None) -> Department | None:
    departments = list(published_departments(org, hc))
    if len(departments) == 1:
        return departments[0]
    try:
        pk = int(raw or "")
    except ValueError:
        return None
    return next((d for d in departments if d.pk == pk), None)


@tenant_public
def ticket_new(request: HttpRequest) -> HttpResponse:
    """Choose a department (when several are published), then describe the question."""
    org, hc = _center(request)
    customer = session_customer(request, org)
    if customer is None:
        return _signin_redirect(request, org)
    department = _department(
        org, hc, request.POST.get("department") or request.GET.get("department")
    )
    if department is None:
        return _page(
            request,
            "helpcenter/departments.html",
            org,
            hc,
            customer,
            {"departments": published_departments(org, hc)},
        )
    fields = public_fields(org, hc, [department])
    form = SubmitForm(
        request.POST or None, request.FILES or None, department=department, fields=fields
    )
    if request.method == "POST" and form.is_valid():
        try:
            ticket = customer_ticket_submit(
                org=org,
                hc=hc,
                contact=customer.contact,
                department=department,
                subject=form.cleaned_data["subject"],
                description=form.cleaned_data["description"],
                custom_fields=form.custom_values(),
                files=form.cleaned_data["files"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(
                request,
                _("Thank you. Your ticket #%(number)d was received.") % {"number": ticket.number},
            )
            return redirect("help:ticket", portal=org.portal, number=ticket.number)
    return _page(
        request,
        "helpcenter/ticket_new.html",
        org,
        hc,
        customer,
        {
            "form": form,
            "department": department,
            "several": published_departments(org, hc).count() > 1,
        },
        status=400 if form.errors else 200,
    )


def _ticket_page(
    request: HttpRequest,
    org: Organization,
    hc: HelpCenterSettings,
    customer: Customer,
    ticket: Ticket,
    *,
    reply_form: ReplyForm | None = None,
    rating_form: RatingForm | None = None,
    status: int = 200,
) -> HttpResponse:
    fields = public_fields(org, hc, [ticket.department])
    entries = []
    for entry in customer_thread(ticket):
        body, _hidden = hide_remote_images(_help_links(entry.body, org, ticket))
        entries.append({"entry": entry, "body": body, "files": list(entry.attachments.all())})
    description, _hidden = hide_remote_images(ticket.description)
    rating = rating_for(ticket) if ticket.is_closed else None
    if rating_form is None and ticket.is_closed:
        rating_form = RatingForm(
            initial={"value": rating.value, "comment": rating.comment} if rating else None
        )
    return _page(
        request,
        "helpcenter/ticket.html",
        org,
        hc,
        customer,
        {
            "ticket": ticket,
            "description": description,
            "entries": entries,
            "field_values": customer_field_values(ticket, fields),
            "reply_form": reply_form or ReplyForm(),
            "rating": rating,
            "rating_form": rating_form,
        },
        status=status,
    )


def _help_links(body: str, org: Organization, ticket: Ticket) -> str:
    """Inline images of our replies point at the desk's address, which needs a member: point
    them at the help center's copy of the same file (served to the customer)."""
    desk = f"/{org.portal}/desk/tickets/{ticket.number}/attachments/"
    help_ = f"/{org.portal}/help/tickets/{ticket.number}/attachments/"
    return body.replace(f'src="{desk}', f'src="{help_}')


@tenant_public
def ticket(request: HttpRequest, number: int) -> HttpResponse:
    org, hc = _center(request)
    customer = session_customer(request, org)
    if customer is None:
        return _signin_redirect(request, org)
    found = customer_ticket(org, hc, customer.contact, number)
    return _ticket_page(request, org, hc, customer, found)


@tenant_public
def ticket_reply(request: HttpRequest, number: int) -> HttpResponse:
    org, hc = _center(request)
    if request.method != "POST":  # after the check, so a closed help center is a 404
        return HttpResponseNotAllowed(["POST"])
    customer = session_customer(request, org)
    if customer is None:
        return _signin_redirect(request, org)
    found = customer_ticket(org, hc, customer.contact, number)
    form = ReplyForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            customer_reply(
                ticket=found,
                contact=customer.contact,
                body=form.cleaned_data["body"],
                files=form.cleaned_data["files"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Your reply was sent."))
            return redirect("help:ticket", portal=org.portal, number=number)
    return _ticket_page(request, org, hc, customer, found, reply_form=form, status=400)


@tenant_public
def ticket_rate(request: HttpRequest, number: int) -> HttpResponse:
    org, hc = _center(request)
    if request.method != "POST":  # after the check, so a closed help center is a 404
        return HttpResponseNotAllowed(["POST"])
    customer = session_customer(request, org)
    if customer is None:
        return _signin_redirect(request, org)
    found = customer_ticket(org, hc, customer.contact, number)
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            rating_set(
                ticket=found,
                contact=customer.contact,
                value=form.cleaned_data["value"],
                comment=form.cleaned_data["comment"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Thank you for your rating."))
            return redirect("help:ticket", portal=org.portal, number=number)
    return _ticket_page(request, org, hc, customer, found, rating_form=form, status=400)


@tenant_public
def attachment(request: HttpRequest, number: int, attachment_id: int) -> FileResponse:
    """A file of the public thread of one of the customer's tickets."""
    org, hc = _center(request)
    customer = session_customer(request, org)
    if customer is None:
        raise Http404
    found = customer_ticket(org, hc, customer.contact, number)
    item = customer_attachment(found, attachment_id)
    return stored_file_response(
        item.file,
        name=item.name,
        content_type=item.content_type,
        inline_types=IMAGE_TYPES,
        private=False,
    )


# --- Rating through the closing mail's link ------------------------------------------------------
@tenant_public
def rate(request: HttpRequest, token: str) -> HttpResponse:
    """The closing mail's link: works without signing in, for the ticket and contact it was
    signed for. GET shows the form with the chosen value; POST saves (a scanner opening the
    link rates nothing)."""
    org, hc = _center_for_rating(request)
    found = rating_link_read(org=org, token=token)
    if found is None:
        raise Http404
    rating = rating_for(found.ticket)
    if request.method == "POST":
        form = RatingForm(request.POST)
        if form.is_valid():
            try:
                rating_set(
                    ticket=found.ticket,
                    contact=found.contact,
                    value=form.cleaned_data["value"],
                    comment=form.cleaned_data["comment"],
                    ip=client_ip(request),
                )
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                return _page(
                    request,
                    "helpcenter/rate_done.html",
                    org,
                    hc,
                    None,
                    {"ticket": found.ticket, "value": form.cleaned_data["value"]},
                )
    else:
        chosen = request.GET.get("value")
        initial = {
            "value": rating.value if rating else None,
            "comment": rating.comment if rating else "",
        }
        if chosen in dict(RatingForm.base_fields["value"].choices):  # type: ignore[attr-defined]
            initial["value"] = chosen
        form = RatingForm(initial=initial)
    return _page(
        request,
        "helpcenter/rate.html",
        org,
        hc,
        session_customer(request, org),
        {"ticket": found.ticket, "form": form, "rating": rating},
        status=400 if form.errors else 200,
    )


def _center_for_rating(request: HttpRequest) -> tuple[Organization, HelpCenterSettings]:
    """Rating links work whether or not the help center's pages are open: the closing mail
    goes to every contact. The portal must exist (the middleware saw to it)."""
    org = getattr(request, "portal_org", None)
    if org is None:
        raise Http404
    timezone.activate(zoneinfo.ZoneInfo(org.time_zone))
    return org, settings_for(org)
