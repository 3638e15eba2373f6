"""Contacts and accounts over the API: list (search, tag, cursor pages), read, create and
update through the customers services, as the customers pages do (issue 16, item 1)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from pydantic import ConfigDict, Field

from customers import services
from customers.models import Account, Contact
from customers.selectors import accounts_search, contacts_search, tagged
from helpdesk.http import client_ip
from helpdesk.tenancy.models import Membership, User

from .. import cursors
from ..base import desk_member, problem_responses, refuse_unknown
from ..schemas import (
    AccountIn,
    AccountOut,
    AccountPage,
    AccountPatch,
    ContactIn,
    ContactOut,
    ContactPage,
    ContactPatch,
)

router = Router(tags=["customers"])
ORDER = ("id",)


class RecordFilters(Schema):
    model_config = ConfigDict(extra="forbid")

    q: str = Field("", max_length=200, description="Name, email or phone contains.")
    tag: str = Field("", max_length=50)
    size: int = Field(25, ge=1, le=100)
    cursor: str | None = Field(None, max_length=500)


def _person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.display_name, "email": user.email}


def contact_out(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "name": contact.name,
        "email": contact.email,
        "secondary_email": contact.secondary_email,
        "phone": contact.phone,
        "mobile": contact.mobile,
        "title": contact.title,
        "account": {"id": contact.account.pk, "name": contact.account.name}
        if contact.account
        else None,
        "owner": _person(contact.owner),
        "description": contact.description,
        "tags": contact.tag_list,
        "custom_fields": contact.custom_fields or {},
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def account_out(account: Account) -> dict[str, Any]:
    return {
        "id": account.pk,
        "name": account.name,
        "website": account.website,
        "phone": account.phone,
        "email": account.email,
        "owner": _person(account.owner),
        "description": account.description,
        "tags": account.tag_list,
        "custom_fields": account.custom_fields or {},
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


def _page(qs, model, filters: RecordFilters, out) -> dict[str, Any]:
    qs = qs.order_by(*ORDER)
    if filters.cursor:
        values = cursors.decode(filters.cursor, "id", model, ORDER)
        qs = qs.filter(cursors.after(model, ORDER, values))
    rows = list(qs[: filters.size + 1])
    page = rows[: filters.size]
    more = len(rows) > filters.size
    return {
        "items": [out(r) for r in page],
        "next_cursor": cursors.encode("id", [page[-1].pk]) if more and page else None,
    }


def _viewer(request: HttpRequest) -> Membership:
    membership = desk_member(request)
    services.ensure_can(membership, "view")
    return membership


def _contact(membership: Membership, contact_id: int) -> Contact:
    contact = (
        tagged(
            Contact.objects.for_org(membership.org).select_related("account", "owner"),
            membership.org,
            "contact",
        )
        .filter(pk=contact_id)
        .first()
    )
    if contact is None:
        raise Http404
    return contact


def _account(membership: Membership, account_id: int) -> Account:
    account = (
        tagged(
            Account.objects.for_org(membership.org).select_related("owner"),
            membership.org,
            "account",
        )
        .filter(pk=account_id)
        .first()
    )
    if account is None:
        raise Http404
    return account


def _owner_id(membership: Membership, user_id: int | None) -> int | None:
    if user_id is None:
        return None
    if not Membership.objects.for_org(membership.org).filter(user_id=user_id).exists():
        raise ValidationError({"owner_id": [_("Select a valid choice.")]})
    return user_id


def _apply(membership: Membership, record, payload, fields: tuple[str, ...]) -> None:
    given = payload.model_fields_set
    for name in fields:
        if name in given:
            value = getattr(payload, name)
            if value is None:
                raise ValidationError({name: [_("This field cannot be null.")]})
            setattr(record, name, value)
    if "owner_id" in given:
        record.owner_id = _owner_id(membership, payload.owner_id)
    if "account_id" in given and isinstance(record, Contact):
        account = None
        if payload.account_id is not None:
            account = Account.objects.for_org(membership.org).filter(pk=payload.account_id).first()
            if account is None:
                raise ValidationError({"account_id": [_("Select a valid choice.")]})
        record.account = account


CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "secondary_email",
    "phone",
    "mobile",
    "title",
    "description",
)
ACCOUNT_FIELDS = ("name", "website", "phone", "email", "description")


# --- Contacts ------------------------------------------------------------------------------
@router.get("/contacts", response={200: ContactPage, **problem_responses()})
def contacts_list(request: HttpRequest, filters: Query[RecordFilters]):
    """Contacts, oldest first, a page at a time (follow `next_cursor`)."""
    refuse_unknown(request.GET, RecordFilters.model_fields)
    membership = _viewer(request)
    qs = contacts_search(membership.org, query=filters.q, tag=filters.tag)
    return _page(qs, Contact, filters, contact_out)


@router.get("/contacts/{int:contact_id}", response={200: ContactOut, **problem_responses()})
def contact_read(request: HttpRequest, contact_id: int):
    membership = _viewer(request)
    return contact_out(_contact(membership, contact_id))


@router.post("/contacts", response={201: ContactOut, **problem_responses()})
def contact_new(request: HttpRequest, payload: ContactIn):
    membership = desk_member(request)
    contact = Contact(org=membership.org)
    _apply(membership, contact, payload, CONTACT_FIELDS)
    contact = services.contact_save(
        actor=membership,
        contact=contact,
        tags=payload.tags,
        custom_fields=payload.custom_fields,
        ip=client_ip(request),
    )
    return Status(201, contact_out(_contact(membership, contact.pk)))


@router.patch("/contacts/{int:contact_id}", response={200: ContactOut, **problem_responses()})
def contact_change(request: HttpRequest, contact_id: int, payload: ContactPatch):
    membership = desk_member(request)
    contact = _contact(membership, contact_id)
    _apply(membership, contact, payload, CONTACT_FIELDS)
    services.contact_save(
        actor=membership,
        contact=contact,
        tags=payload.tags if "tags" in payload.model_fields_set else None,
        custom_fields=payload.custom_fields
        if "custom_fields" in payload.model_fields_set
        else None,
        ip=client_ip(request),
    )
    return contact_out(_contact(membership, contact_id))


# --- Accounts ------------------------------------------------------------------------------
@router.get("/accounts", response={200: AccountPage, **problem_responses()})
def accounts_list(request: HttpRequest, filters: Query[RecordFilters]):
    """Accounts, oldest first, a page at a time (follow `next_cursor`)."""
    refuse_unknown(request.GET, RecordFilters.model_fields)
    membership = _viewer(request)
    qs = accounts_search(membership.org, query=filters.q, tag=filters.tag)
    return _page(qs, Account, filters, account_out)


@router.get("/accounts/{int:account_id}", response={200: AccountOut, **problem_responses()})
def account_read(request: HttpRequest, account_id: int):
    membership = _viewer(request)
    return account_out(_account(membership, account_id))


@router.post("/accounts", response={201: AccountOut, **problem_responses()})
def account_new(request: HttpRequest, payload: AccountIn):
    membership = desk_member(request)
    account = Account(org=membership.org)
    _apply(membership, account, payload, ACCOUNT_FIELDS)
    account = services.account_save(
        actor=membership,
        account=account,
        tags=payload.tags,
        custom_fields=payload.custom_fields,
        ip=client_ip(request),
    )
    return Status(201, account_out(_account(membership, account.pk)))


@router.patch("/accounts/{int:account_id}", response={200: AccountOut, **problem_responses()})
def account_change(request: HttpRequest, account_id: int, payload: AccountPatch):
    membership = desk_member(request)
    account = _account(membership, account_id)
    _apply(membership, account, payload, ACCOUNT_FIELDS)
    services.account_save(
        actor=membership,
        account=account,
        tags=payload.tags if "tags" in payload.model_fields_set else None,
        custom_fields=payload.custom_fields
        if "custom_fields" in payload.model_fields_set
        else None,
        ip=client_ip(request),
    )
    return account_out(_account(membership, account_id))
