"""Contacts, accounts and products: saving, deleting, linking products, merging duplicate
contacts (CUS-01).

Every function takes the acting membership, checks its Desk role (`helpdesk.tenancy.roles`:
"edit" for contacts, accounts and product links, "configure" for the product catalogue) and
works inside `actor.org` only: a record of another organization handed to a service is refused
(`ensure_same_org`). Writes are atomic: a refused change leaves nothing half-saved.

This module is the customer records' layer: it imports tenancy only, never tickets (README,
Architecture). Contacts are found or created by email through `contact_get_or_create_by_email`
alone, whatever the channel (ticket form, later mail, chat and the CRM sync).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, ProtectedError, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization, TenantModel, User
from helpdesk.tenancy.roles import desk_can
from helpdesk.tenancy.selectors import desk_users

from .models import Account, AccountProduct, Contact, ContactProduct, Product

TenantModelT = TypeVar("TenantModelT", bound=TenantModel)

MESSAGES = {
    "view": gettext_lazy("Your role does not give access to customers."),
    "edit": gettext_lazy("Your role does not allow changing contacts and accounts."),
    "configure": gettext_lazy("Only Desk administrators can change products."),
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


def _tags(value: str) -> str:
    """ "a, B ,,b" -> "a, B": trimmed, blank and repeated (case-insensitive) tags removed."""
    seen: dict[str, str] = {}
    for tag in (value or "").split(","):
        tag = tag.strip()
        if tag and tag.lower() not in seen:
            seen[tag.lower()] = tag
    return ", ".join(seen.values())


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


# --- Contacts ------------------------------------------------------------------------------
def _email_owner(org: Organization, email: str, exclude_pk: int | None) -> Contact | None:
    """Another contact of `org` whose primary or secondary email is `email`."""
    if not email:
        return None
    contacts = Contact.objects.for_org(org).annotate(
        lower_email=Lower("email"), lower_secondary=Lower("secondary_email")
    )
    if exclude_pk:
        contacts = contacts.exclude(pk=exclude_pk)
    return (
        contacts.filter(lower_email=email).order_by("pk").first()
        or contacts.filter(lower_secondary=email).order_by("pk").first()
    )


@transaction.atomic
def contact_get_or_create_by_email(
    *, org: Organization, email: str, name: str = ""
) -> tuple[Contact, bool]:
    """The contact of `org` whose email, else whose secondary email, is `email`
    (case-insensitively; the oldest if imports made several), or a new one named `name` (the
    address's local part when blank). Returns (contact, created).

    The one way a channel (the ticket form, later mail, chat, the CRM sync) finds its
    contact: an advisory lock on the address, shared with `contact_save`, is held until the
    caller's transaction ends, so two creations from a new address at once make one contact.
    Takes no actor: the caller's own service has checked who may create the ticket."""
    email = _email(email)
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"contact_email": exc.messages}) from exc
    _lock(org, "contact-email", email)
    contact = _email_owner(org, email, None)
    if contact is not None:
        return contact, False
    name = (name or "").strip() or email.split("@")[0]
    contact = Contact(org=org, last_name=name[:100], email=email)
    contact.full_clean(exclude=["org"])
    contact.save()
    return contact, True


@transaction.atomic
def contact_save(*, actor: Membership, contact: Contact) -> Contact:
    """Create or update a contact (fields set by the caller's form).

    Emails are stored lower-case. A new or changed email may not be an email of another
    contact of the organization; an unchanged one is kept even if duplicates exist (imported
    or from other channels), so such contacts stay editable until they are merged."""
    ensure_can(actor, "edit")
    org = actor.org
    stored = _stored(Contact, org, contact, "email", "secondary_email", "owner")
    contact.org = org
    contact.first_name = contact.first_name.strip()
    contact.last_name = contact.last_name.strip()
    contact.email = _email(contact.email)
    contact.secondary_email = _email(contact.secondary_email)
    contact.tags = _tags(contact.tags)
    contact.full_clean(exclude=["org"])
    ensure_same_org(org, contact.account)
    errors: dict[str, str] = {}
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
    return contact


def contact_delete(*, actor: Membership, contact: Contact) -> None:
    """Delete a contact. Refused while tickets point at it (on_delete=PROTECT): its
    conversations must not vanish; merging it into another contact keeps them."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, contact)
    try:
        with transaction.atomic():
            contact.delete()
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
def account_save(*, actor: Membership, account: Account) -> Account:
    """Create or update an account. Names are unique per organization, case-insensitively
    (an unchanged name is kept, as for contact emails)."""
    ensure_can(actor, "edit")
    org = actor.org
    stored = _stored(Account, org, account, "name", "owner")
    account.org = org
    account.name = account.name.strip()
    account.email = _email(account.email)
    account.full_clean(exclude=["org"])
    errors: dict[str, str] = {}
    _check_owner(org, account.owner_id, stored, errors)
    if (stored.get("name") or "").lower() != account.name.lower():
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
    return account


@transaction.atomic
def account_delete(*, actor: Membership, account: Account) -> None:
    """Delete an account. Its contacts and tickets stay, without an account."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, account)
    try:
        with transaction.atomic():
            account.delete()
    except (ProtectedError, IntegrityError) as exc:
        raise ValidationError(
            _("“%(name)s” is still in use and cannot be deleted.") % {"name": account.name}
        ) from exc


