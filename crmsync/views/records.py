"""Accounts, contacts, deals and products (CRM-01) under /<portal>/crm/.

Thin views: the app gate (CRM access), read through the organization, call one service, then
redirect, or render with status 400 keeping what was typed when the input is refused. Records
of another organization are 404, like missing ones; a refused action is 403."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.http import apply_errors, query_text, url_maker
from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from .. import per_request, selectors
from ..forms import AccountForm, ContactForm, DealForm, ProductForm
from ..models import PIPELINE, CrmAccount, CrmContact, CrmProduct, Deal, Stage
from ..services import records
from ..services.access import can, ensure_can
from .common import crm_render, list_page, list_rows, person
from .record_tickets import tickets_panel

gate = require_app(App.CRM)

# The sort menus of the lists: (key, label); "-" sorts descending (selectors whitelist them).
ACCOUNT_SORTS = [
    ("name", gettext_lazy("Name")),
    ("type", gettext_lazy("Type")),
    ("owner", gettext_lazy("Owner")),
    ("-updated", gettext_lazy("Recently updated")),
    ("-created", gettext_lazy("Newest first")),
]
CONTACT_SORTS = [
    ("name", gettext_lazy("Name")),
    ("email", gettext_lazy("Email")),
    ("account", gettext_lazy("Account")),
    ("owner", gettext_lazy("Owner")),
    ("-created", gettext_lazy("Newest first")),
]
DEAL_SORTS = [
    ("close", gettext_lazy("Expected close")),
    ("-amount", gettext_lazy("Largest amount")),
    ("stage", gettext_lazy("Stage")),
    ("name", gettext_lazy("Name")),
    ("account", gettext_lazy("Account")),
    ("owner", gettext_lazy("Owner")),
    ("-created", gettext_lazy("Newest first")),
]
PRODUCT_SORTS = [
    ("name", gettext_lazy("Name")),
    ("code", gettext_lazy("Code")),
    ("price", gettext_lazy("Unit price")),
    ("-price", gettext_lazy("Highest price")),
]


# --- The lists' rows: values, not model instances ----------------------------------------------
ACCOUNT_FIELDS = ("pk", "name", "type", "industry", "phone", "owner__full_name", "owner__email")
CONTACT_FIELDS = (
    "pk",
    "last_name",
    "first_name",
    "title",
    "email",
    "secondary_email",
    "phone",
    "mobile",
    "account_id",
    "account__name",
    "owner__full_name",
    "owner__email",
)
DEAL_FIELDS = (
    "pk",
    "name",
    "account_id",
    "account__name",
    "stage",
    "amount",
    "expected_close",
    "owner__full_name",
    "owner__email",
)
PRODUCT_FIELDS = ("pk", "name", "code", "unit_price", "is_active")
ACCOUNT_TYPES = dict(CrmAccount.Type.choices)
STAGES = dict(Stage.choices)


def _account_rows(portal: str):
    account_url = url_maker("crm:account_detail", "crm_account_id", portal=portal)

    def row(v: dict) -> dict:
        v["url"] = account_url(v["pk"])
        v["type_label"] = ACCOUNT_TYPES.get(v["type"], v["type"])
        v["owner"] = person(v.pop("owner__full_name"), v.pop("owner__email"))
        return v

    return row


def _with_account_and_owner(v: dict, account_url) -> dict:
    """A contact's or deal's row: its account's name and link, and its owner."""
    v["account_name"] = v.pop("account__name")
    v["account_url"] = account_url(v["account_id"]) if v["account_id"] else ""
    v["owner"] = person(v.pop("owner__full_name"), v.pop("owner__email"))
    return v


def _contact_rows(portal: str):
    contact_url = url_maker("crm:contact_detail", "crm_contact_id", portal=portal)
    account_url = url_maker("crm:account_detail", "crm_account_id", portal=portal)

    def row(v: dict) -> dict:
        v["url"] = contact_url(v["pk"])
        v["name"] = " ".join(p for p in (v["last_name"], v["first_name"]) if p)  # CrmContact.name
        return _with_account_and_owner(v, account_url)

    return row


