"""Chat departments (CHAT-01, CHAT-03..CHAT-06): create, edit one setting at a time, operators,
email settings, embed key, disable and delete.

Every service takes the acting membership, checks that it may configure chat in its own
organization and that every object it is handed belongs there, and changes all or nothing."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.tenancy import rls
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization, User

from .. import selectors
from ..models import (
    ChatDepartment,
    ChatOperator,
    EmailKind,
    EmailSetting,
    Visibility,
    new_embed_key,
)
from .access import ensure_can_configure

MAX_ADDRESSES = 20


# --- Creating ----------------------------------------------------------------------------------
@transaction.atomic
def department_create(
    *,
    actor: Membership,
    name: str,
    description: str = "",
    visibility: str = Visibility.PUBLIC,
    operators: list[User] | tuple[User, ...] = (),
) -> ChatDepartment:
    """A new department with its operators (chat members of the actor's organization) and
    its email settings, all off."""
    ensure_can_configure(actor)
    org = actor.org
    department = ChatDepartment(
        org=org,
        name=(name or "").strip(),
        description=(description or "").strip(),
        visibility=visibility,
    )
    _validate(org, department)
    for user in operators:
        _ensure_chat_member(org, user)
    _save(department)
    ChatOperator.objects.bulk_create(
        ChatOperator(org=org, department=department, user=user) for user in operators
    )
    EmailSetting.objects.bulk_create(
        EmailSetting(org=org, department=department, kind=kind) for kind in EmailKind.values
    )
    return department


def default_department_on_signup(membership: Membership) -> None:
    """CHAT-01: sign-up makes a department named after the portal, the new account admin its
    operator (registered with tenancy's `organization_created_listen`)."""
    default_department_ensure(org=membership.org, user=membership.user)


@transaction.atomic
def default_department_ensure(*, org: Organization, user: User) -> ChatDepartment | None:
    """The default department of an organization that has none yet (sign-up, the demo data):
    named after the portal, with `user` (a member) as operator. Idempotent: an organization
    with any chat department is left alone and gets None."""
    with rls.tenant_scope(org.id):
        if ChatDepartment.objects.for_org(org).exists():
            return None
        department = ChatDepartment.objects.create(
            org=org, name=org.portal, description=_("Default chat department")
        )
        ChatOperator.objects.create(org=org, department=department, user=user)
        EmailSetting.objects.bulk_create(
            EmailSetting(org=org, department=department, kind=kind) for kind in EmailKind.values
        )
    return department


# --- Editing one setting at a time (CHAT-05) ---------------------------------------------------
@transaction.atomic
def department_update(
    *,
    actor: Membership,
    department: ChatDepartment,
    name: str | None = None,
    description: str | None = None,
    visibility: str | None = None,
    name_required: bool | None = None,
    email_required: bool | None = None,
    missed_after_seconds: int | None = None,
) -> ChatDepartment:
    """Change the given settings (None: unchanged). Invalid input changes nothing.
    `name_required` and `email_required`: what the widget asks of visitors (CHAT-07)."""
    ensure_can_configure(actor)
    ensure_same_org(actor.org, department)
    department = _locked(actor.org, department)
    if name is not None:
        department.name = name.strip()
    if description is not None:
        department.description = description.strip()
    if visibility is not None:
        department.visibility = visibility
    if name_required is not None:
        department.name_required = name_required
    if email_required is not None:
        department.email_required = email_required
    if missed_after_seconds is not None:  # issue 15: when a waiting chat becomes missed
        department.missed_after_seconds = missed_after_seconds
    _validate(actor.org, department)
    _save(department)
    return department


@transaction.atomic
def department_set_enabled(
    *, actor: Membership, department: ChatDepartment, enabled: bool
) -> ChatDepartment:
    """Enable or disable (CHAT-06). Disabling is refused while chats are in progress."""
    ensure_can_configure(actor)
    ensure_same_org(actor.org, department)
    department = _locked(actor.org, department)
    if department.is_enabled == enabled:
        return department
    if not enabled:
        _ensure_no_chats_in_progress(actor.org, department, _disable_refusal)
    department.is_enabled = enabled
    department.save(update_fields=["is_enabled", "updated_at"])
    return department


@transaction.atomic
def embed_key_regenerate(*, actor: Membership, department: ChatDepartment) -> ChatDepartment:
    """A new embed key: pages that embed the old code stop showing the widget (CHAT-02)."""
    ensure_can_configure(actor)
    ensure_same_org(actor.org, department)
    department = _locked(actor.org, department)
    department.embed_key = new_embed_key()
    department.save(update_fields=["embed_key", "updated_at"])
    return department


# --- Operators (CHAT-03) -----------------------------------------------------------------------
@transaction.atomic
def operator_add(*, actor: Membership, department: ChatDepartment, user: User) -> None:
    """Make `user` (an active member with Chat access) an operator. Idempotent."""
    ensure_can_configure(actor)
    ensure_same_org(actor.org, department)
    _ensure_chat_member(actor.org, user)
    ChatOperator.objects.get_or_create(org=actor.org, department=department, user=user)


@transaction.atomic
def operator_remove(*, actor: Membership, department: ChatDepartment, user: User) -> None:
    """`user` stops being an operator of the department. Idempotent."""
    ensure_can_configure(actor)
    ensure_same_org(actor.org, department)
    ChatOperator.objects.for_org(actor.org).filter(department=department, user=user).delete()


# --- Email settings (CHAT-04) ------------------------------------------------------------------
def addresses_parse(text: str, *, single: bool = False) -> list[str]:
    """Comma-separated addresses, each validated on its own: the error names every address
    that is not valid. Normalised (trimmed, lower-case domain), without duplicates."""
    parts = [p.strip() for p in (text or "").replace("\n", ",").replace(";", ",").split(",")]
    parts = [p for p in parts if p]
    errors: list[str] = []
    addresses: list[str] = []
    for part in parts:
        try:
            validate_email(part)
        except ValidationError:
            errors.append(
                _("“%(address)s” is not a valid email address.") % {"address": part[:254]}
            )
            continue
        local, _at, domain = part.rpartition("@")
        address = f"{local}@{domain.lower()}"
        if address.lower() not in (a.lower() for a in addresses):
            addresses.append(address)
    if errors:
        raise ValidationError(errors, code="invalid")
    if single and len(addresses) > 1:
        raise ValidationError(_("Enter one address only."), code="single")
    if len(addresses) > MAX_ADDRESSES:
        raise ValidationError(
            _("Enter at most %(max)d addresses.") % {"max": MAX_ADDRESSES}, code="too_many"
        )
    return addresses


@transaction.atomic
def email_setting_update(
    *,
    actor: Membership,
    department: ChatDepartment,
    kind: str,
    enabled: bool,
    addresses: str,
) -> EmailSetting:
    """Turn one email setting on or off and set its addresses (the from address takes one).
    A setting that is on needs at least one address. Invalid input changes nothing."""
    ensure_can_configure(actor)
    ensure_same_org(actor.org, department)
    if kind not in EmailKind.values:
        raise ValidationError({"kind": _("Choose a valid email setting.")})
    try:
        parsed = addresses_parse(addresses, single=kind == EmailKind.FROM_ADDRESS)
    except ValidationError as exc:
        raise ValidationError({"addresses": exc.messages}) from exc
    if enabled and not parsed:
        raise ValidationError({"addresses": _("Enter an address to turn this on.")})
    setting, _created = EmailSetting.objects.select_for_update().get_or_create(
        org=actor.org, department=department, kind=kind
    )
    setting.is_enabled, setting.addresses = enabled, parsed
    setting.save(update_fields=["is_enabled", "addresses", "updated_at"])
    return setting


# --- Deleting (CHAT-06) ------------------------------------------------------------------------
def delete_refusal(org: Organization, department: ChatDepartment) -> str:
    """Why the department cannot be deleted now, or "" if it can."""
    live = selectors.chats_in_progress(org, department)
    if live:
        return _delete_refusal(live)
    if not ChatDepartment.objects.for_org(org).exclude(pk=department.pk).exists():
        return _("An organization keeps at least one chat department: add another one first.")
    return ""


@transaction.atomic
def department_delete(*, actor: Membership, department: ChatDepartment) -> None:
    """Delete the department, its operators and email settings; its past chats stay without
    a department. Refused while chats are in progress, or for the last department."""
    ensure_can_configure(actor)
    ensure_same_org(actor.org, department)
    department = _locked(actor.org, department)
    reason = delete_refusal(actor.org, department)
    if reason:
        raise ValidationError(reason, code="refused")
    department.delete()


# --- Helpers -----------------------------------------------------------------------------------
def _delete_refusal(count: int) -> str:
    return ngettext(
        "%(count)d chat is in progress in this department (waiting or live). It can be "
        "deleted once that chat has ended.",
        "%(count)d chats are in progress in this department (waiting or live). It can be "
        "deleted once they have ended.",
        count,
    ) % {"count": count}


def _disable_refusal(count: int) -> str:
    return ngettext(
        "%(count)d chat is in progress in this department (waiting or live). It can be "
        "disabled once that chat has ended.",
        "%(count)d chats are in progress in this department (waiting or live). It can be "
        "disabled once they have ended.",
        count,
    ) % {"count": count}


def _ensure_no_chats_in_progress(org: Organization, department: ChatDepartment, message) -> None:
    live = selectors.chats_in_progress(org, department)
    if live:
        raise ValidationError(message(live), code="in_progress")


def _locked(org: Organization, department: ChatDepartment) -> ChatDepartment:
    """The department's row, locked for the rest of the transaction."""
    return ChatDepartment.objects.for_org(org).select_for_update().get(pk=department.pk)


def _validate(org: Organization, department: ChatDepartment) -> None:
    """Field checks and the name's uniqueness (case-insensitive), as field errors."""
    if not department.name:
        raise ValidationError({"name": _("Enter a name.")})
    department.full_clean(exclude=["org"], validate_constraints=False)
    if (
        ChatDepartment.objects.for_org(org)
        .filter(name__iexact=department.name)
        .exclude(pk=department.pk)
        .exists()
    ):
        raise ValidationError({"name": _duplicate(department.name)})


def _duplicate(name: str) -> str:
    return _("A chat department named “%(name)s” already exists.") % {"name": name}


def _save(department: ChatDepartment) -> None:
    """Save; two people choosing the same name at once: one wins, the other gets the error."""
    try:
        with transaction.atomic():
            department.save()
    except IntegrityError as exc:
        raise ValidationError({"name": _duplicate(department.name)}) from exc


def _ensure_chat_member(org: Organization, user: User) -> None:
    if not selectors.chat_members(org).filter(user=user).exists():
        raise ValidationError(
            {
                "operators": _("%(name)s does not have access to Chat in this organization.")
                % {"name": user.display_name}
            }
        )
