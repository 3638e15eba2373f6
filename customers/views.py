"""Contacts, accounts and products pages under /<portal>/customers/ (CUS-01).

Thin views: guard with the Desk role, read through the organization, call one service, then
redirect, or render with status 400 when the input is refused. Records of another
organization are 404, like missing ones."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors, client_ip, query_text
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.services.tickets import tickets_contact_replace

from . import selectors, services
from .attachments.services import attachments_contact_replace, record_files_delete_on_commit
from .forms import (
    AccountForm,
    ContactForm,
    MergeForm,
    ProductForm,
)
from .models import Account, Contact, Product
from .pages import detail

PER_PAGE = 25
# Contacts listed on an account's record panel (the rest behind a link to the filtered list).
ACCOUNT_CONTACTS = 8


def allowed(action: str) -> Callable:
    """Guard a whole page with a Desk permission ("view", "edit", "configure")."""

    def decorator(view):
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            services.ensure_can(request.membership, action)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def _contact(request: HttpRequest, contact_id: int) -> Contact:
    return get_object_or_404(
        Contact.objects.for_org(request.org).select_related("account", "owner"), pk=contact_id
    )


def _account(request: HttpRequest, account_id: int) -> Account:
    return get_object_or_404(
        Account.objects.for_org(request.org).select_related("owner"), pk=account_id
    )


def _product(request: HttpRequest, product_id: int) -> Product:
    return get_object_or_404(
        Product.objects.for_org(request.org).select_related("department"), pk=product_id
    )


def _rows_request(request: HttpRequest, target: str) -> bool:
    """An htmx live-filter request that only wants the table rows."""
    return (
        bool(request.htmx)
        and request.htmx.target == target
        and not (request.htmx.history_restore_request)
    )


def _permissions(request: HttpRequest) -> dict[str, bool]:
    return {
        "can_edit": services.can(request.membership, "edit"),
        "can_configure": services.can(request.membership, "configure"),
    }


def _search_page(request: HttpRequest, rows, query: str, kind: str, extra=None) -> HttpResponse:
    """A searchable list page, or only its rows when htmx asks for them (live search)."""
    context = {
        "page_obj": Paginator(rows, PER_PAGE).get_page(request.GET.get("page")),
        "q": query,
        **(extra or {}),
        **_permissions(request),
    }
    singular = kind[:-1]
    if _rows_request(request, f"{singular}-rows"):
        return render(request, f"customers/{kind}.html#{singular}-rows", context)
    return render(request, f"customers/{kind}.html", context)


def _list_filters(request: HttpRequest) -> dict[str, str]:
    """The lists' tag and owner filters (`?tag=<name>`, `?owner=me|none|<user id>`)."""
    return {"tag": query_text(request, "tag", 50), "owner": query_text(request, "owner", 20)}


@allowed("view")
def customers_home(request: HttpRequest) -> HttpResponse:
    """/<portal>/customers/ opens the contacts."""
    return redirect("customers:contacts", portal=request.org.portal)


# --- Contacts ------------------------------------------------------------------------------
@allowed("view")
def contact_list(request: HttpRequest) -> HttpResponse:
    """Contacts with a live search by name, email or phone; 25 a page."""
    query = query_text(request)
    account = None
    account_id = query_text(request, "account", 20)
    if account_id.isdigit():
        account = Account.objects.for_org(request.org).filter(pk=account_id).first()
    contacts = selectors.contacts_search(
        request.org, query=query, account=account, user=request.user, **_list_filters(request)
    )
    owners = selectors.desk_users(request.org)
    extra = {"account": account, **_list_filters(request), "owners": owners}
    return _search_page(request, contacts, query, "contacts", extra)


