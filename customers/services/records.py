"""Contacts and accounts: finding, saving and deleting them (CUS-01)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from helpdesk.bulkinsert import insert_row
from helpdesk.compiledreads import CompiledRead
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization, TenantModel

from ..models import (
    Account,
    Contact,
    CustomerField,
    HistoryAction,
    RecordKind,
)
from .common import _check_owner, _email, _lock, _stored, ensure_can
from .fields import _custom_diff, _custom_values, customer_fields
from .history import KINDS, _diff, history_add
from .listeners import _changed
from .tags import _set_tags, tag_names_clean

# --- Contacts ------------------------------------------------------------------------------
# The contacts whose email or secondary email is the (lowercased) address, in one statement
# compiled once (each address's index, OR-ed). The oldest is picked in Python, not by
# `ORDER BY id`: with one row expected, PostgreSQL costed the primary key's order (org, id) as
# cheap as the address's index and read every contact of the organization to filter them,
# for each incoming message.
_CONTACTS_BY_ADDRESS: CompiledRead[Contact] = CompiledRead(
    lambda org_id, email: (
        Contact.objects.for_org(org_id)
        .annotate(lower_email=Lower("email"), lower_secondary=Lower("secondary_email"))
        .filter(Q(lower_email=email) | Q(lower_secondary=email))
    )
)


def _email_owner(org: Organization, email: str, exclude_pk: int | None) -> Contact | None:
    """Another contact of `org` whose email, else whose secondary email, is `email` (the
    oldest: imports may have made several)."""
    if not email:
        return None
    found = [c for c in _CONTACTS_BY_ADDRESS.all(org_id=org.pk, email=email) if c.pk != exclude_pk]
    primary = [c for c in found if c.email.lower() == email]
    return min(primary or found, key=lambda c: c.pk, default=None)


CONTACT_TRACKED = (
    "last_name",
    "first_name",
    "email",
    "secondary_email",
    "phone",
    "mobile",
    "title",
    "account",
    "owner",
    "description",
)
ACCOUNT_TRACKED = ("name", "email", "phone", "website", "owner", "description")
PRODUCT_TRACKED = ("name", "code", "department", "description", "is_active")


def _full_clean(record: TenantModel, errors: dict[str, Any]) -> None:
    try:
        record.full_clean(exclude=["org"])
    except ValidationError as exc:
        for field, messages in exc.message_dict.items():
            errors.setdefault(field, messages)


def _record_extras(
    org: Organization,
    record: Contact | Account,
    stored: Mapping[str, Any],
    tags: str | Iterable[str] | None,
    custom_fields: Mapping[str, Any] | None,
    errors: dict[str, Any],
) -> tuple[list[str] | None, list[CustomerField]]:
    """Check the tags and custom values given with a record's form (errors into `errors`);
    sets `record.custom_fields`. Returns the cleaned tag names (None: unchanged) and the
    active field definitions."""
    kind = KINDS[type(record)]
    names = None
    if tags is not None:
        try:
            names = tag_names_clean(tags)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    definitions: list[CustomerField] = []
    if custom_fields is not None:
        definitions = list(customer_fields(org, kind))
        try:
            record.custom_fields = _custom_values(
                org, kind, stored.get("custom_fields") or {}, custom_fields, definitions
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    return names, definitions


def _record_history(
    actor: Membership,
    record: Contact | Account,
    stored: Mapping[str, Any],
    tracked: Sequence[str],
    definitions: list[CustomerField],
    ip: str | None,
) -> None:
    """After saving: "added" with the values given, or "updated" with what changed and
    "owner changed" apart (so a filter by action finds ownership changes)."""
    org = actor.org
    kind = KINDS[type(record)]
    changes = _diff(org, stored, record, tracked)
    changes.update(
        _custom_diff(definitions, stored.get("custom_fields") or {}, record.custom_fields)
    )
    if not stored:
        history_add(actor, kind, record, HistoryAction.ADDED, changes, ip)
        return
    owner = changes.pop("owner", None)
    if changes:
        history_add(actor, kind, record, HistoryAction.UPDATED, changes, ip)
    if owner is not None:
        history_add(actor, kind, record, HistoryAction.OWNER_CHANGED, {"owner": owner}, ip)


def contact_get_or_create_by_email(
    *,
    org: Organization,
    email: str,
    name: str = "",
    ip: str | None = None,
    savepoint: bool = True,
) -> tuple[Contact, bool]:
    """The contact of `org` whose email, else whose secondary email, is `email`
    (case-insensitively; the oldest if imports made several), or a new one named `name` (the
    address's local part when blank). Returns (contact, created).

    The one way a channel (the ticket form, later mail, chat, the CRM sync) finds its
    contact: before creating one, an advisory lock on the address, shared with `contact_save`,
    is taken and held until the caller's transaction ends, so two creations from a new address
    at once make one contact.
    Takes no actor: the caller's own service has checked who may create the ticket (the
    history entry of a new contact names no one).

    `savepoint=False`, for a caller whose own atomic block rolls back a failure (incoming mail:
    two round trips fewer for each message), sets no savepoint inside its transaction: an error
    raised here then leaves that transaction to be rolled back by the caller's block."""
    with transaction.atomic(savepoint=savepoint):
        return _contact_get_or_create(org, email, name, ip)


