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
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Max, ProtectedError, Q, QuerySet
from django.db.models.functions import Lower
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.customvalues import FieldType, clean_value, display_value, validate_custom_values
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization, TenantModel, User
from helpdesk.tenancy.roles import desk_can
from helpdesk.tenancy.selectors import desk_users

from .models import (
    Account,
    AccountProduct,
    AccountTag,
    Contact,
    ContactProduct,
    ContactTag,
    CustomerField,
    CustomerHistory,
    HistoryAction,
    Product,
    RecordKind,
    Tag,
)

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


# --- Change listeners (the CRM sync, CRM-04) -------------------------------------------------
# Apps above customers (crmsync) learn of each saved contact, account or product through this
# registry, inside the saving transaction, without customers importing them: a listener gets
# (kind "contact" | "account" | "product", the saved record, the names of the fields that
# changed (all for a new record), the change's origin). The origin is "" for a person's change
# and whatever `change_origin` set for a change applied by a sync, which must not echo it back.
RecordChangeListener = Callable[[str, TenantModel, list[str], str], None]
_change_listeners: list[RecordChangeListener] = []
_change_origin: ContextVar[str] = ContextVar("customers_change_origin", default="")


def record_change_listen(listener: RecordChangeListener) -> None:
    """Call `listener` for every contact, account and product saved (registered once)."""
    if listener not in _change_listeners:
        _change_listeners.append(listener)


@contextmanager
def change_origin(origin: str) -> Iterator[None]:
    """Mark the changes made in this block as coming from `origin` (e.g. "crmsync")."""
    token = _change_origin.set(origin)
    try:
        yield
    finally:
        _change_origin.reset(token)


def _changed(kind: str, record: TenantModel, stored: Mapping[str, Any], fields: Sequence[str]):
    """Tell the listeners which of `fields` changed (all of them for a new record)."""
    if not _change_listeners:
        return
    if stored:
        fks = ("account", "owner", "department")
        changed = [
            f for f in fields if stored.get(f) != getattr(record, f + "_id" if f in fks else f)
        ]
    else:
        changed = list(fields)
    if not changed:
        return
    origin = _change_origin.get()
    for listener in _change_listeners:
        listener(kind, record, changed, origin)


# --- History (CUS-04) ----------------------------------------------------------------------
# Written by every service below that changes a contact or account, in its transaction, and
# by the services of the 360° pages (notes, files, import) through `history_add` and
# `history_add_bulk`. Values are kept as displayed (names, not ids): the record, its account
# or its owner may be gone when the entry is read.
KINDS = {Contact: RecordKind.CONTACT, Account: RecordKind.ACCOUNT}


def _kind(kind: str) -> str:
    if kind not in RecordKind.values:
        raise ValueError(f"unknown record kind {kind!r}")
    return str(kind)


def _record_id(record: TenantModel | int) -> int:
    return record if isinstance(record, int) else int(record.pk)


def _user_name(user: User | None) -> str:
    return (user.display_name or user.email)[:200] if user is not None else ""


