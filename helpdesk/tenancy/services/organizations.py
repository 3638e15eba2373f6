"""Organizations: sign-up, portal names, details, plans and the account admin (ORG-02, ORG-05,
ORG-07)."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

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
from ..permissions import ensure_account_admin


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


@transaction.atomic
def organization_create(
    *,
    user: User,
    name: str,
    portal: str,
    time_zone: str = "Asia/Tokyo",
) -> Membership:
    """A new organization with `user` as its account admin, every app enabled for them, and a
    default department named after the organization (ORG-02)."""
    try:
        portal = portal_validate(portal)
    except ValidationError as exc:
        raise ValidationError({"portal": exc.messages}) from exc
    org = Organization(name=name.strip(), portal=portal, plan=Plan.TRIAL, time_zone=time_zone)
    org.full_clean()
    org.save()
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
        org=org, name=org.name, time_zone=time_zone, description=_("Default department")
    )
    DepartmentAgent.objects.create(org=org, department=department, user=user)
    from helpdesk.tickets.services.layouts import layout_create_defaults

    layout_create_defaults(department=department)
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
    org: Organization,
    data: dict,
) -> Organization:
    ensure_account_admin(actor)
    for field in ("name", "time_zone", "phone", "website", "address"):
        if field in data:
            setattr(org, field, data[field])
    org.full_clean()
    org.save()
    return org


@transaction.atomic
def organization_change_portal(
    *,
    actor: Membership,
    org: Organization,
    portal: str,
) -> Organization:
    """Rename the portal; the old name stays as an alias that redirects (ORG-05)."""
    ensure_account_admin(actor)
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
    ensure_account_admin(actor)
    if plan not in Plan.values:
        raise ValidationError({"plan": _("Choose a valid plan.")})
    org = Organization.objects.select_for_update().get(pk=org.pk)
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
    ensure_account_admin(actor)
    if target.org_id != actor.org_id or target.pk == actor.pk:
        raise ValidationError(_("Choose another active user of this organization."))
    if target.status != Membership.Status.ACTIVE:
        raise ValidationError(_("Only an active user can become the account administrator."))
    actor.admin_level = AdminLevel.SUITE
    actor.save(update_fields=["admin_level"])
    target.admin_level = AdminLevel.ACCOUNT
    target.admin_app = ""
    target.save(update_fields=["admin_level", "admin_app"])
    return target


def seats_used(org: Organization) -> int:
    """Users that count against the plan: active and invited ones (deactivated do not)."""
    return Membership.objects.for_org(org).exclude(status=Membership.Status.DEACTIVATED).count()


def ensure_seat_available(org: Organization) -> None:
    """Call inside a transaction: locks the organization row so two invitations cannot both
    take the last seat."""
    org = Organization.objects.select_for_update().get(pk=org.pk)
    limit = org.limit("users")
    if limit is not None and seats_used(org) >= limit:
        raise ValidationError(
            _(
                "Your %(plan)s plan allows at most %(limit)d users. Upgrade to Professional or "
                "Enterprise, or deactivate a user, to add more."
            )
            % {"plan": org.get_plan_display(), "limit": limit}
        )