@allowed("edit")
def contact_create(request: HttpRequest) -> HttpResponse:
    initial = {}
    account_id = query_text(request, "account", 20)
    if account_id.isdigit():
        initial["account"] = Account.objects.for_org(request.org).filter(pk=account_id).first()
    form = ContactForm(request.POST or None, org=request.org, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            contact = services.contact_save(
                actor=request.membership,
                contact=form.instance,
                ip=client_ip(request),
                **form.service_values(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Contact “%(name)s” created.") % {"name": contact.name})
            return redirect(
                "customers:contact_detail", portal=request.org.portal, contact_id=contact.pk
            )
    return render(
        request, "customers/contact_form.html", {"form": form}, status=400 if form.errors else 200
    )


def _contact_page(
    request: HttpRequest, contact: Contact, *, form=None, status: int = 200
) -> HttpResponse:
    """The three-panel page (customers.pages.detail)."""
    return detail.render_record_page(
        request,
        "contact",
        contact,
        form=form or (lambda: ContactForm(instance=contact, org=request.org)),
        status=status,
    )


def _saved(request: HttpRequest, kind: str, record) -> HttpResponse:
    """After an inline edit: htmx gets the record panel back in place, a plain form post is
    redirected to the page (with the list's search and the open tab kept)."""
    if request.htmx:
        fresh = _contact(request, record.pk) if kind == "contact" else _account(request, record.pk)
        return _contact_page(request, fresh) if kind == "contact" else _account_page(request, fresh)
    url = reverse(
        f"customers:{kind}_detail", kwargs={"portal": request.org.portal, f"{kind}_id": record.pk}
    )
    return redirect(f"{url}?{request.GET.urlencode()}" if request.GET else url)


@allowed("view")
def contact_detail(request: HttpRequest, contact_id: int) -> HttpResponse:
    """One page: the contact's fields (editable by agents and admins), its account, linked
    products and latest tickets."""
    contact = _contact(request, contact_id)
    if request.method != "POST":
        return _contact_page(request, contact)
    services.ensure_can(request.membership, "edit")
    form = ContactForm(request.POST, instance=contact, org=request.org)
    if form.is_valid():
        try:
            services.contact_save(
                actor=request.membership,
                contact=form.instance,
                ip=client_ip(request),
                **form.service_values(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Contact saved."))
            return _saved(request, "contact", contact)
    return _contact_page(request, _contact(request, contact_id), form=form, status=400)


@allowed("edit")
def contact_delete(request: HttpRequest, contact_id: int) -> HttpResponse:
    contact = _contact(request, contact_id)
    if request.method != "POST":
        return render(request, "customers/contact_delete.html", {"contact": contact})
    try:
        with transaction.atomic():  # its files leave the disk only if the deletion commits
            record_files_delete_on_commit(actor=request.membership, contact=contact)
            services.contact_delete(
                actor=request.membership, contact=contact, ip=client_ip(request)
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return render(request, "customers/contact_delete.html", {"contact": contact}, status=400)
    messages.success(request, _("Contact “%(name)s” deleted.") % {"name": contact.name})
    return redirect("customers:contacts", portal=request.org.portal)


# --- Duplicates ----------------------------------------------------------------------------
def _duplicates_page(
    request: HttpRequest, *, form: MergeForm | None = None, status: int = 200
) -> HttpResponse:
    groups = services.duplicate_contact_groups(request.org)
    return render(
        request,
        "customers/duplicates.html",
        {
            "page_obj": Paginator(groups, PER_PAGE).get_page(request.GET.get("page")),
            "form": form,
            **_permissions(request),
        },
        status=status,
    )


@allowed("view")
def duplicates(request: HttpRequest) -> HttpResponse:
    """Contacts that share an email, grouped, each group with a merge form."""
    return _duplicates_page(request)


@require_POST
@allowed("edit")
def contacts_merge(request: HttpRequest) -> HttpResponse:
    form = MergeForm(request.POST, org=request.org)
    if form.is_valid():
        try:
            primary = contacts_merge_with_tickets(
                actor=request.membership,
                primary=form.cleaned_data["primary"],
                duplicates=form.cleaned_data["duplicates"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            count = len(form.cleaned_data["duplicates"])
            text = ngettext(
                "%(count)d contact merged into “%(name)s”.",
                "%(count)d contacts merged into “%(name)s”.",
                count,
            )
            messages.success(request, text % {"count": count, "name": primary.name})
            return redirect(
                "customers:contact_detail", portal=request.org.portal, contact_id=primary.pk
            )
    return _duplicates_page(request, form=form, status=400)


@transaction.atomic
def contacts_merge_with_tickets(
    *, actor: Membership, primary: Contact, duplicates: list[Contact], ip: str | None
) -> Contact:
    """Merging spans two layers, so the page above both orchestrates it, all or nothing: the
    tickets service moves the duplicates' tickets (a history row each), then the customers
    service merges the records and deletes the duplicates."""
    tickets_contact_replace(actor=actor, sources=duplicates, target=primary, ip=ip)
    attachments_contact_replace(actor=actor, sources=duplicates, target=primary)
    return services.contacts_merge(actor=actor, primary=primary, duplicates=duplicates, ip=ip)


# --- Accounts ------------------------------------------------------------------------------
@allowed("view")
def account_list(request: HttpRequest) -> HttpResponse:
    query = query_text(request)
    accounts = selectors.accounts_search(
        request.org, query=query, user=request.user, **_list_filters(request)
    )
    extra = {**_list_filters(request), "owners": selectors.desk_users(request.org)}
    return _search_page(request, accounts, query, "accounts", extra)


@allowed("edit")
def account_create(request: HttpRequest) -> HttpResponse:
    form = AccountForm(request.POST or None, org=request.org)
    if request.method == "POST" and form.is_valid():
        try:
            account = services.account_save(
                actor=request.membership,
                account=form.instance,
                ip=client_ip(request),
                **form.service_values(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Account “%(name)s” created.") % {"name": account.name})
            return redirect(
                "customers:account_detail", portal=request.org.portal, account_id=account.pk
            )
    return render(
        request, "customers/account_form.html", {"form": form}, status=400 if form.errors else 200
    )


def _account_page(
    request: HttpRequest, account: Account, *, form=None, status: int = 200
) -> HttpResponse:
    """The three-panel page (customers.pages.detail), with the account's first contacts."""
    contacts = selectors.contacts_search(request.org, account=account)
    extra = {"contacts": contacts[:ACCOUNT_CONTACTS], "contact_count": contacts.count()}
    return detail.render_record_page(
        request,
        "account",
        account,
        form=form or (lambda: AccountForm(instance=account, org=request.org)),
        status=status,
        extra=extra,
    )


@allowed("view")
def account_detail(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    if request.method != "POST":
        return _account_page(request, account)
    services.ensure_can(request.membership, "edit")
    form = AccountForm(request.POST, instance=account, org=request.org)
    if form.is_valid():
        try:
            services.account_save(
                actor=request.membership,
                account=form.instance,
                ip=client_ip(request),
                **form.service_values(),
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Account saved."))
            return _saved(request, "account", account)
    return _account_page(request, _account(request, account_id), form=form, status=400)


@allowed("edit")
def account_delete(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    contact_count = Contact.objects.for_org(request.org).filter(account=account).count()
    context = {"account": account, "contact_count": contact_count}
    if request.method != "POST":
        return render(request, "customers/account_delete.html", context)
    try:
        with transaction.atomic():
            record_files_delete_on_commit(actor=request.membership, account=account)
            services.account_delete(
                actor=request.membership, account=account, ip=client_ip(request)
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return render(request, "customers/account_delete.html", context, status=400)
    messages.success(request, _("Account “%(name)s” deleted.") % {"name": account.name})
    return redirect("customers:accounts", portal=request.org.portal)


# --- Products ------------------------------------------------------------------------------
@allowed("view")
def product_list(request: HttpRequest) -> HttpResponse:
    query = query_text(request)
    products = selectors.products_search(request.org, query=query)
    return _search_page(request, products, query, "products")


@allowed("configure")
def product_create(request: HttpRequest) -> HttpResponse:
    form = ProductForm(request.POST or None, org=request.org)
    if request.method == "POST" and form.is_valid():
        try:
            product = services.product_save(actor=request.membership, product=form.instance)
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Product “%(name)s” created.") % {"name": product.name})
            return redirect("customers:products", portal=request.org.portal)
    # The template shows the fields and the save button only to those who may configure:
    # without the flags every role, the account admin included, saw a disabled form (CUS-10).
    return render(
        request,
        "customers/product_form.html",
        {"form": form, **_permissions(request)},
        status=400 if form.errors else 200,
    )


@allowed("view")
def product_detail(request: HttpRequest, product_id: int) -> HttpResponse:
    """The product's fields (editable by Desk admins) and the contacts and accounts that use
    it."""
    product = _product(request, product_id)
    form = ProductForm(request.POST or None, instance=product, org=request.org)
    if request.method == "POST":
        services.ensure_can(request.membership, "configure")
        if form.is_valid():
            try:
                services.product_save(actor=request.membership, product=form.instance)
            except ValidationError as exc:
                apply_errors(form, exc)
            else:
                messages.success(request, _("Product saved."))
                return redirect(
                    "customers:product_detail", portal=request.org.portal, product_id=product.pk
                )
        product = _product(request, product_id)
    return render(
        request,
        "customers/product_form.html",
        {
            "form": form,
            "product": product,
            "contacts": Contact.objects.for_org(request.org)
            .filter(products=product)
            .select_related("account")
            .order_by("last_name", "first_name")[:PER_PAGE],
            "accounts": Account.objects.for_org(request.org)
            .filter(products=product)
            .order_by("name")[:PER_PAGE],
            **_permissions(request),
        },
        status=400 if form.errors else 200,
    )


@allowed("configure")
def product_delete(request: HttpRequest, product_id: int) -> HttpResponse:
    product = _product(request, product_id)
    if request.method != "POST":
        return render(request, "customers/product_delete.html", {"product": product})
    services.product_delete(actor=request.membership, product=product)
    messages.success(request, _("Product “%(name)s” deleted.") % {"name": product.name})
    return redirect("customers:products", portal=request.org.portal)