def _deal_rows(portal: str):
    deal_url = url_maker("crm:deal_detail", "deal_id", portal=portal)
    account_url = url_maker("crm:account_detail", "crm_account_id", portal=portal)

    def row(v: dict) -> dict:
        v["url"] = deal_url(v["pk"])
        v["stage_label"] = STAGES.get(v["stage"], v["stage"])
        return _with_account_and_owner(v, account_url)

    return row


def _product_rows(portal: str):
    edit_url = url_maker("crm:product_edit", "crm_product_id", portal=portal)
    delete_url = url_maker("crm:product_delete", "crm_product_id", portal=portal)

    def row(v: dict) -> dict:
        v["edit_url"], v["delete_url"] = edit_url(v["pk"]), delete_url(v["pk"])
        return v

    return row


def _filters(request: HttpRequest, *names: str) -> dict[str, str]:
    return {name: query_text(request, name, 40) for name in ("q", "owner", "sort", *names)}


def _owners(request: HttpRequest):
    return selectors.crm_member_list(request.org)


def _account(request: HttpRequest, crm_account_id: int) -> CrmAccount:
    return get_object_or_404(
        CrmAccount.objects.for_org(request.org).select_related("owner"), pk=crm_account_id
    )


def _contact(request: HttpRequest, crm_contact_id: int) -> CrmContact:
    return get_object_or_404(
        CrmContact.objects.for_org(request.org).select_related("account", "owner"),
        pk=crm_contact_id,
    )


def _deal(request: HttpRequest, deal_id: int) -> Deal:
    return get_object_or_404(
        Deal.objects.for_org(request.org).select_related("account", "owner"), pk=deal_id
    )


def _product(request: HttpRequest, crm_product_id: int) -> CrmProduct:
    return get_object_or_404(CrmProduct.objects.for_org(request.org), pk=crm_product_id)


def _form_page(request, template: str, form, record, status: int = 200, **extra) -> HttpResponse:
    return crm_render(request, template, {"form": form, "record": record, **extra}, status=status)


def _save(request: HttpRequest, form, save, template: str, record, **extra):
    """Validate the form, call the service; the saved record, or the page again (400)."""
    if form.is_valid():
        try:
            return save(form), None
        except ValidationError as exc:
            apply_errors(form, exc)
    return None, _form_page(request, template, form, record, status=400, **extra)


def _delete_page(request, template: str, record, delete, done_url: str, **extra) -> HttpResponse:
    if request.method == "POST":
        delete()
        messages.success(request, _("“%(name)s” deleted.") % {"name": str(record)})
        return redirect(done_url, portal=request.org.portal)
    return crm_render(request, template, {"record": record, **extra})


# --- Home --------------------------------------------------------------------------------------
@gate
def home(request: HttpRequest) -> HttpResponse:
    """The CRM's start page: the pipeline and my open deals."""
    org, user = request.org, request.user
    mine, _key = selectors.deals_search(org, user=user, owner="mine", stage="open", sort="close")
    return crm_render(
        request,
        "crm/home.html",
        {
            "pipeline": selectors.pipeline_summary(org),
            "my_deals": mine[:10],
            "counts": {
                "accounts": CrmAccount.objects.for_org(org).count(),
                "contacts": CrmContact.objects.for_org(org).count(),
                "deals": Deal.objects.for_org(org).count(),
            },
            "settings": per_request.settings_of(request),
        },
    )


# --- Accounts ----------------------------------------------------------------------------------
@gate
def account_list(request: HttpRequest) -> HttpResponse:
    f = _filters(request, "type")
    rows, sort = selectors.accounts_search(
        request.org,
        user=request.user,
        query=f["q"],
        owner=f["owner"],
        type=f["type"],
        sort=f["sort"] or "name",
    )
    page = list_rows(
        rows,
        request.GET.get("page"),
        (*ACCOUNT_FIELDS, "open_deals"),
        _account_rows(request.org.portal),
    )
    return list_page(
        request,
        "accounts",
        page,
        {
            "f": f,
            "sort": sort,
            "sorts": ACCOUNT_SORTS,
            "owners": _owners(request),
            "types": CrmAccount.Type.choices,
        },
    )


