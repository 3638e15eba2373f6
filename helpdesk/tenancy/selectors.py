"""Reading people of an organization."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet

from .models import Membership, Organization, User


def desk_users(org: Organization, *, statuses: Iterable[str] | None = None) -> QuerySet[User]:
    """People with Desk access in `org`, by name; only those whose membership has one of
    `statuses` when given."""
    members = Membership.objects.for_org(org).exclude(desk_role="")
    if statuses is not None:
        members = members.filter(status__in=list(statuses))
    return User.objects.filter(memberships__in=members).order_by("full_name", "email")
