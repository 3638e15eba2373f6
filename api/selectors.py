from __future__ import annotations

from django.db.models import QuerySet

from helpdesk.tenancy.models import Membership

from .models import ApiToken


def tokens_for(membership: Membership) -> QuerySet[ApiToken]:
    """The member's own tokens in this organization, newest first."""
    return (
        ApiToken.objects.for_org(membership.org)
        .filter(user_id=membership.user_id)
        .order_by("-created_at", "-pk")
    )
