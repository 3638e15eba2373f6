"""Customer classification (CRM-17): the desk's rules (TKT-09) read what the CRM knows about a
ticket's customer: the customer type, the open deals and their value.

The condition language (`helpdesk.tickets.conditions`) lets an app above tickets provide fields
to some organizations only (`FieldProvider`); `CrmsyncConfig.ready` registers this one. Its
fields, `crm.<name>`, are read one ticket at a time (rules and blueprints; never in SQL):

- **Which desks**: a desk has them while a CRM syncs with it: an integration of its own
  organization's CRM or of another organization's (`connector.desk_integrations`, cached),
  enabled or paused (a deactivated or removed integration takes them away, and so does a
  revoked key of another organization's CRM, checked in the desk's own organization where
  keys live). A condition naming them is then false, so a rule on them stops firing, and the
  rules pages say why (the parser: "not available").
- **Which customer**: the ticket's account, mapped through the integration's `SyncLink` to
  the CRM account; when the ticket has no account (or an account the CRM does not know), its
  contact's CRM contact and that contact's account.
- **Values**: `crm.customer_type` is the CRM account's type (empty without an account);
  `crm.open_deals` and `crm.open_deals_value` count and add up (in the CRM's currency) the
  deals not closed (`CLOSED_STAGES`) of that account, or, for a contact without an account,
  the contact's deals; `crm.has_record` says whether the CRM knows the customer at all. A
  customer the CRM does not know has no type and no open deals.
- **Several CRMs** syncing with one desk: the first that knows the customer answers (the
  desk's own CRM first, then by integration id); their data are never added together.
- **Reading another organization's CRM**: under that organization's row-level-security
  scope, as `DeskConnector.scope()` reads another organization's desk; only CRMs whose
  integration syncs with this desk are read, only through their links to this desk's records.
- **Cost**: nothing for an organization whose conditions name no CRM field (the fields are
  asked for only then). Otherwise, per ticket: the CRMs from the cache (a key check for
  another organization's CRM, and two to switch to its scope and back), then two queries (the
  links, then the account with its open deals; a third for a contact without an account: its
  own deals), read once per pipeline run (`pipeline.cached`) for every rule that asks.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy import rls
from helpdesk.tickets.conditions import FieldProvider, FieldSpec, T, register_provider
from helpdesk.tickets.pipeline import cached

from .connector import desk_integrations
from .models import (
    CLOSED_STAGES,
    CrmAccount,
    CrmContact,
    Deal,
    Integration,
    IntegrationKey,
    Stage,
    SyncKind,
    SyncLink,
)

PREFIX = "crm."
CUSTOMER_TYPE = "crm.customer_type"
OPEN_DEALS = "crm.open_deals"
OPEN_DEALS_VALUE = "crm.open_deals_value"
HAS_RECORD = "crm.has_record"
# Integrations whose CRM data the desk's rules read: syncing, or paused (its links stand).
WORKING = (Integration.State.ENABLED, Integration.State.PAUSED)
OPEN_STAGES = tuple(s for s in Stage.values if s not in CLOSED_STAGES)


# --- Which CRMs ---------------------------------------------------------------------------------
def _working(desk_org_id: int) -> list[dict]:
    """The integrations syncing with the desk whose data it may read now, its own CRM first.
    Another organization's CRM needs its key (issued by this desk) still active."""
    rows = [r for r in desk_integrations(desk_org_id) if r["state"] in WORKING]
    others = [r for r in rows if r["org_id"] != desk_org_id]
    if others:
        active = set(
            IntegrationKey.objects.for_org(desk_org_id)
            .filter(pk__in=[r.get("key_id") for r in others if r.get("key_id")], revoked_at=None)
            .values_list("pk", flat=True)
        )
        rows = [r for r in rows if r["org_id"] == desk_org_id or r.get("key_id") in active]
    return sorted(rows, key=lambda r: (r["org_id"] != desk_org_id, r["id"]))


def working_crms(desk_org_id: int) -> list[dict]:
    """`_working`, read once per pipeline run (the schema and every ticket's facts ask)."""
    return cached(("crm17-crms", desk_org_id), lambda: _working(desk_org_id))


def _crm_scope(row: dict, desk_org_id: int) -> AbstractContextManager:
    """The block reads the CRM of `row`: the desk's own organization as it is, another
    organization under its row-level-security scope (the mirror of `DeskConnector.scope`)."""
    if row["org_id"] == desk_org_id:
        return nullcontext()
    return rls.tenant_scope(row["org_id"])


