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
        "account",
    ),
    SyncKind.PRODUCT: ("name", "code", "description", "is_active"),
}
# Fields that name a record of another kind: a contact's account. The sync carries them as the
# CRM's id, maps a desk id to the CRM's through the links when it reads the desk and back when
# it writes there; an account not linked (yet) reads and writes as none.
REFERENCES: dict[str, dict[str, str]] = {SyncKind.CONTACT: {"account": SyncKind.ACCOUNT}}


def attname(name: str) -> str:
    """The model attribute holding a synced field's value ("account" -> "account_id")."""
    return f"{name}_id" if name == "account" else name
