"""The Desk permission checks of the customers' services and the helpers they share."""

from __future__ import annotations

from typing import TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization, TenantModel, User
from helpdesk.tenancy.roles import desk_can
from helpdesk.tenancy.selectors import desk_users

TenantModelT = TypeVar("TenantModelT", bound=TenantModel)

MESSAGES = {
    "view": gettext_lazy("Your role does not give access to customers."),
    "edit": gettext_lazy("Your role does not allow changing contacts and accounts."),
    "configure": gettext_lazy(
        "Only Desk administrators can do this (products, customer fields, history)."
    ),
}


def can(actor: Membership, action: str) -> bool:
    return desk_can(actor, action)


def ensure_can(actor: Membership, action: str) -> None:
    """The Desk role allows `action` ("view", "edit", "configure"), else PermissionDenied."""
    if not can(actor, action):
        raise PermissionDenied(str(MESSAGES.get(action, _("You are not allowed to do that."))))


# --- Helpers -----------------------------------------------------------------------------
def _email(value: str | None) -> str:
    return (value or "").strip().lower()


def _lock(org: Organization, kind: str, key: str) -> None:
    """Serialise concurrent checks of one value (an email, a code) in one organization until
    the transaction ends; the table allows duplicates (imports), so no constraint does it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"{kind}:{org.pk}:{key}"]
        )


def _stored(model: type[TenantModelT], org: Organization, obj: TenantModelT, *fields: str) -> dict:
    """The stored values of `fields` of an existing row of `org` ({} for a new one). A row
    of another organization is refused: saving it would move it into `org`."""
    if obj.pk is None:
        return {}
    ensure_same_org(org, obj)
    row = model.objects.for_org(org).filter(pk=obj.pk).values("pk", *fields).first()
    if row is None:
        raise ValidationError(_("The record was not found in this organization."))
    return row


def owner_candidates(org: Organization) -> QuerySet[User]:
    """People who may own contacts and accounts: active members with Desk access."""
    return desk_users(org, statuses=[Membership.Status.ACTIVE])


def _check_owner(org: Organization, owner_id: int | None, stored: dict, errors: dict) -> None:
    # An owner who has since lost Desk access may stay; a new owner must have it.
    if (
        owner_id
        and owner_id != stored.get("owner")
        and not (owner_candidates(org).filter(pk=owner_id).exists())
    ):
        errors["owner"] = _("Choose a user of this organization with Desk access.")