def _contact_get_or_create(
    org: Organization, email: str, name: str, ip: str | None
) -> tuple[Contact, bool]:
    email = _email(email)
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"contact_email": exc.messages}) from exc
    # Most senders are known: found without the lock, which only creators need. A new address
    # is locked, then looked up again: a creation from it at the same time has committed.
    contact = _email_owner(org, email, None)
    if contact is not None:
        return contact, False
    _lock(org, "contact-email", email)
    contact = _email_owner(org, email, None)
    if contact is not None:
        return contact, False
    name = (name or "").strip() or email.split("@")[0]
    contact = Contact(org=org, last_name=name[:100], email=email)
    contact.full_clean(exclude=["org"])
    insert_row(contact)  # as `save()` would, with an INSERT built once (mail from new senders)
    history_add(
        None,
        RecordKind.CONTACT,
        contact,
        HistoryAction.ADDED,
        {"last_name": [None, contact.last_name], "email": [None, email]},
        ip,
        org=org,
    )
    _changed("contact", contact, {}, CONTACT_TRACKED)
    return contact, True


@transaction.atomic
def contact_save(
    *,
    actor: Membership,
    contact: Contact,
    tags: str | Iterable[str] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    ip: str | None = None,
) -> Contact:
    """Create or update a contact (fields set by the caller's form), with its tags ("a, b"
    or a list; None leaves them) and custom values (raw, by key, as the form gives them;
    None leaves them), all or nothing, with a history entry.

    Emails are stored lower-case. A new or changed email may not be an email of another
    contact of the organization; an unchanged one is kept even if duplicates exist (imported
    or from other channels), so such contacts stay editable until they are merged."""
    ensure_can(actor, "edit")
    org = actor.org
    stored = _stored(Contact, org, contact, *CONTACT_TRACKED, "custom_fields")
    contact.org = org
    contact.first_name = contact.first_name.strip()
    contact.last_name = contact.last_name.strip()
    contact.email = _email(contact.email)
    contact.secondary_email = _email(contact.secondary_email)
    errors: dict[str, Any] = {}
    _full_clean(contact, errors)
    ensure_same_org(org, contact.account)
    names, definitions = _record_extras(org, contact, stored, tags, custom_fields, errors)
    _check_owner(org, contact.owner_id, stored, errors)
    if contact.secondary_email and contact.secondary_email == contact.email:
        errors["secondary_email"] = _("The secondary email is the same as the email.")
    for field in ("email", "secondary_email"):
        value = getattr(contact, field)
        if not value or field in errors or _email(stored.get(field)) == value:
            continue
        _lock(org, "contact-email", value)
        other = _email_owner(org, value, contact.pk)
        if other is not None:
            errors[field] = _(
                "%(email)s already belongs to the contact “%(name)s”. Open that contact, or "
                "merge the two."
            ) % {"email": value, "name": other.name}
    if errors:
        raise ValidationError(errors)
    contact.save()
    _record_history(actor, contact, stored, CONTACT_TRACKED, definitions, ip)
    _changed("contact", contact, stored, CONTACT_TRACKED)
    if names is not None:
        _set_tags(actor, contact, names, ip)
    return contact


def contact_delete(*, actor: Membership, contact: Contact, ip: str | None = None) -> None:
    """Delete a contact. Refused while tickets point at it (on_delete=PROTECT): its
    conversations must not vanish; merging it into another contact keeps them. Its history
    stays (admins read it by id)."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, contact)
    record_id, name = contact.pk, contact.name
    try:
        with transaction.atomic():
            contact.delete()
            history_add(
                actor,
                RecordKind.CONTACT,
                record_id,
                HistoryAction.DELETED,
                {"name": [name, None], "email": [contact.email, None]},
                ip,
            )
    except (ProtectedError, IntegrityError) as exc:
        raise ValidationError(
            _(
                "“%(name)s” has tickets and cannot be deleted. Merge the contact into another "
                "one instead, which keeps its tickets."
            )
            % {"name": contact.name}
        ) from exc


# --- Accounts ------------------------------------------------------------------------------
@transaction.atomic
def account_save(
    *,
    actor: Membership,
    account: Account,
    tags: str | Iterable[str] | None = None,
    custom_fields: Mapping[str, Any] | None = None,
    ip: str | None = None,
) -> Account:
    """Create or update an account, with its tags and custom values (as `contact_save`).
    Names are unique per organization, case-insensitively (an unchanged name is kept, as for
    contact emails)."""
    ensure_can(actor, "edit")
    org = actor.org
    stored = _stored(Account, org, account, *ACCOUNT_TRACKED, "custom_fields")
    account.org = org
    account.name = account.name.strip()
    account.email = _email(account.email)
    errors: dict[str, Any] = {}
    _full_clean(account, errors)
    names, definitions = _record_extras(org, account, stored, tags, custom_fields, errors)
    _check_owner(org, account.owner_id, stored, errors)
    if "name" not in errors and (stored.get("name") or "").lower() != account.name.lower():
        _lock(org, "account-name", account.name.lower())
        clash = Account.objects.for_org(org).filter(name__iexact=account.name)
        if account.pk:
            clash = clash.exclude(pk=account.pk)
        if clash.exists():
            errors["name"] = _("An account named “%(name)s” already exists.") % {
                "name": account.name
            }
    if errors:
        raise ValidationError(errors)
    account.save()
    _record_history(actor, account, stored, ACCOUNT_TRACKED, definitions, ip)
    _changed("account", account, stored, ACCOUNT_TRACKED)
    if names is not None:
        _set_tags(actor, account, names, ip)
    return account


@transaction.atomic
def account_delete(*, actor: Membership, account: Account, ip: str | None = None) -> None:
    """Delete an account. Its contacts and tickets stay, without an account."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, account)
    record_id, name = account.pk, account.name
    try:
        with transaction.atomic():
            account.delete()
            history_add(
                actor,
                RecordKind.ACCOUNT,
                record_id,
                HistoryAction.DELETED,
                {"name": [name, None]},
                ip,
            )
    except (ProtectedError, IntegrityError) as exc:
        raise ValidationError(
            _("“%(name)s” is still in use and cannot be deleted.") % {"name": account.name}
        ) from exc