# --- The schema ---------------------------------------------------------------------------------
def fields(org: Any) -> list[FieldSpec]:
    """The CRM fields, for a desk a CRM syncs with now; none otherwise."""
    if not working_crms(org.pk):
        return []
    return [
        FieldSpec(
            CUSTOMER_TYPE,
            str(_("Customer type (CRM)")),
            T.CHOICE,
            nullable=True,
            choices=tuple((k, str(v)) for k, v in CrmAccount.Type.choices),
        ),
        FieldSpec(OPEN_DEALS, str(_("Open deals (CRM)")), T.NUMBER),
        FieldSpec(OPEN_DEALS_VALUE, str(_("Value of open deals (CRM)")), T.NUMBER),
        FieldSpec(HAS_RECORD, str(_("Customer known in the CRM (CRM)")), T.BOOLEAN),
    ]


# --- A ticket's facts ---------------------------------------------------------------------------
NOT_KNOWN: dict[str, Any] = {
    CUSTOMER_TYPE: None,
    OPEN_DEALS: 0.0,
    OPEN_DEALS_VALUE: 0.0,
    HAS_RECORD: False,
}


def _open_deals(crm_org_id: int, **where: Any) -> tuple[int, Decimal | None]:
    totals = (
        Deal.objects.for_org(crm_org_id)
        .filter(stage__in=OPEN_STAGES, **where)
        .aggregate(n=Count("pk"), value=Sum("amount"))
    )
    return totals["n"], totals["value"]


def _read_crm(row: dict, contact_id: int | None, account_id: int | None) -> dict[str, Any] | None:
    """What the CRM of `row` knows about the desk's contact and account (ids in the desk's
    organization), or None when it knows neither. Call inside `_crm_scope(row, ...)`."""
    crm_org_id = row["org_id"]
    wanted = Q()
    if account_id is not None:
        wanted |= Q(kind=SyncKind.ACCOUNT, desk_id=account_id)
    if contact_id is not None:
        wanted |= Q(kind=SyncKind.CONTACT, desk_id=contact_id)
    links = dict(
        SyncLink.objects.for_org(crm_org_id)
        .filter(wanted, integration_id=row["id"])
        .values_list("kind", "crm_id")
    )
    if not links:
        return None
    kind, number, value = None, 0, None
    if SyncKind.ACCOUNT in links:
        account = (
            CrmAccount.objects.for_org(crm_org_id)
            .filter(pk=links[SyncKind.ACCOUNT])
            .annotate(
                n=Count("deals", filter=Q(deals__stage__in=OPEN_STAGES)),
                value=Sum("deals__amount", filter=Q(deals__stage__in=OPEN_STAGES)),
            )
            .values("type", "n", "value")
            .first()
        )
        if account is not None:
            kind, number, value = account["type"], account["n"], account["value"]
    if kind is None and SyncKind.CONTACT in links:
        # The contact's account, with that account's open deals, in one query.
        rows = (
            CrmContact.objects.for_org(crm_org_id)
            .filter(pk=links[SyncKind.CONTACT])
            .values("account_id", "account__type")
            .annotate(
                n=Count("account__deals", filter=Q(account__deals__stage__in=OPEN_STAGES)),
                value=Sum(
                    "account__deals__amount", filter=Q(account__deals__stage__in=OPEN_STAGES)
                ),
            )
            .order_by()
        )
        contact = next(iter(rows[:1]), None)
        if contact is None:  # its link outlived it: the CRM does not know the customer
            return None
        if contact["account_id"] is not None:
            kind, number, value = contact["account__type"], contact["n"], contact["value"]
        else:
            number, value = _open_deals(crm_org_id, contacts=links[SyncKind.CONTACT])
    return {
        CUSTOMER_TYPE: kind,
        OPEN_DEALS: float(number or 0),
        OPEN_DEALS_VALUE: float(value or 0),
        HAS_RECORD: True,
    }


def _read(desk_org_id: int, contact_id: int | None, account_id: int | None) -> dict[str, Any]:
    if contact_id is None and account_id is None:
        return dict(NOT_KNOWN)
    for row in working_crms(desk_org_id):
        with _crm_scope(row, desk_org_id):
            known = _read_crm(row, contact_id, account_id)
        if known is not None:
            return known
    return dict(NOT_KNOWN)


def facts(ticket: Any) -> dict[str, Any] | None:
    """The ticket's CRM fields (None: no CRM syncs with its desk now). Read once per pipeline
    run for a contact and account, however many rules ask."""
    desk_org_id = ticket.org_id
    if not working_crms(desk_org_id):
        return None
    contact_id, account_id = ticket.contact_id, ticket.account_id
    return cached(
        ("crm17-facts", desk_org_id, contact_id, account_id),
        lambda: _read(desk_org_id, contact_id, account_id),
    )


PROVIDER = FieldProvider(
    prefix=PREFIX,
    group=_("CRM"),
    fields=fields,
    facts=facts,
    unavailable=_(
        "it is a CRM field, and no CRM integration syncs with this desk now (it was removed "
        "or deactivated, or its key was revoked)."
    ),
)


def register() -> None:
    """Called by `CrmsyncConfig.ready`."""
    register_provider(PROVIDER)