@gate
def account_create(request: HttpRequest) -> HttpResponse:
    ensure_can(request.membership, "create")
    form = AccountForm(request.POST or None, instance=CrmAccount(org=request.org), org=request.org)
    if request.method == "POST":
        account, page = _save(
            request,
            form,
            lambda f: records.account_save(actor=request.membership, account=f.instance),
            "crm/account_form.html",
            None,
        )
        if page:
            return page
        messages.success(request, _("Account “%(name)s” created.") % {"name": account.name})
        return redirect("crm:account_detail", portal=request.org.portal, crm_account_id=account.pk)
    return _form_page(request, "crm/account_form.html", form, None)


@gate
def account_detail(request: HttpRequest, crm_account_id: int) -> HttpResponse:
    account = _account(request, crm_account_id)
    org = request.org
    deals, _key = selectors.deals_search(org, user=request.user, account=account, sort="close")
    contacts, _key = selectors.contacts_search(org, user=request.user, account=account)
    settings = per_request.settings_of(request)
    return crm_render(
        request,
        "crm/account_detail.html",
        {
            "record": account,
            "deals": deals,
            "contacts": contacts,
            "can_edit": can(request.membership, "edit", account),
            "can_delete": can(request.membership, "delete", account),
            "settings": settings,
            "tickets_panel": tickets_panel(request, account, settings),
        },
    )


@gate
def account_edit(request: HttpRequest, crm_account_id: int) -> HttpResponse:
    account = _account(request, crm_account_id)
    ensure_can(request.membership, "edit", account)
    form = AccountForm(request.POST or None, instance=account, org=request.org)
    if request.method == "POST":
        saved, page = _save(
            request,
            form,
            lambda f: records.account_save(actor=request.membership, account=f.instance),
            "crm/account_form.html",
            _account(request, crm_account_id),
        )
        if page:
            return page
        messages.success(request, _("Account saved."))
        return redirect("crm:account_detail", portal=request.org.portal, crm_account_id=saved.pk)
    return _form_page(request, "crm/account_form.html", form, account)


@gate
def account_delete(request: HttpRequest, crm_account_id: int) -> HttpResponse:
    account = _account(request, crm_account_id)
    ensure_can(request.membership, "delete", account)
    return _delete_page(
        request,
        "crm/account_delete.html",
        account,
        lambda: records.account_delete(actor=request.membership, account=account),
        "crm:accounts",
        contact_count=account.contacts.count(),
        deal_count=account.deals.count(),
    )


# --- Contacts ----------------------------------------------------------------------------------
@gate
def contact_list(request: HttpRequest) -> HttpResponse:
    f = _filters(request, "account")
    account = None
    if f["account"].isdigit():
        account = CrmAccount.objects.for_org(request.org).filter(pk=f["account"]).first()
    rows, sort = selectors.contacts_search(
        request.org,
        user=request.user,
        query=f["q"],
        owner=f["owner"],
        account=account,
        sort=f["sort"] or "name",
    )
    page = list_rows(
        rows, request.GET.get("page"), CONTACT_FIELDS, _contact_rows(request.org.portal)
    )
    return list_page(
        request,
        "contacts",
        page,
        {
            "f": f,
            "sort": sort,
            "sorts": CONTACT_SORTS,
            "owners": _owners(request),
            "account": account,
        },
    )


@gate
def contact_create(request: HttpRequest) -> HttpResponse:
    ensure_can(request.membership, "create")
    initial = {}
    account_id = query_text(request, "account", 20)
    if account_id.isdigit():
        initial["account"] = CrmAccount.objects.for_org(request.org).filter(pk=account_id).first()
    form = ContactForm(
        request.POST or None,
        instance=CrmContact(org=request.org),
        org=request.org,
        initial=initial,
    )
    if request.method == "POST":
        contact, page = _save(
            request,
            form,
            lambda f: records.contact_save(actor=request.membership, contact=f.instance),
            "crm/contact_form.html",
            None,
        )
        if page:
            return page
        messages.success(request, _("Contact “%(name)s” created.") % {"name": contact.name})
        return redirect("crm:contact_detail", portal=request.org.portal, crm_contact_id=contact.pk)
    return _form_page(request, "crm/contact_form.html", form, None)