# --- Products ------------------------------------------------------------------------------
@transaction.atomic
def product_save(*, actor: Membership, product: Product) -> Product:
    """Create or update a product of the catalogue (Desk administrators). Codes are unique
    per organization, case-insensitively; a blank code is allowed for any number."""
    ensure_can(actor, "configure")
    org = actor.org
    _stored(Product, org, product)
    product.org = org
    product.name = product.name.strip()
    product.code = product.code.strip()
    product.full_clean(exclude=["org"])
    ensure_same_org(org, product.department)
    errors: dict[str, str] = {}
    if product.code:
        _lock(org, "product-code", product.code.lower())
        clash = Product.objects.for_org(org).filter(code__iexact=product.code)
        if product.pk:
            clash = clash.exclude(pk=product.pk)
        other = clash.first()
        if other is not None:
            errors["code"] = _("The code %(code)s is already used by “%(name)s”.") % {
                "code": other.code,
                "name": other.name,
            }
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            product.save()
    except IntegrityError as exc:  # the unique index, should a writer bypass this service
        raise ValidationError({"code": _("This product code is already used.")}) from exc
    return product


@transaction.atomic
def product_delete(*, actor: Membership, product: Product) -> None:
    """Delete a product; its links to contacts and accounts go with it."""
    ensure_can(actor, "configure")
    ensure_same_org(actor.org, product)
    product.delete()


def _linkable(org: Organization, product: Product) -> None:
    ensure_same_org(org, product)
    if not product.is_active:
        raise ValidationError(
            {"product": _("“%(name)s” is inactive and cannot be linked.") % {"name": product.name}}
        )


@transaction.atomic
def contact_product_link(*, actor: Membership, contact: Contact, product: Product) -> None:
    """Link a product to a contact. Idempotent."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, contact)
    _linkable(actor.org, product)
    ContactProduct.objects.bulk_create(
        [ContactProduct(org=actor.org, contact=contact, product=product)], ignore_conflicts=True
    )


@transaction.atomic
def contact_product_unlink(*, actor: Membership, contact: Contact, product: Product) -> None:
    """Remove a product link from a contact. Idempotent."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, contact, product)
    ContactProduct.objects.for_org(actor.org).filter(contact=contact, product=product).delete()


@transaction.atomic
def account_product_link(*, actor: Membership, account: Account, product: Product) -> None:
    """Link a product to an account. Idempotent."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, account)
    _linkable(actor.org, product)
    AccountProduct.objects.bulk_create(
        [AccountProduct(org=actor.org, account=account, product=product)], ignore_conflicts=True
    )


@transaction.atomic
def account_product_unlink(*, actor: Membership, account: Account, product: Product) -> None:
    """Remove a product link from an account. Idempotent."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, account, product)
    AccountProduct.objects.for_org(actor.org).filter(account=account, product=product).delete()


# --- Duplicates and merging ----------------------------------------------------------------
def duplicate_contact_groups(org: Organization) -> list[list[Contact]]:
    """Groups of contacts of `org` that share an email, case-insensitively: equal primary
    emails, or one's secondary email equal to another's primary email (transitively).

    Each group lists its contacts oldest first, each annotated with `ticket_count`; groups
    are ordered by their first contact's email."""
    contacts = Contact.objects.for_org(org)
    primaries = contacts.exclude(email="").annotate(key=Lower("email"))
    shared_primary = primaries.values("key").annotate(n=Count("pk")).filter(n__gt=1)
    keys = {row["key"] for row in shared_primary}
    secondaries = (
        contacts.exclude(secondary_email="")
        .annotate(key=Lower("secondary_email"), own=Lower("email"))
        .filter(key__in=primaries.values("key"))
        .values_list("key", "own")
    )
    # A secondary email equal to its own contact's primary only makes no duplicate.
    keys.update(key for key, own in secondaries if key != own)
    if not keys:
        return []
    candidates = list(
        contacts.annotate(k1=Lower("email"), k2=Lower("secondary_email"))
        .filter(Q(k1__in=keys) | Q(k2__in=keys))
        .only("pk", "email", "secondary_email")
    )
    by_key: dict[str, list[int]] = defaultdict(list)
    for contact in candidates:
        if contact.k1 in keys:
            by_key[contact.k1].append(contact.pk)
        if contact.k2 in keys and contact.k2 != contact.k1:
            by_key[contact.k2].append(contact.pk)
    parent = {c.pk: c.pk for c in candidates}

    def root(pk: int) -> int:
        while parent[pk] != pk:
            parent[pk] = parent[parent[pk]]
            pk = parent[pk]
        return pk

    for pks in by_key.values():
        for pk in pks[1:]:
            parent[root(pk)] = root(pks[0])
    groups: dict[int, list[int]] = defaultdict(list)
    for contact in candidates:
        groups[root(contact.pk)].append(contact.pk)
    wanted = [pk for pks in groups.values() if len(pks) > 1 for pk in pks]
    rows = {
        c.pk: c
        for c in Contact.objects.for_org(org)
        .filter(pk__in=wanted)
        .select_related("account", "owner")
        .annotate(ticket_count=Count("tickets"))
    }
    result = [
        sorted((rows[pk] for pk in pks), key=lambda c: (c.created_at, c.pk))
        for pks in groups.values()
        if len(pks) > 1
    ]
    return sorted(result, key=lambda group: (group[0].email.lower(), group[0].pk))


