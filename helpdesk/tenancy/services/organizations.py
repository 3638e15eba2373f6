"""Organizations: sign-up, portal names, details, plans and the account admin (ORG-02, ORG-05,
ORG-07)."""

from __future__ import annotations

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from .. import rls
from ..guards import ensure_same_org
from ..models import (
    AdminLevel,
    ChatRole,
    CrmRole,
    Department,
    DepartmentAgent,
    DeskRole,
    Membership,
    Organization,
    Plan,
    PortalAlias,
    User,
)
from ..permissions import Power, ensure_power


def portal_validate(portal: str, *, org: Organization | None = None) -> str:
    """A normalised portal name that is well-formed, not reserved and free (aliases count:
    an old name keeps redirecting to its organization, so nobody else may take it)."""
    portal = (portal or "").strip().lower()
    field = Organization._meta.get_field("portal")
    field.run_validators(portal)
    taken = Organization.objects.filter(portal=portal)
    aliases = PortalAlias.objects.filter(name=portal)
    if org is not None:
        taken = taken.exclude(pk=org.pk)
        aliases = aliases.exclude(org=org)
    if taken.exists() or aliases.exists():
        raise ValidationError(
            _("The portal name “%(name)s” is already taken.") % {"name": portal}, code="taken"
        )
    return portal


# Apps above tenancy that set themselves up in a new organization (chat's default department,
# CHAT-01) register here in their AppConfig.ready: tenancy never imports them.
_created_listeners: list[Callable[[Membership], None]] = []


def organization_created_listen(listener: Callable[[Membership], None]) -> None:
    """Call `listener(membership)` for every new organization, inside `organization_create`'s
    transaction and the new organization's row-level-security scope, once the account admin's
    membership exists. Registering the same function twice keeps one."""
    if listener not in _created_listeners:
        _created_listeners.append(listener)


@transaction.atomic
def organization_create(
    *,
    user: User,
    name: str,
    portal: str,
    time_zone: str = "Asia/Tokyo",
) -> Membership:
    """A new organization with `user` as its account admin, every app enabled for them, and a
    default department named after the portal, not the display name (ORG-02, seed 004)."""
    try:
        portal = portal_validate(portal)
    except ValidationError as exc:
        raise ValidationError({"portal": exc.messages}) from exc
    org = Organization(name=name.strip(), portal=portal, plan=Plan.TRIAL, time_zone=time_zone)
    org.full_clean()
    org.save()
    # The new organization's own rows are written under its row-level-security scope.
    with rls.tenant_scope(org.id):
        membership = Membership.objects.create(
            org=org,
            user=user,
            status=Membership.Status.ACTIVE,
            admin_level=AdminLevel.ACCOUNT,
            desk_role=DeskRole.ADMIN,
            crm_role=CrmRole.ADMIN,
            chat_role=ChatRole.SUPERVISOR,
        )
        department = Department.objects.create(
            org=org, name=org.portal, time_zone=time_zone, description=_("Default department")
        )
        DepartmentAgent.objects.create(org=org, department=department, user=user)
        # Its layout (statuses) is made by tickets on first use: tenancy never calls up.
        for listener in _created_listeners:
            listener(membership)
    return membership


@transaction.atomic
def organization_signup(
    *, org_name: str, portal: str, full_name: str, email: str, password: str, language: str = "ja"
) -> Membership:
    """Sign-up of a new person with a new organization. All or nothing."""
    email = User.objects.normalize_email(email).strip().lower()
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError(
            {
                "email": _(
                    "An account with this email address already exists. Log in to create another "
                    "organization with it."
                )
            }
        )
    user = User(email=email, full_name=full_name.strip(), language=language)
    user.set_password(password)
    user.full_clean()
    user.save()
    return organization_create(user=user, name=org_name, portal=portal)


