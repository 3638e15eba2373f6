"""The CRM's side of the desk it is linked to (CRM-02, CRM-03, CRM-15).

ARCHITECTURE.md, "CRM sync": the CRM talks to the desk through this small connector, so that a
desk of another deployment can be connected over HTTP later. Today the desk is in this
deployment: the CRM's own organization, or another organization's desk authorised by an
integration key. Reads of another organization go through `helpdesk.tenancy.crosstenant` (the
one module allowed to read across organizations); the few writes (inviting a CRM user) call
the tenancy services under the desk organization's row-level-security scope. Every use of
another organization's desk checks its key again, so a revoked key stops it at once.

This is the only module of crmsync that reads or writes another organization's rows.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext as _

from helpdesk.tenancy import crosstenant, rls
from helpdesk.tenancy.models import (
    App,
    Department,
    Invitation,
    Membership,
    Organization,
    User,
)
from helpdesk.tenancy.roles import desk_can
from helpdesk.tenancy.services.members import member_invite_to_app

from .models import Integration

KEY_PREFIX = "mdk_"


def key_new() -> str:
    """A fresh integration key: 256 random bits, URL-safe, with a recognisable prefix."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.strip().encode()).hexdigest()


@dataclass(frozen=True)
class KeyCheck:
    outcome: str  # ok | invalid | revoked | not_admin
    org_id: int
    key_id: int


def key_check(*, portal: str, admin_email: str, key: str) -> KeyCheck:
    """Does `key` of `portal` let this CRM connect, with `admin_email` a Desk admin there?"""
    outcome, org_id, key_id = crosstenant.desk_key_check(
        portal=portal, admin_email=admin_email, key_hash=key_hash(key)
    )
    return KeyCheck(outcome, org_id, key_id)


class DeskConnector:
    """The desk of one integration, as the CRM sees it."""

    def __init__(self, integration: Integration) -> None:
        self.integration = integration

    @property
    def desk_org(self) -> Organization:
        return self.integration.desk_org

    def key_problem(self) -> str | None:
        """Why another organization's desk cannot be used now (its key), or None."""
        integration = self.integration
        if integration.is_same_org:
            return None
        if integration.key_id is None or not crosstenant.desk_key_is_active(
            org_id=integration.desk_org_id, key_id=integration.key_id
        ):
            return _(
                "The integration key of /%(portal)s/ has been revoked. Ask an administrator of "
                "that portal for a new key and re-authorise the integration."
            ) % {"portal": self.desk_org.portal}
        return None

    def memberships(
        self, user_ids: list[int], known: Membership | None = None
    ) -> dict[int, Membership]:
        """These people's memberships in the desk's organization, by user id. `known`: a
        membership read already in this request (the reader's): when the desk is this
        organization's and it is the only one asked for, no query."""
        integration = self.integration
        if (
            known is not None
            and integration.is_same_org
            and list(user_ids) == [known.user_id]
            and known.org_id == integration.org_id
        ):
            return {known.user_id: copy.copy(known)}
        if integration.is_same_org:
            rows = list(
                Membership.objects.for_org(integration.org).filter(user_id__in=list(user_ids))
            )
        else:
            if self.key_problem():
                return {}
            rows = crosstenant.desk_memberships(
                org_id=integration.desk_org_id, user_ids=list(user_ids)
            )
        return {m.user_id: m for m in rows}

    def desk_users(
        self, user_ids: list[int], known: Membership | None = None
    ) -> dict[int, Membership]:
        """Those of these people who have an active desk account (a Desk role) there."""
        return {
            user_id: m
            for user_id, m in self.memberships(user_ids, known).items()
            if m.is_active and (m.desk_role or m.is_account_admin)
        }

    def departments(self) -> list[tuple[int, str]]:
        """The desk's departments (id, name), for the products' departments (CRM-06)."""
        integration = self.integration
        if integration.is_same_org:
            rows = Department.objects.for_org(integration.org)
            return list(rows.order_by("name", "pk").values_list("pk", "name"))
        if self.key_problem():
            return []
        with rls.tenant_scope(integration.desk_org_id):
            rows = Department.objects.for_org(self.desk_org)
            return list(rows.order_by("name", "pk").values_list("pk", "name"))

    def invite(
        self, *, user: User, desk_role: str, invited_by: User
    ) -> tuple[Membership, Invitation | None]:
        """Give a CRM user a desk account with `desk_role` (CRM-03): the caller checked that
        the integration may (`services.integration`). Another organization's desk is written
        under its own row-level-security scope, through its tenancy service."""
        integration = self.integration
        if integration.is_same_org:
            return member_invite_to_app(
                org=integration.org,
                email=user.email,
                app=App.DESK,
                role=desk_role,
                invited_by=invited_by,
            )
        with rls.tenant_scope(integration.desk_org_id):
            return member_invite_to_app(
                org=self.desk_org,
                email=user.email,
                app=App.DESK,
                role=desk_role,
                invited_by=invited_by,
            )

    # --- The sync (CRM-04..07) ------------------------------------------------------------
    def scope(self) -> AbstractContextManager:
        """The block reads and writes the desk's organization (its row-level-security scope
        when it is another organization; the caller checked `key_problem` first)."""
        if self.integration.is_same_org:
            return nullcontext()
        return rls.tenant_scope(self.integration.desk_org_id)

    def crm_scope(self) -> AbstractContextManager:
        """The block reads the CRM's own rows (links, deal links), also when it runs inside
        `scope()`: another organization's scope hides them."""
        if self.integration.is_same_org:
            return nullcontext()
        return rls.tenant_scope(self.integration.org_id)

    def sync_actor(self) -> Membership | None:
        """The desk member in whose name the sync writes desk records through the customers
        services (call inside `scope()`): for another organization's desk, the Desk admin
        whose email authorised the integration; for this organization, the admin who set it
        up if they are a Desk admin, else the first active Desk admin. None: nobody may."""
        integration = self.integration
        org = self.desk_org
        members = (
            Membership.objects.for_org(org)
            .filter(status=Membership.Status.ACTIVE)
            .select_related("user")
            .order_by("pk")
        )
        if not integration.is_same_org:
            first = members.filter(user__email__iexact=integration.desk_admin_email).first()
            candidates = [first] if first is not None else []
        else:
            candidates = list(members.filter(user_id=integration.authorised_by_id)) + list(
                members[:200]
            )
        for member in candidates:
            member.org = org
            if desk_can(member, "configure"):
                return member
        return None


# --- Which CRMs sync with a desk (read at every desk-side change, cached briefly) -------------
DESK_INTEGRATIONS_TTL = 30


def _desk_key(desk_org_id: int) -> str:
    return f"crmsync:desk-integrations:{desk_org_id}"


def desk_integrations(desk_org_id: int) -> list[dict]:
    """The integrations of any organization's CRM syncing with this desk (see crosstenant)."""
    key = _desk_key(desk_org_id)
    rows = cache.get(key)
    if rows is None:
        rows = crosstenant.desk_integrations(desk_org_id=desk_org_id)
        cache.set(key, rows, DESK_INTEGRATIONS_TTL)
    return rows


def desk_integrations_forget(desk_org_id: int) -> None:
    cache.delete(_desk_key(desk_org_id))


def outbox_pending() -> list[tuple[int, int]]:
    """(CRM organization id, integration id) with undelivered outbox rows anywhere."""
    return crosstenant.outbox_pending()


def crm_desks() -> list[int]:
    """Organizations whose desk a live CRM integration links to (the overdue sweep, CRM-14)."""
    return crosstenant.crm_desks()
