"""Tags of contacts and accounts: one tagging model, shared with tickets."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization

from ..models import (
    Account,
    AccountTag,
    Contact,
    ContactTag,
    HistoryAction,
    RecordKind,
    Tag,
)
from .common import ensure_can
from .history import KINDS, history_add

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