@transaction.atomic
def organization_update_details(
    *,
    actor: Membership,
    name: str,
    time_zone: str,
    phone: str = "",
    website: str = "",
    address: str = "",
) -> Organization:
    """Change the actor's organization's details (account admin only, seed 002). All or
    nothing: an invalid value leaves every field as it was."""
    ensure_power(actor, Power.UPDATE_DETAILS)
    org = actor.org
    before = {f: getattr(org, f) for f in ("name", "time_zone", "phone", "website", "address")}
    org.name, org.time_zone = name.strip(), time_zone
    org.phone, org.website, org.address = phone.strip(), website.strip(), address.strip()
    try:
        org.full_clean()
    except ValidationError:
        for field, value in before.items():
            setattr(org, field, value)
        raise
    org.save(update_fields=list(before))
    return org


@transaction.atomic
def organization_change_portal(
    *,
    actor: Membership,
    org: Organization,
    portal: str,
) -> Organization:
    """Rename the portal; the old name stays as an alias that redirects (ORG-05)."""
    ensure_power(actor, Power.CHANGE_PORTAL)
    ensure_same_org(org, actor)
    try:
        portal = portal_validate(portal, org=org)
    except ValidationError as exc:
        raise ValidationError({"portal": exc.messages}) from exc
    if portal == org.portal:
        return org
    old = org.portal
    PortalAlias.objects.filter(org=org, name=portal).delete()  # taking back an old name
    PortalAlias.objects.create(org=org, name=old)
    org.portal = portal
    org.save(update_fields=["portal"])
    return org


@transaction.atomic
def organization_change_plan(*, actor: Membership, org: Organization, plan: str) -> Organization:
    """Change the plan: the account admin or a suite admin (seed 002). Refused when the
    organization has more users than the plan allows."""
    ensure_power(actor, Power.CHANGE_PLAN)
    ensure_same_org(org, actor)
    if plan not in Plan.values:
        raise ValidationError({"plan": _("Choose a valid plan.")})
    _lock(org)  # seats cannot be taken while we count them
    limit = Organization(plan=plan).limit("users")
    seats = seats_used(org)
    if limit is not None and seats > limit:
        raise ValidationError(
            {
                "plan": _(
                    "The %(plan)s plan allows at most %(limit)d users and you have %(count)d. "
                    "Deactivate or delete users first."
                )
                % {"plan": Plan(plan).label, "limit": limit, "count": seats}
            }
        )
    org.plan = plan
    org.save(update_fields=["plan"])
    return org


@transaction.atomic
def organization_transfer_account_admin(*, actor: Membership, target: Membership) -> Membership:
    """Hand the account admin role to another active member; the previous one stays a suite
    admin."""
    ensure_power(actor, Power.HAND_OVER_ACCOUNT_ADMIN)
    ensure_same_org(actor.org, target)
    if target.pk == actor.pk:
        raise ValidationError(_("Choose another active user of this organization."))
    if target.status != Membership.Status.ACTIVE:
        raise ValidationError(_("Only an active user can become the account administrator."))
    actor.admin_level = AdminLevel.SUITE
    actor.save(update_fields=["admin_level"])
    target.admin_level = AdminLevel.ACCOUNT
    target.admin_app = ""
    target.save(update_fields=["admin_level", "admin_app"])
    return target


def _lock(org: Organization) -> None:
    """Lock the organization's row for the rest of the transaction, without reading it again."""
    list(Organization.objects.select_for_update().filter(pk=org.pk).values_list("pk"))


def seats_used(org: Organization) -> int:
    """Users that count against the plan: active and invited ones (deactivated do not)."""
    return Membership.objects.for_org(org).exclude(status=Membership.Status.DEACTIVATED).count()


def ensure_seat_available(org: Organization) -> None:
    """Call inside a transaction: locks the organization row so two invitations cannot both
    take the last seat."""
    _lock(org)
    limit = org.limit("users")
    if limit is not None and seats_used(org) >= limit:
        raise ValidationError(
            _(
                "Your %(plan)s plan allows at most %(limit)d users. Upgrade to Professional or "
                "Enterprise, or deactivate a user, to add more."
            )
            % {"plan": org.get_plan_display(), "limit": limit}
        )
