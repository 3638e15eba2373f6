"""The CRM over the API (issue 16, item 1): accounts, contacts and deals, read only, through
the CRM's selectors and its own permission table (a member without the CRM app is refused;
every member with it sees every record, as on the CRM pages). Cursor pages by id."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema
from pydantic import ConfigDict, Field

from crmsync import selectors
from crmsync.models import CrmAccount, CrmContact, Deal
from crmsync.services.access import ensure_can
from helpdesk.tenancy.models import Membership, User

from ..base import problem_responses, refuse_unknown
from ..schemas import PersonRef, Ref
from .customers import _page

router = Router(tags=["crm"])

StageValue = Literal[
    "qualification", "needs_analysis", "proposal", "negotiation", "won", "lost", "open", "closed"
]


class CrmFilters(Schema):
    model_config = ConfigDict(extra="forbid")

    q: str = Field("", max_length=200, description="Name, email, phone or account contains.")
    owner: str = Field(
        "", pattern=r"^(|mine|none|\d{1,18})$", description="`mine`, `none` or a user id."
    )
    size: int = Field(25, ge=1, le=100)
    cursor: str | None = Field(None, max_length=500)


class DealFilters(CrmFilters):
    stage: StageValue | None = None
    account: int | None = Field(None, ge=1)


class CrmAccountOut(Schema):
    id: int
    name: str
    website: str
    phone: str
    industry: str
    type: str
    owner: PersonRef | None
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime


class CrmContactOut(Schema):
    id: int
    first_name: str
    last_name: str
    email: str
    secondary_email: str
    phone: str
    mobile: str
    title: str
    account: Ref | None
    owner: PersonRef | None
    description: str
    created_at: dt.datetime
    updated_at: dt.datetime


class DealOut(Schema):
    id: int
    name: str
    account: Ref | None
    stage: str
    amount: str | None = Field(None, description="A decimal number, in `currency`.")
    currency: str
    expected_close: dt.date | None
    probability: int | None
    owner: PersonRef | None
    description: str
    contact_ids: list[int]
    created_at: dt.datetime
    updated_at: dt.datetime


class CrmAccountPage(Schema):
    items: list[CrmAccountOut]
    next_cursor: str | None = None


class CrmContactPage(Schema):
    items: list[CrmContactOut]
    next_cursor: str | None = None


class DealPage(Schema):
    items: list[DealOut]
    next_cursor: str | None = None


def _person(user: User | None) -> dict[str, Any] | None:
    return None if user is None else {"id": user.pk, "name": user.display_name, "email": user.email}


def _ref(record) -> dict[str, Any] | None:
    return None if record is None else {"id": record.pk, "name": record.name}


def account_out(account: CrmAccount) -> dict[str, Any]:
    return {
        "id": account.pk,
        "name": account.name,
        "website": account.website,
        "phone": account.phone,
        "industry": account.industry,
        "type": account.type,
        "owner": _person(account.owner),
        "description": account.description,
        "created_at": account.created_at,
        "updated_at": account.updated_at,
    }


def contact_out(contact: CrmContact) -> dict[str, Any]:
    return {
        "id": contact.pk,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email": contact.email,
        "secondary_email": contact.secondary_email,
        "phone": contact.phone,
        "mobile": contact.mobile,
        "title": contact.title,
        "account": _ref(contact.account),
        "owner": _person(contact.owner),
        "description": contact.description,
        "created_at": contact.created_at,
        "updated_at": contact.updated_at,
    }


def _deal_out(currency: str):
    def out(deal: Deal) -> dict[str, Any]:
        return {
            "id": deal.pk,
            "name": deal.name,
            "account": _ref(deal.account),
            "stage": deal.stage,
            "amount": None if deal.amount is None else str(deal.amount),
            "currency": currency,
            "expected_close": deal.expected_close,
            "probability": deal.probability,
            "owner": _person(deal.owner),
            "description": deal.description,
            "contact_ids": sorted(c.pk for c in deal.contacts.all()),
            "created_at": deal.created_at,
            "updated_at": deal.updated_at,
        }

    return out


def _crm_member(request: HttpRequest) -> Membership:
    """The token's member, who must have the CRM (its own permission table)."""
    membership: Membership = request.membership  # type: ignore[attr-defined]
    ensure_can(membership, "view")
    return membership


def _one(qs, pk: int):
    found = qs.filter(pk=pk).first()
    if found is None:
        raise Http404
    return found


# --- Accounts ------------------------------------------------------------------------------
@router.get("/crm/accounts", response={200: CrmAccountPage, **problem_responses()})
def crm_accounts_list(request: HttpRequest, filters: Query[CrmFilters]):
    """CRM accounts, oldest first, a page at a time (follow `next_cursor`)."""
    refuse_unknown(request.GET, CrmFilters.model_fields)
    m = _crm_member(request)
    qs, _key = selectors.accounts_search(m.org, user=m.user, query=filters.q, owner=filters.owner)
    return _page(qs, CrmAccount, filters, account_out)


@router.get(
    "/crm/accounts/{int:crm_account_id}", response={200: CrmAccountOut, **problem_responses()}
)
def crm_account_read(request: HttpRequest, crm_account_id: int):
    m = _crm_member(request)
    qs, _key = selectors.accounts_search(m.org, user=m.user)
    return account_out(_one(qs, crm_account_id))


# --- Contacts ------------------------------------------------------------------------------
@router.get("/crm/contacts", response={200: CrmContactPage, **problem_responses()})
def crm_contacts_list(request: HttpRequest, filters: Query[CrmFilters]):
    """CRM contacts, oldest first, a page at a time (follow `next_cursor`)."""
    refuse_unknown(request.GET, CrmFilters.model_fields)
    m = _crm_member(request)
    qs, _key = selectors.contacts_search(m.org, user=m.user, query=filters.q, owner=filters.owner)
    return _page(qs, CrmContact, filters, contact_out)


@router.get(
    "/crm/contacts/{int:crm_contact_id}", response={200: CrmContactOut, **problem_responses()}
)
def crm_contact_read(request: HttpRequest, crm_contact_id: int):
    m = _crm_member(request)
    qs, _key = selectors.contacts_search(m.org, user=m.user)
    return contact_out(_one(qs, crm_contact_id))


# --- Deals ---------------------------------------------------------------------------------
@router.get("/crm/deals", response={200: DealPage, **problem_responses()})
def crm_deals_list(request: HttpRequest, filters: Query[DealFilters]):
    """Deals, oldest first, a page at a time (follow `next_cursor`). `stage` is a stage,
    `open` or `closed`."""
    refuse_unknown(request.GET, DealFilters.model_fields)
    m = _crm_member(request)
    account = None
    if filters.account is not None:
        account = CrmAccount.objects.for_org(m.org).filter(pk=filters.account).first()
        if account is None:
            raise ValidationError({"account": [_("Select a valid choice.")]})
    qs, _key = selectors.deals_search(
        m.org,
        user=m.user,
        query=filters.q,
        owner=filters.owner,
        stage=filters.stage or "",
        account=account,
    )
    currency = selectors.crm_settings(m.org).currency
    return _page(qs.prefetch_related("contacts"), Deal, filters, _deal_out(currency))


@router.get("/crm/deals/{int:deal_id}", response={200: DealOut, **problem_responses()})
def crm_deal_read(request: HttpRequest, deal_id: int):
    m = _crm_member(request)
    qs, _key = selectors.deals_search(m.org, user=m.user)
    deal = _one(qs.prefetch_related("contacts"), deal_id)
    return _deal_out(selectors.crm_settings(m.org).currency)(deal)
