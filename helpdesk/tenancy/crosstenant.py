"""The few reads that must cross organizations, and nothing else (ORG-01).

Everything else in the product reads one organization at a time under row-level security
(`rls.py`). These reads cannot: a person's own organizations (sign-in, "my organizations"),
and sweeps that pick due work in every
organization. They run on their own connection (`settings.CROSS_TENANT_DATABASE`), as a role
(`settings.DB_CROSS_ROLE`) that may only SELECT the global tables and the tables named in
`CROSS_TENANT_MODELS`, each read inside a transaction that is rolled back. Callers are
allow-listed by a test (tests/tenancy/test_rls.py): adding one is a reviewed decision.

Citus (README, "Citus plan"): each of these is a query on the coordinator; the membership
reads are router queries when filtered by user and organization, and the sweeps read a small
indexed set of due rows across shards, then act per organization.

Apps above tenancy name their swept tables here by label (`CROSS_TENANT_LABELS`), not by
import: tenancy imports no app above it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from django.apps import apps
from django.conf import settings
from django.db import connections, models, transaction
from django.db.models import Q
from psycopg import sql

from .models import Invitation, Membership, User

# Tenant tables the cross-tenant role may read (rls.sync grants SELECT and a read policy).
CROSS_TENANT_MODELS: tuple[type[models.Model], ...] = (Membership, Invitation)
# Tables of apps above tenancy whose due rows a sweep finds in every organization (read only
# to learn which organizations have due work; the work is then claimed per organization).
CROSS_TENANT_LABELS: tuple[str, ...] = (
    "sla.ClockDue",  # the SLA escalation sweep
    "chat.Conversation",  # the missed-chat sweep (waiting chats past their due_at)
)
# Of those, tables the role may read only some columns of (rls.sync grants SELECT on these
# columns alone): a chat's row also holds the visitor's name, address and token hash, none of
# which a sweep needs to learn which organizations have due chats.
CROSS_TENANT_COLUMNS: dict[str, tuple[str, ...]] = {
    "chat.Conversation": ("id", "org_id", "state", "due_at"),
}
# Tables of apps above tenancy that one organization looks up in another, by label: a CRM
# connecting to another organization's desk checks the key that desk's admin issued (CRM-02).
# The CRM sync (CRM-04) finds the CRMs that sync with a desk and the undelivered outbox rows.
CROSS_TENANT_LOOKUP_LABELS: tuple[str, ...] = (
    "crmsync.IntegrationKey",
    "crmsync.Integration",
    "crmsync.OutboxEntry",
)


def cross_tenant_models() -> tuple[type[models.Model], ...]:
    """Every model the cross-tenant role may read: ours and the installed labelled ones."""
    above = tuple(
        apps.get_model(label)
        for label in CROSS_TENANT_LABELS + CROSS_TENANT_LOOKUP_LABELS
        if apps.is_installed(label.split(".")[0])
    )
    return CROSS_TENANT_MODELS + above


@contextmanager
def _reading() -> Iterator[str]:
    """A read-only transaction on the cross-tenant connection, as the cross-tenant role.

    `SET LOCAL ROLE` is a no-op where the connection already logs in as that role
    (production); where it shares a connection logged in as the owner (the tests, so that they
    see each test's uncommitted rows), it makes the read run with exactly the role's grants
    and policies. Rolling back ends the role switch with the transaction."""
    alias = settings.CROSS_TENANT_DATABASE
    with transaction.atomic(using=alias):
        with connections[alias].cursor() as cursor:
            cursor.execute(
                sql.SQL("SET LOCAL ROLE {}")
                .format(sql.Identifier(settings.DB_CROSS_ROLE))
                .as_string(cursor.cursor.connection)
            )
        yield alias
        transaction.set_rollback(True, using=alias)


def memberships_of(user: User, *, status: str = Membership.Status.ACTIVE) -> list[Membership]:
    """The person's own memberships (with their organizations), in organization-name order."""
    if not user.is_authenticated:
        return []
    with _reading() as alias:
        return list(
            Membership.objects.using(alias)
            .filter(user_id=user.pk, status=status)
            .select_related("org")
            .order_by("org__name", "org_id")
        )


def stale_invitations(*, expired_before: datetime) -> list[tuple[int, int]]:
    """(org_id, invitation id) of unaccepted invitations that expired before the cutoff, in
    every organization: the purge sweep then deletes them one organization at a time."""
    with _reading() as alias:
        return list(
            Invitation.objects.using(alias)
            .filter(accepted_at=None, expires_at__lte=expired_before)
            .order_by("org_id", "id")
            .values_list("org_id", "id")
        )


def due_organizations(label: str, *, due: Q, limit: int = 1000) -> list[tuple[int, datetime]]:
    """(organization id, earliest due time) of the organizations with rows of the swept model
    `label` matching `due` (a condition an index on `due_at` serves), earliest first, at most
    `limit`: the sweep then claims the rows one organization at a time under that
    organization's row-level-security scope, and wakes up for the ones not yet due."""
    if label not in CROSS_TENANT_LABELS:
        raise ValueError(f"{label} is not a swept table (CROSS_TENANT_LABELS)")
    model = apps.get_model(label)
    with _reading() as alias:
        rows = (
            model.objects.using(alias)
            .filter(due)
            .values("org_id")
            .annotate(first=models.Min("due_at"))
            .order_by("first", "org_id")[:limit]
        )
        return [(row["org_id"], row["first"]) for row in rows]


# --- A CRM and another organization's desk (CRM-02, CRM-03, CRM-15) -------------------------
# Callers: crmsync's desk connector only. The key is the credential: these reads answer
# nothing about an organization to someone who does not hold one of its keys.
def desk_key_check(*, portal: str, admin_email: str, key_hash: str) -> tuple[str, int, int]:
    """Whether an integration key (its SHA-256) issued at `portal` lets a CRM connect, with
    `admin_email` a Desk admin there. Returns (outcome, organization id, key id): "ok";
    "invalid" (no such portal, or no such key there: the same answer, 0 ids); "revoked";
    "not_admin" (the key is good but the address is not an active Desk admin's)."""
    model = apps.get_model("crmsync.IntegrationKey")
    from .models import Organization

    with _reading() as alias:
        org = Organization.objects.using(alias).filter(portal=portal.strip().lower()).first()
        if org is None:
            return ("invalid", 0, 0)
        key = model.objects.using(alias).filter(org_id=org.pk, key_hash=key_hash).first()
        if key is None:
            return ("invalid", 0, 0)
        if key.revoked_at is not None:
            return ("revoked", org.pk, key.pk)
        admin = (
            Membership.objects.using(alias)
            .filter(org_id=org.pk, user__email__iexact=admin_email.strip())
            .first()
        )
        if admin is None or not (admin.is_active and admin.is_app_admin("desk")):
            return ("not_admin", org.pk, key.pk)
        return ("ok", org.pk, key.pk)


def desk_key_is_active(*, org_id: int, key_id: int) -> bool:
    """The key still works (issued at `org_id`, not revoked): checked at every use."""
    model = apps.get_model("crmsync.IntegrationKey")
    with _reading() as alias:
        return model.objects.using(alias).filter(org_id=org_id, pk=key_id, revoked_at=None).exists()


def desk_memberships(*, org_id: int, user_ids: list[int]) -> list[Membership]:
    """These people's memberships in the desk's organization `org_id` (any status), for the
    CRM's mutual users and its Desk tab. Only for people the CRM already knows (its users)."""
    with _reading() as alias:
        return list(
            Membership.objects.using(alias)
            .filter(org_id=org_id, user_id__in=list(user_ids))
            .order_by("pk")
        )


# --- The CRM sync (CRM-04): callers are crmsync's connector only ------------------------------
def desk_integrations(*, desk_org_id: int) -> list[dict]:
    """The CRM integrations (of any organization) that sync with the desk of `desk_org_id`:
    id, org_id (the CRM's), state, direction, product_department_ids, key_id (the desk's key
    that authorised another organization's CRM, checked by the desk before it reads that CRM's
    data about its customers, CRM-17). A desk-side change is written to their outbox; nothing
    of those CRMs' records is read here."""
    model = apps.get_model("crmsync.Integration")
    with _reading() as alias:
        return list(
            model.objects.using(alias)
            .filter(desk_org_id=desk_org_id)
            .values("id", "org_id", "state", "direction", "product_department_ids", "key_id")
            .order_by("id")
        )


def outbox_pending(*, limit: int = 1000) -> list[tuple[int, int]]:
    """(CRM organization id, integration id) of the integrations with undelivered outbox rows
    in any organization, for the sweep that enqueues their delivery again (a worker died)."""
    model = apps.get_model("crmsync.OutboxEntry")
    with _reading() as alias:
        rows = (
            model.objects.using(alias)
            .filter(delivered_at=None)
            .values_list("crm_org_id", "integration_id")
            .distinct()
            .order_by("crm_org_id", "integration_id")[:limit]
        )
        return [(int(a), int(b)) for a, b in rows]


def crm_desks(*, limit: int = 1000) -> list[int]:
    """The organizations whose desk a CRM integration (of any organization, not deactivated)
    links to, for the sweep of overdue tickets (CRM-14 sales signals): ids only."""
    model = apps.get_model("crmsync.Integration")
    with _reading() as alias:
        rows = (
            model.objects.using(alias)
            .exclude(state="deactivated")
            .values_list("desk_org_id", flat=True)
            .distinct()
            .order_by("desk_org_id")[:limit]
        )
        return [int(pk) for pk in rows]
