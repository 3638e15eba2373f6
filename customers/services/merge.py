"""Duplicate contacts: finding them and merging them into one (CUS-01)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, ProtectedError, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization

from ..models import (
    Contact,
    ContactProduct,
    ContactTag,
    HistoryAction,
    RecordKind,
    Tag,
)
from .common import _email, ensure_can
from .fields import _custom_diff, customer_fields
from .history import _diff, history_add, history_add_bulk
from .records import CONTACT_TRACKED


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
    ip: str | None = None,
) -> Contact:
    """Merge the records of `duplicates` into `primary`, all or nothing:

    - their product links and tags move to the primary (the union of the tags);
    - the primary's blank fields and custom values are filled from the duplicates (oldest
      first);
    - a duplicate's different email becomes the primary's secondary email when that is
      empty (a blank primary email takes it first);
    - the duplicates are deleted; each one's history gets a "merged" entry naming the
      primary, and the primary's one naming them with the fields that were filled.

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
    stored = {
        **{
            f: getattr(target, f + "_id" if f in ("account", "owner") else f)
            for f in CONTACT_TRACKED
        },
        "custom_fields": dict(target.custom_fields or {}),
    }

    for other in others:
        for field in MERGED_FIELDS:
            name = field + "_id" if field in ("account", "owner") else field
            if not getattr(target, name) and getattr(other, name):
                setattr(target, name, getattr(other, name))
        for key, value in (other.custom_fields or {}).items():
            if target.custom_fields.get(key) in (None, "") and value not in (None, ""):
                target.custom_fields[key] = value
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
    own_tags = set(
        ContactTag.objects.for_org(org).filter(contact=target).values_list("tag_id", flat=True)
    )
    moved_tags = (
        Tag.objects.for_org(org)
        .filter(contact_tags__contact_id__in=ids)
        .exclude(pk__in=own_tags)
        .distinct()
        .order_by(Lower("name"))
    )
    tag_names = [tag.name for tag in moved_tags]
    ContactTag.objects.bulk_create(
        [ContactTag(org=org, contact=target, tag=tag) for tag in moved_tags],
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
    changes = _diff(org, stored, target, CONTACT_TRACKED)
    definitions = list(customer_fields(org, RecordKind.CONTACT, active_only=False))
    changes.update(_custom_diff(definitions, stored["custom_fields"], target.custom_fields))
    if tag_names:
        changes["tags"] = [None, tag_names]
    changes["merged_from"] = [None, [f"{o.name} <{o.email}> (#{o.pk})" for o in others]]
    history_add(actor, RecordKind.CONTACT, target, HistoryAction.MERGED, changes, ip)
    history_add_bulk(
        actor,
        RecordKind.CONTACT,
        [o.pk for o in others],
        HistoryAction.MERGED,
        [{"merged_into": [None, f"{target.name} (#{target.pk})"]} for _o in others],
        ip,
    )
    return target