@gate
def contact_detail(request: HttpRequest, crm_contact_id: int) -> HttpResponse:
    contact = _contact(request, crm_contact_id)
    deals, _key = selectors.deals_search(
        request.org, user=request.user, contact=contact, sort="close"
    )
    settings = per_request.settings_of(request)
    return crm_render(
        request,
        "crm/contact_detail.html",
        {
            "record": contact,
            "deals": deals,
            "can_edit": can(request.membership, "edit", contact),
            "can_delete": can(request.membership, "delete", contact),
            "settings": settings,
            "tickets_panel": tickets_panel(request, contact, settings),
        },
    )


@gate
def contact_edit(request: HttpRequest, crm_contact_id: int) -> HttpResponse:
    contact = _contact(request, crm_contact_id)
    ensure_can(request.membership, "edit", contact)
    form = ContactForm(request.POST or None, instance=contact, org=request.org)
    if request.method == "POST":
        saved, page = _save(
            request,
            form,
            lambda f: records.contact_save(actor=request.membership, contact=f.instance),
            "crm/contact_form.html",
            _contact(request, crm_contact_id),
        )
        if page:
            return page
        messages.success(request, _("Contact saved."))
        return redirect("crm:contact_detail", portal=request.org.portal, crm_contact_id=saved.pk)
    return _form_page(request, "crm/contact_form.html", form, contact)


@gate
def contact_delete(request: HttpRequest, crm_contact_id: int) -> HttpResponse:
    contact = _contact(request, crm_contact_id)
    ensure_can(request.membership, "delete", contact)
    return _delete_page(
        request,
        "crm/contact_delete.html",
        contact,
        lambda: records.contact_delete(actor=request.membership, contact=contact),
        "crm:contacts",
    )


# --- Deals -------------------------------------------------------------------------------------
@gate
def deal_list(request: HttpRequest) -> HttpResponse:
    f = _filters(request, "stage")
    rows, sort = selectors.deals_search(
        request.org,
        user=request.user,
        query=f["q"],
        owner=f["owner"],
        stage=f["stage"],
        sort=f["sort"] or "close",
    )
    page = list_rows(rows, request.GET.get("page"), DEAL_FIELDS, _deal_rows(request.org.portal))
    return list_page(
        request,
        "deals",
        page,
        {
            "f": f,
            "sort": sort,
            "sorts": DEAL_SORTS,
            "owners": _owners(request),
            "stages": Stage.choices,
            "settings": per_request.settings_of(request),
        },
    )


def _deal_save(request: HttpRequest):
    def save(form: DealForm) -> Deal:
        return records.deal_save(
            actor=request.membership,
            deal=form.instance,
            contacts=list(form.cleaned_data["contact_ids"]),
        )

    return save


@gate
def deal_create(request: HttpRequest) -> HttpResponse:
    ensure_can(request.membership, "create")
    initial = {}
    for name in ("account", "contact"):
        value = query_text(request, name, 20)
        if value.isdigit():
            initial[name] = value
    if "account" in initial:
        initial["account"] = (
            CrmAccount.objects.for_org(request.org).filter(pk=initial["account"]).first()
        )
    if "contact" in initial:
        contact = CrmContact.objects.for_org(request.org).filter(pk=initial.pop("contact")).first()
        if contact is not None:
            initial["contact_ids"] = [contact.pk]
            initial.setdefault("account", contact.account)
    form = DealForm(
        request.POST or None, instance=Deal(org=request.org), org=request.org, initial=initial
    )
    if request.method == "POST":
        deal, page = _save(request, form, _deal_save(request), "crm/deal_form.html", None)
        if page:
            return page
        messages.success(request, _("Deal “%(name)s” created.") % {"name": deal.name})
        return redirect("crm:deal_detail", portal=request.org.portal, deal_id=deal.pk)
    return _form_page(request, "crm/deal_form.html", form, None)


