"""Customer records a user owns, for their data export (ORG-06): registered with tenancy's
export at start (`CustomersConfig.ready`)."""

from __future__ import annotations

from typing import Any

from helpdesk.tenancy.models import Organization, User

from .models import Account, Contact


def user_customer_data(*, org: Organization, user: User) -> dict[str, Any]:
    """The contacts and accounts `user` owns in `org` (names and addresses, to identify them)."""
    contacts = Contact.objects.for_org(org).filter(owner=user).order_by("pk")
    accounts = Account.objects.for_org(org).filter(owner=user).order_by("pk")
    return {
        "contacts_owned": [
            {"name": str(c), "email": c.email, "created_at": c.created_at.isoformat()}
            for c in contacts
        ],
        "accounts_owned": [
            {"name": a.name, "created_at": a.created_at.isoformat()} for a in accounts
        ],
    }
