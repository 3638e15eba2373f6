"""What the sync carries (CRM-04): the fields of each kind, the same names on both sides, and
the origin its own changes carry (so that they are not echoed back)."""

from __future__ import annotations

from ..models import SyncKind

ORIGIN = "crmsync"
FIELDS: dict[str, tuple[str, ...]] = {
    SyncKind.ACCOUNT: ("name", "website", "phone", "description"),
    SyncKind.CONTACT: (
        "first_name",
        "last_name",
        "email",
        "secondary_email",
        "phone",
        "mobile",
        "title",
        "description",
    ),
    SyncKind.PRODUCT: ("name", "code", "description", "is_active"),
}