def _plain(value: Any) -> Any:
    """A JSON-ready display form of one value (None stays None: "empty")."""
    if value is None or value == "" or value == [] or value == {}:
        return None
    if isinstance(value, User):
        return _user_name(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def _changes(changes: Mapping[str, Sequence[Any]] | None) -> dict[str, list[Any]]:
    return {str(k): [_plain(v[0]), _plain(v[1])] for k, v in (changes or {}).items()}


def _entry(
    *,
    org_id: int,
    actor: Membership | None,
    kind: str,
    record: TenantModel | int,
    action: str,
    changes: Mapping[str, Sequence[Any]] | None,
    ip: str | None,
) -> CustomerHistory:
    if action not in HistoryAction.values:
        raise ValueError(f"unknown history action {action!r}")
    user = actor.user if actor is not None else None
    return CustomerHistory(
        org_id=org_id,
        kind=_kind(kind),
        record_id=_record_id(record),
        actor=user,
        actor_name=_user_name(user),
        ip_address=ip or None,
        action=action,
        changes=_changes(changes),
    )


def history_add(
    actor: Membership | None,
    kind: str,
    record: TenantModel | int,
    action: str,
    changes: Mapping[str, Sequence[Any]] | None = None,
    ip: str | None = None,
    *,
    org: Organization | None = None,
) -> CustomerHistory:
    """Write one history entry of a contact or account (`kind`: RecordKind, "contact" or
    "account"; `record`: the record or its id; `action`: a HistoryAction; `changes`:
    {field: (before, after)} as a reader should see them; `ip`: `helpdesk.http.client_ip`).

    For the services of the customers pages (notes, files, import), inside their own
    transaction and after their own permission check. `actor` None (a channel or the system
    acting) needs `org`."""
    if actor is not None:
        org = actor.org
        if isinstance(record, TenantModel):
            ensure_same_org(org, record)
    if org is None:
        raise ValueError("history_add needs an actor or an organization")
    entry = _entry(
        org_id=org.pk,
        actor=actor,
        kind=kind,
        record=record,
        action=action,
        changes=changes,
        ip=ip,
    )
    entry.save()
    return entry


def history_add_bulk(
    actor: Membership,
    kind: str,
    records: Iterable[TenantModel | int],
    action: str,
    changes: Sequence[Mapping[str, Sequence[Any]] | None] | None = None,
    ip: str | None = None,
) -> list[CustomerHistory]:
    """One entry per record in one INSERT (the importer: `action` "imported"); `changes`,
    when given, is parallel to `records`. Records given as objects must be of `actor.org`."""
    records = list(records)
    objects = [r for r in records if isinstance(r, TenantModel)]
    if objects:
        ensure_same_org(actor.org, *objects)
    if changes is not None and len(changes) != len(records):
        raise ValueError("changes must be parallel to records")
    entries = [
        _entry(
            org_id=actor.org.pk,
            actor=actor,
            kind=kind,
            record=record,
            action=action,
            changes=changes[i] if changes is not None else None,
            ip=ip,
        )
        for i, record in enumerate(records)
    ]
    return CustomerHistory.objects.bulk_create(entries, batch_size=1000)


def _display(org: Organization, field: str, value: Any) -> Any:
    """What a reader sees for a stored column value (ids of the account and owner become
    their names)."""
    if value in (None, ""):
        return None
    if field == "owner":
        return _user_name(User.objects.filter(pk=value).first()) or f"#{value}"
    if field == "account":
        account = Account.objects.for_org(org).filter(pk=value).only("name").first()
        return account.name if account is not None else f"#{value}"
    return value


def _diff(
    org: Organization,
    stored: Mapping[str, Any],
    record: TenantModel,
    fields: Sequence[str],
) -> dict[str, list[Any]]:
    """{field: [before, after]} of the tracked columns that changed (foreign keys by id)."""
    changed: dict[str, list[Any]] = {}
    for field in fields:
        column = field + "_id" if field in ("account", "owner") else field
        before, after = stored.get(field), getattr(record, column)
        if (before or None) != (after or None):
            changed[field] = [_display(org, field, before), _display(org, field, after)]
    return changed


# --- Tags (one tagging model with tickets) ---------------------------------------------------
TAG_MAX_LENGTH: int = Tag._meta.get_field("name").max_length or 50
TAGS_PER_RECORD = 30
TAG_SUGGESTIONS = 10


def tag_clean_name(name: str) -> str:
    """A tag's name as stored: trimmed, inner whitespace collapsed; refused when empty, too
    long or holding a comma (commas separate tags where people type several)."""
    cleaned = " ".join((name or "").split())
    if not cleaned:
        raise ValidationError({"tag": _("Enter a tag.")})
    if len(cleaned) > TAG_MAX_LENGTH:
        raise ValidationError(
            {"tag": _("A tag has at most %(count)d characters.") % {"count": TAG_MAX_LENGTH}}
        )
    if "," in cleaned:
        raise ValidationError({"tag": _("A tag cannot contain a comma.")})
    return cleaned


def tag_names_clean(names: str | Iterable[str]) -> list[str]:
    """Tag names typed for one record ("a, b" or a list): each cleaned as `tag_clean_name`,
    blanks skipped, a repeat in another case dropped (the first spelling kept), at most
    TAGS_PER_RECORD. Problems are raised keyed "tags"."""
    if isinstance(names, str):
        names = names.split(",")
    kept: dict[str, str] = {}
    for raw in names:
        if not (raw or "").strip():
            continue
        try:
            name = tag_clean_name(raw)
        except ValidationError as exc:
            raise ValidationError({"tags": exc.message_dict["tag"]}) from exc
        kept.setdefault(name.lower(), name)
    if len(kept) > TAGS_PER_RECORD:
        raise ValidationError(
            {"tags": _("Use at most %(count)d tags.") % {"count": TAGS_PER_RECORD}}
        )
    return list(kept.values())


def tag_get_or_create(org: Organization, name: str) -> Tag:
    """The tag of `org` named `name` in any case, or a new one (`name` already cleaned by
    `tag_clean_name`). Safe against a concurrent creation of the same name."""
    tag = Tag.objects.for_org(org).filter(name__iexact=name).first()
    if tag is not None:
        return tag
    try:
        with transaction.atomic():  # a concurrent creator of the same name wins; use theirs
            return Tag.objects.create(org=org, name=name)
    except IntegrityError:
        return Tag.objects.for_org(org).get(name__iexact=name)


def tags_suggest(*, org: Organization, prefix: str) -> list[str]:
    """Up to TAG_SUGGESTIONS tag names starting with `prefix` (any case), alphabetical."""
    prefix = " ".join((prefix or "").split())[:TAG_MAX_LENGTH]
    qs = Tag.objects.for_org(org)
    if prefix:
        qs = qs.filter(name__istartswith=prefix)
    return list(qs.order_by(Lower("name"), "pk").values_list("name", flat=True)[:TAG_SUGGESTIONS])


def _set_tags(
    actor: Membership,
    record: Contact | Account,
    names: list[str],
    ip: str | None,
) -> list[str]:
    """Make the record's tags exactly `names` (cleaned); one history entry for the tags added
    and one for those removed. Returns the names, sorted."""
    org = actor.org
    kind = KINDS[type(record)]
    link_model, field = (
        (ContactTag, "contact") if kind == RecordKind.CONTACT else (AccountTag, "account")
    )
    links = link_model.objects.for_org(org).filter(**{field: record}).select_related("tag")
    current = {link.tag.name.lower(): link for link in links}
    wanted = {name.lower(): name for name in names}
    removed = [link for key, link in current.items() if key not in wanted]
    added = [tag_get_or_create(org, name) for key, name in wanted.items() if key not in current]
    if removed:
        link_model.objects.for_org(org).filter(pk__in=[link.pk for link in removed]).delete()
        history_add(
            actor,
            kind,
            record,
            HistoryAction.UNTAGGED,
            {"tags": [sorted((link.tag.name for link in removed), key=str.lower), None]},
            ip,
        )
    if added:
        link_model.objects.bulk_create(
            [link_model(org=org, tag=tag, **{field: record}) for tag in added],
            ignore_conflicts=True,
        )
        history_add(
            actor,
            kind,
            record,
            HistoryAction.TAGGED,
            {"tags": [None, sorted((tag.name for tag in added), key=str.lower)]},
            ip,
        )
    kept = [link.tag.name for key, link in current.items() if key in wanted]
    return sorted([*kept, *(tag.name for tag in added)], key=str.lower)


@transaction.atomic
def contact_set_tags(
    *, actor: Membership, contact: Contact, names: str | Iterable[str], ip: str | None = None
) -> list[str]:
    """Set the contact's tags to `names` ("a, b" or a list; new names make new tags shared
    with tickets, an existing name in another case reuses its tag). Returns the names."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, contact)
    return _set_tags(actor, contact, tag_names_clean(names), ip)


@transaction.atomic
def account_set_tags(
    *, actor: Membership, account: Account, names: str | Iterable[str], ip: str | None = None
) -> list[str]:
    """Set the account's tags to `names` (as `contact_set_tags`)."""
    ensure_can(actor, "edit")
    ensure_same_org(actor.org, account)
    return _set_tags(actor, account, tag_names_clean(names), ip)


# --- Custom fields of contacts and accounts ----------------------------------------------------
CF_PREFIX = "cf_"


def customer_fields(org: Organization, module: str, *, active_only: bool = True):
    """The organization's field definitions for contacts or accounts, in their order."""
    fields = CustomerField.objects.for_org(org).filter(module=_kind(module))
    if active_only:
        fields = fields.filter(is_active=True)
    return fields.order_by("order", "pk")


def _custom_values(
    org: Organization,
    module: str,
    stored: Mapping[str, Any],
    values: Mapping[str, Any],
    definitions: list[CustomerField],
) -> dict[str, Any]:
    """The record's new custom values: `values` (raw, by key; a missing key empties the
    field) checked against the active definitions; values of inactive fields are kept.
    Errors are keyed `cf_<key>`, the form fields' names."""
    try:
        cleaned = validate_custom_values(
            definitions,
            values,
            unknown_message=_("There is no such field for these records."),
        )
    except ValidationError as exc:
        raise ValidationError({f"{CF_PREFIX}{k}": v for k, v in exc.message_dict.items()}) from exc
    active = {d.key for d in definitions}
    result = {k: v for k, v in stored.items() if k not in active}
    result.update({k: v for k, v in cleaned.items() if v is not None})
    return result


def _custom_diff(
    definitions: list[CustomerField], before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, list[Any]]:
    changed: dict[str, list[Any]] = {}
    for definition in definitions:
        old, new = before.get(definition.key), after.get(definition.key)
        if old != new:
            changed[f"{CF_PREFIX}{definition.key}"] = [
                None if old is None else display_value(definition, old),
                None if new is None else display_value(definition, new),
            ]
    return changed


def _field_key(label: str) -> str:
    return slugify(label).replace("-", "_")[:60]


@transaction.atomic
def customer_field_save(*, actor: Membership, field: CustomerField) -> CustomerField:
    """Create or update a contact or account field (Desk administrators).

    The key is made from the label when blank and never changes afterwards (values are stored
    under it). The type of a field that has values stays as it is unless every stored value
    converts cleanly to the new type: no value is ever lost or left unreadable."""
    ensure_can(actor, "configure")
    org = actor.org
    stored = _stored(CustomerField, org, field, "key", "module", "type")
    field.org = org
    field.label = " ".join((field.label or "").split())
    if isinstance(field.choices, str):
        field.choices = field.choices.splitlines()
    field.choices = list(dict.fromkeys(c.strip() for c in field.choices or [] if c.strip()))
    errors: dict[str, Any] = {}
    if stored:
        field.key, field.module = stored["key"], stored["module"]
    else:
        field.key = (field.key or "").strip() or _field_key(field.label)
        if not field.key:
            errors["key"] = _("Enter a key of letters, digits and underscores.")
    if field.type == FieldType.PICKLIST and not field.choices:
        errors["choices"] = _("Enter the values of the pick list, one a line.")
    if field.type != FieldType.PICKLIST:
        field.choices = []
    try:
        field.full_clean(exclude=["org", "order"])
    except ValidationError as exc:
        errors.update({k: v for k, v in exc.message_dict.items() if k not in errors})
    if not stored and field.key and "key" not in errors:
        clash = customer_fields(org, field.module, active_only=False).filter(key=field.key)
        if clash.exists():
            errors["key"] = _("Another field of these records has the key %(key)s.") % {
                "key": field.key
            }
    if not errors and stored and field.type != stored["type"]:
        problem = _type_change_problem(org, field)
        if problem:
            errors["type"] = problem
    if errors:
        raise ValidationError(errors)
    if not stored:
        last = customer_fields(org, field.module, active_only=False).aggregate(m=Max("order"))
        field.order = (last["m"] or 0) + 1
    field.save()
    return field


def _type_change_problem(org: Organization, field: CustomerField) -> str:
    """Why the stored values of `field` cannot take its new type ("" when they all can, in
    which case they are rewritten in the new type's form)."""
    model = Contact if field.module == RecordKind.CONTACT else Account
    records = list(
        model.objects.for_org(org)
        .filter(custom_fields__has_key=field.key)
        .select_for_update()
        .only("pk", "custom_fields")
    )
    textual = field.type in (FieldType.TEXT, FieldType.TEXTAREA)
    converted, refused = [], []
    for record in records:
        value = record.custom_fields[field.key]
        raw = str(value) if textual and not isinstance(value, str) else value
        try:
            new = clean_value(field, raw)
        except ValidationError:
            new = None
        if new is None and value not in (None, ""):
            refused.append(value)
        converted.append((record, new))
    if refused:
        return _(
            "%(count)d records have values that are not a valid %(type)s (for example "
            "“%(value)s”), so the type stays as it is. Add a new field instead, or correct "
            "those values first."
        ) % {"count": len(refused), "type": FieldType(field.type).label, "value": refused[0]}
    for record, new in converted:
        record.custom_fields[field.key] = new
        model.objects.for_org(org).filter(pk=record.pk).update(custom_fields=record.custom_fields)
    return ""


@transaction.atomic
def customer_fields_reorder(*, actor: Membership, module: str, keys: Sequence[int]) -> None:
    """Put the fields of `module` in the order of the ids `keys` (others keep theirs, after)."""
    ensure_can(actor, "configure")
    fields = {f.pk: f for f in customer_fields(actor.org, module, active_only=False)}
    order = [pk for pk in keys if pk in fields] + [pk for pk in fields if pk not in keys]
    for position, pk in enumerate(order, start=1):
        if fields[pk].order != position:
            fields[pk].order = position
            fields[pk].save(update_fields=["order"])


@transaction.atomic
def customer_field_set_active(
    *, actor: Membership, field: CustomerField, active: bool
) -> CustomerField:
    """Hide a field from the forms (its values stay stored) or show it again."""
    ensure_can(actor, "configure")
    ensure_same_org(actor.org, field)
    field.is_active = active
    field.save(update_fields=["is_active"])
    return field


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


@transaction.atomic
def contact_get_or_create_by_email(
    *, org: Organization, email: str, name: str = "", ip: str | None = None
) -> tuple[Contact, bool]:
    """The contact of `org` whose email, else whose secondary email, is `email`
    (case-insensitively; the oldest if imports made several), or a new one named `name` (the
    address's local part when blank). Returns (contact, created).

    The one way a channel (the ticket form, later mail, chat, the CRM sync) finds its
    contact: an advisory lock on the address, shared with `contact_save`, is held until the
    caller's transaction ends, so two creations from a new address at once make one contact.
    Takes no actor: the caller's own service has checked who may create the ticket (the
    history entry of a new contact names no one)."""
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


# --- Products ------------------------------------------------------------------------------
@transaction.atomic
def product_save(*, actor: Membership, product: Product) -> Product:
    """Create or update a product of the catalogue (Desk administrators). Codes are unique
    per organization, case-insensitively; a blank code is allowed for any number."""
    ensure_can(actor, "configure")
    org = actor.org
    stored = _stored(Product, org, product, *PRODUCT_TRACKED)
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
    _changed("product", product, stored, PRODUCT_TRACKED)
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


def _product_link(
    actor: Membership,
    record: Contact | Account,
    product: Product,
    ip: str | None,
    *,
    link: bool,
) -> bool:
    """Link or unlink one product of a contact or account; a history entry when something
    changed. Returns whether it did."""
    org = actor.org
    ensure_same_org(org, record)
    kind = KINDS[type(record)]
    model, field = (
        (ContactProduct, "contact") if kind == RecordKind.CONTACT else (AccountProduct, "account")
    )
    if link:
        _linkable(org, product)
        links = model.objects.for_org(org).filter(product=product, **{field: record})
        changed = not links.exists()
        if changed:
            model.objects.bulk_create(
                [model(org=org, product=product, **{field: record})], ignore_conflicts=True
            )
    else:
        ensure_same_org(org, product)
        changed = bool(
            model.objects.for_org(org).filter(product=product, **{field: record}).delete()[0]
        )
    if changed:
        history_add(
            actor,
            kind,
            record,
            HistoryAction.PRODUCT_LINKED if link else HistoryAction.PRODUCT_UNLINKED,
            {"products": [None, str(product)] if link else [str(product), None]},
            ip,
        )
    return changed


@transaction.atomic
def contact_product_link(
    *, actor: Membership, contact: Contact, product: Product, ip: str | None = None
) -> None:
    """Link a product to a contact. Idempotent."""
    ensure_can(actor, "edit")
    _product_link(actor, contact, product, ip, link=True)


@transaction.atomic
def contact_product_unlink(
    *, actor: Membership, contact: Contact, product: Product, ip: str | None = None
) -> None:
    """Remove a product link from a contact. Idempotent."""
    ensure_can(actor, "edit")
    _product_link(actor, contact, product, ip, link=False)


@transaction.atomic
def account_product_link(
    *, actor: Membership, account: Account, product: Product, ip: str | None = None
) -> None:
    """Link a product to an account. Idempotent."""
    ensure_can(actor, "edit")
    _product_link(actor, account, product, ip, link=True)


@transaction.atomic
def account_product_unlink(
    *, actor: Membership, account: Account, product: Product, ip: str | None = None
) -> None:
    """Remove a product link from an account. Idempotent."""
    ensure_can(actor, "edit")
    _product_link(actor, account, product, ip, link=False)


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


# --- Bulk creation (the CRM sync's initial sync, CRM-04) -------------------------------------
BULK_FIELDS: dict[str, tuple[str, ...]] = {
    RecordKind.CONTACT: (
        *("first_name", "last_name", "email", "secondary_email", "phone", "mobile", "title"),
        "description",
    ),
    RecordKind.ACCOUNT: ("name", "website", "phone", "description"),
}


@transaction.atomic
def records_create_bulk(
    *, actor: Membership, kind: str, rows: Sequence[Mapping[str, Any]]
) -> list[int]:
    """Create many contacts or accounts at once (`rows`: values of BULK_FIELDS), each with an
    "added" history entry; their ids, in order. All or nothing: a row that is not valid, an
    email (contacts) or a name (accounts) already in the organization or twice in `rows` is
    refused with a ValidationError naming it, and nothing is written. Change listeners are not
    called (the caller is the sync that made the rows)."""
    ensure_can(actor, "edit")
    org = actor.org
    model: type[Contact] | type[Account] = Contact if kind == RecordKind.CONTACT else Account
    names = BULK_FIELDS[_kind(kind)]
    records = []
    for row in rows:
        record = model(org=org, **{f: row.get(f) or "" for f in names})
        for f in ("email", "secondary_email"):
            if hasattr(record, f):
                setattr(record, f, _email(getattr(record, f)))
        records.append(record)
    if kind == RecordKind.CONTACT:
        keys = [e for r in records for e in (r.email, getattr(r, "secondary_email", "")) if e]
        if len(keys) != len(set(keys)):
            raise ValidationError(_("An email is given twice."))
        taken = (
            Contact.objects.for_org(org)
            .annotate(e1=Lower("email"), e2=Lower("secondary_email"))
            .filter(Q(e1__in=keys) | Q(e2__in=keys))
            .values_list("e1", "e2")
            .first()
        )
        if taken is not None:
            email = taken[0] if taken[0] in keys else taken[1]
            raise ValidationError(_("%(email)s already belongs to a contact.") % {"email": email})
    else:
        keys = [r.name.strip().lower() for r in records]
        if len(keys) != len(set(keys)):
            raise ValidationError(_("An account name is given twice."))
        taken = (
            Account.objects.for_org(org)
            .annotate(n=Lower("name"))
            .filter(n__in=keys)
            .values_list("name", flat=True)
            .first()
        )
        if taken is not None:
            raise ValidationError(
                _("An account named “%(name)s” already exists.") % {"name": taken}
            )
    for record in records:
        record.full_clean(exclude=["org"], validate_unique=False, validate_constraints=False)
    made = model.objects.bulk_create(records, batch_size=2000)
    pks = [int(r.pk) for r in made]
    history_add_bulk(actor, kind, pks, HistoryAction.ADDED)
    return pks