@gate
def deal_detail(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = _deal(request, deal_id)
    contacts = (
        CrmContact.objects.for_org(request.org)
        .filter(dealcontact__deal=deal)
        .select_related("account")
        .order_by("last_name", "first_name", "pk")
    )
    settings = per_request.settings_of(request)
    return crm_render(
        request,
        "crm/deal_detail.html",
        {
            "record": deal,
            "contacts": contacts,
            "pipeline": PIPELINE,
            "can_edit": can(request.membership, "edit", deal),
            "can_delete": can(request.membership, "delete", deal),
            "settings": settings,
            "tickets_panel": tickets_panel(request, deal, settings),
        },
    )


@gate
def deal_edit(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = _deal(request, deal_id)
    ensure_can(request.membership, "edit", deal)
    form = DealForm(request.POST or None, instance=deal, org=request.org)
    if request.method == "POST":
        saved, page = _save(
            request, form, _deal_save(request), "crm/deal_form.html", _deal(request, deal_id)
        )
        if page:
            return page
        messages.success(request, _("Deal saved."))
        return redirect("crm:deal_detail", portal=request.org.portal, deal_id=saved.pk)
    return _form_page(request, "crm/deal_form.html", form, deal)


@gate
def deal_delete(request: HttpRequest, deal_id: int) -> HttpResponse:
    deal = _deal(request, deal_id)
    ensure_can(request.membership, "delete", deal)
    return _delete_page(
        request,
        "crm/deal_delete.html",
        deal,
        lambda: records.deal_delete(actor=request.membership, deal=deal),
        "crm:deals",
    )


# --- Products ----------------------------------------------------------------------------------
@gate
def product_list(request: HttpRequest) -> HttpResponse:
    f = _filters(request, "active")
    rows, sort = selectors.products_search(
        request.org, query=f["q"], active=f["active"], sort=f["sort"] or "name"
    )
    page = list_rows(
        rows, request.GET.get("page"), PRODUCT_FIELDS, _product_rows(request.org.portal)
    )
    return list_page(
        request,
        "products",
        page,
        {
            "f": f,
            "sort": sort,
            "sorts": PRODUCT_SORTS,
            "can_configure": can(request.membership, "configure"),
            "settings": per_request.settings_of(request),
        },
    )


@gate
def product_create(request: HttpRequest) -> HttpResponse:
    ensure_can(request.membership, "configure")
    form = ProductForm(request.POST or None, instance=CrmProduct(org=request.org), org=request.org)
    if request.method == "POST":
        product, page = _save(
            request,
            form,
            lambda f: records.product_save(actor=request.membership, product=f.instance),
            "crm/product_form.html",
            None,
        )
        if page:
            return page
        messages.success(request, _("Product “%(name)s” created.") % {"name": product.name})
        return redirect("crm:products", portal=request.org.portal)
    return _form_page(request, "crm/product_form.html", form, None)


@gate
def product_edit(request: HttpRequest, crm_product_id: int) -> HttpResponse:
    product = _product(request, crm_product_id)
    ensure_can(request.membership, "configure")
    form = ProductForm(request.POST or None, instance=product, org=request.org)
    if request.method == "POST":
        saved, page = _save(
            request,
            form,
            lambda f: records.product_save(actor=request.membership, product=f.instance),
            "crm/product_form.html",
            _product(request, crm_product_id),
        )
        if page:
            return page
        messages.success(request, _("Product saved."))
        return redirect("crm:products", portal=request.org.portal)
    return _form_page(request, "crm/product_form.html", form, product)


@gate
def product_delete(request: HttpRequest, crm_product_id: int) -> HttpResponse:
    product = _product(request, crm_product_id)
    ensure_can(request.membership, "configure")
    return _delete_page(
        request,
        "crm/product_delete.html",
        product,
        lambda: records.product_delete(actor=request.membership, product=product),
        "crm:products",
    )