MERGED_FIELDS = ("first_name", "phone", "mobile", "title", "account", "owner", "description")


def contacts_lock(*, org: Organization, contacts: Iterable[Contact]) -> dict[int, Contact]:
    """Lock the rows of `contacts` (all of `org`) in a fixed order and read them afresh, by
    id. A concurrent merge of the same contacts waits, then finds rows gone; a ticket being
    created for one of them waits for the commit."""
    contacts = list(contacts)
    ensure_same_org(org, *contacts)
    rows = {
        c.pk: c
        for c in Contact.objects.for_org(org)
        .filter(pk__in=[c.pk for c in contacts])
        .select_for_update()
        .order_by("pk")
    }
    if len(rows) != len({c.pk for c in contacts}):
        raise ValidationError(_("One of the chosen contacts was not found."))
    return rows


@transaction.atomic
def contacts_merge(
    *,
    actor: Membership,
    primary: Contact,
    duplicates: Iterable[Contact],
) -> Contact:
    """Merge the records of `duplicates` into `primary`, all or nothing:

    - their product links move to the primary;
    - the primary's blank fields are filled from the duplicates (oldest first) and tags are
      combined;
    - a duplicate's different email becomes the primary's secondary email when that is
      empty (a blank primary email takes it first);
    - the duplicates are deleted.

    Their tickets are the tickets app's: the caller one layer up moves them first, in the
    same transaction (`helpdesk.tickets.services.tickets.tickets_contact_replace`); a
    duplicate that still has tickets is refused. Every contact must belong to `actor.org`."""
    ensure_can(actor, "edit")
    org = actor.org
    duplicates = list(duplicates)
    ids = [c.pk for c in duplicates]
    if primary.pk in ids:
        raise ValidationError(_("The primary contact cannot also be merged into itself."))
    if not ids:
        raise ValidationError(_("Choose at least one contact to merge into the primary one."))
    rows = contacts_lock(org=org, contacts=[primary, *duplicates])
    target = rows[primary.pk]
    others = sorted((rows[pk] for pk in ids), key=lambda c: (c.created_at, c.pk))

    for other in others:
        for field in MERGED_FIELDS:
            name = field + "_id" if field in ("account", "owner") else field
            if not getattr(target, name) and getattr(other, name):
                setattr(target, name, getattr(other, name))
    target.tags = _merged_tags(target, others)
    for other in others:
        for email in (_email(other.email), _email(other.secondary_email)):
            if not email or email in (_email(target.email), _email(target.secondary_email)):
                continue
            if not target.email:
                target.email = email
            elif not target.secondary_email:
                target.secondary_email = email
    target.full_clean(exclude=["org"])

    product_ids = (
        ContactProduct.objects.for_org(org)
        .filter(contact_id__in=ids)
        .values_list("product_id", flat=True)
    )
    ContactProduct.objects.bulk_create(
        [ContactProduct(org=org, contact=target, product_id=pk) for pk in sorted(product_ids)],
        ignore_conflicts=True,
    )
    try:
        with transaction.atomic():
            Contact.objects.for_org(org).filter(pk__in=ids).delete()
    except (ProtectedError, IntegrityError) as exc:
        raise ValidationError(
            _("A contact to merge still has tickets: move them to the primary contact first.")
        ) from exc
    target.save()
    return target


def _merged_tags(target: Contact, others: list[Contact]) -> str:
    """The union of the tags, the primary's first; those that no longer fit are dropped."""
    limit = Contact._meta.get_field("tags").max_length or 0
    tags = _tags(", ".join([target.tags, *(o.tags for o in others)])).split(", ")
    kept: list[str] = []
    for tag in tags:
        if len(", ".join([*kept, tag])) <= limit:
            kept.append(tag)
    return ", ".join(t for t in kept if t)
