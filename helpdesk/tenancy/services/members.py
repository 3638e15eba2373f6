"""Users of an organization: inviting, activation, roles, deletion and export (ORG-06).

Invitation links themselves (tokens, acceptance, purging) are in `invitations.py`."""

from __future__ import annotations

from types import EllipsisType
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from ..exports import export_sections
from ..guards import ensure_same_org
from ..models import (
    ROLE_CHOICES,
    AdminLevel,
    App,
    DepartmentAgent,
    Invitation,
    Membership,
    Organization,
    TeamMember,
    User,
    _invitation_expiry,
    _new_nonce,
)
from ..permissions import Power, can_manage_roles, ensure_power
from ..tasks import send_invitation_email_task
from .organizations import ensure_seat_available


def _validate_roles(roles: dict[str, str]) -> dict[str, str]:
    clean: dict[str, str] = {}
    for app in App:
        role = roles.get(app, "") or ""
        if role and role not in ROLE_CHOICES[app].values:
            raise ValidationError({f"{app}_role": _("Choose a valid role.")})
        clean[app] = role
    return clean


def _protect_from_self_and_owner(actor: Membership, member: Membership, refusal: str) -> None:
    """`refusal` is the whole sentence for acting on oneself (verbs are not spliced into
    translated sentences)."""
    if member.pk == actor.pk:
        raise ValidationError(refusal)
    if member.is_account_admin:
        raise ValidationError(
            _(
                "The account administrator cannot be changed this way. Hand the role to someone "
                "else first."
            )
        )


# --- Invitations -----------------------------------------------------------------------------
def _send_invitation(invitation: Invitation) -> None:
    org_id, invitation_id = invitation.org_id, invitation.pk
    transaction.on_commit(lambda: send_invitation_email_task.delay(org_id, invitation_id))


@transaction.atomic
def member_invite(
    *, actor: Membership, email: str, full_name: str = "", roles: dict[str, str]
) -> Invitation:
    """Invite a person by email with roles per app. Takes a seat on the plan at once."""
    ensure_power(actor, Power.MANAGE_USERS)
    org = actor.org
    email = User.objects.normalize_email(email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise ValidationError({"email": _("Enter a valid email address.")}) from exc
    roles = _validate_roles(roles)
    if not any(roles.values()):
        raise ValidationError(_("Give the user access to at least one app."))
    user = User.objects.filter(email__iexact=email).first()
    if user is not None:
        existing = Membership.objects.for_org(org).filter(user=user).first()
        if existing is not None:
            if existing.status == Membership.Status.INVITED:
                raise ValidationError(
                    {
                        "email": _(
                            "%(email)s has already been invited. "
                            "Use “Re-invite” to send a new link."
                        )
                        % {"email": email}
                    }
                )
            raise ValidationError(
                {"email": _("%(email)s is already a user of this organization.") % {"email": email}}
            )
    ensure_seat_available(org)
    if user is None:
        user = User.objects.create_user(
            email, None, full_name=full_name.strip(), language=actor.user.language
        )
    membership = Membership.objects.create(
        org=org,
        user=user,
        status=Membership.Status.INVITED,
        desk_role=roles[App.DESK],
        crm_role=roles[App.CRM],
        chat_role=roles[App.CHAT],
    )
    invitation = Invitation.objects.create(
        org=org, membership=membership, email=email, invited_by=actor.user
    )
    _send_invitation(invitation)
    return invitation


@transaction.atomic
def member_invite_to_app(
    *, org: Organization, email: str, app: str, role: str, invited_by: User
) -> tuple[Membership, Invitation | None]:
    """Give one person a role in one app of `org` on behalf of an integration (CRM-03: a CRM
    admin invites CRM users to the desk). The caller has checked the authority: the CRM's
    integration with this organization's desk (its own desk, or a key a Desk admin of `org`
    issued). A member without access to the app gets the role; a person who is not a member
    is invited (a seat is taken, the usual invitation link is mailed); a member who already
    has the app is refused. Returns the membership and the invitation, if one was made."""
    if app not in App.values or role not in ROLE_CHOICES[App(app)].values:
        raise ValidationError({"role": _("Choose a valid role.")})
    email = User.objects.normalize_email(email or "").strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    member = (
        Membership.objects.for_org(org).select_for_update().filter(user=user).first()
        if user is not None
        else None
    )
    if member is not None:
        if member.status == Membership.Status.DEACTIVATED:
            raise ValidationError(
                _("%(email)s is deactivated there; an administrator can activate them.")
                % {"email": email}
            )
        if member.role(app):
            raise ValidationError(
                _("%(email)s already has access to %(app)s.")
                % {"email": email, "app": App(app).label}
            )
        setattr(member, f"{app}_role", role)
        member.save(update_fields=[f"{app}_role"])
        return member, None
    ensure_seat_available(org)
    if user is None:
        user = User.objects.create_user(email, None, language=invited_by.language)
    member = Membership.objects.create(
        org=org, user=user, status=Membership.Status.INVITED, **{f"{app}_role": role}
    )
    invitation = Invitation.objects.create(
        org=org, membership=member, email=email, invited_by=invited_by
    )
    _send_invitation(invitation)
    return member, invitation


@transaction.atomic
def member_reinvite(*, actor: Membership, member: Membership) -> Invitation:
    """A fresh link for a pending invitation; earlier links stop working."""
    ensure_power(actor, Power.MANAGE_USERS)
    ensure_same_org(actor.org, member)
    if member.status != Membership.Status.INVITED:
        raise ValidationError(
            _("Only users who have not accepted their invitation can be re-invited.")
        )
    invitation = (
        Invitation.objects.for_org(member.org)
        .select_for_update()
        .filter(membership=member)
        .order_by("-created_at")
        .first()
    )
    if invitation is None:
        invitation = Invitation(org=member.org, membership=member, email=member.user.email)
    invitation.nonce = _new_nonce()
    invitation.expires_at = _invitation_expiry()
    invitation.accepted_at = None
    invitation.invited_by = actor.user
    invitation.save()
    _send_invitation(invitation)
    return invitation


# --- Status, roles, deletion, export ---------------------------------------------------------
@transaction.atomic
def member_deactivate(*, actor: Membership, member: Membership) -> Membership:
    ensure_power(actor, Power.MANAGE_USERS)
    ensure_same_org(actor.org, member)
    _protect_from_self_and_owner(actor, member, _("You cannot deactivate yourself."))
    member.status = Membership.Status.DEACTIVATED
    member.save(update_fields=["status"])
    return member


@transaction.atomic
def member_activate(*, actor: Membership, member: Membership) -> Membership:
    ensure_power(actor, Power.MANAGE_USERS)
    ensure_same_org(actor.org, member)
    if member.status != Membership.Status.DEACTIVATED:
        raise ValidationError(_("Only a deactivated user can be activated."))
    ensure_seat_available(member.org)
    accepted = (
        Invitation.objects.for_org(member.org)
        .filter(membership=member)
        .exclude(accepted_at=None)
        .exists()
    )
    has_password = member.user.has_usable_password()
    member.status = (
        Membership.Status.ACTIVE if accepted or has_password else Membership.Status.INVITED
    )
    member.save(update_fields=["status"])
    return member


@transaction.atomic
def member_delete(*, actor: Membership, member: Membership) -> None:
    """Remove a person from the organization (their account stays for other organizations)."""
    ensure_power(actor, Power.MANAGE_USERS)
    ensure_same_org(actor.org, member)
    _protect_from_self_and_owner(actor, member, _("You cannot delete yourself."))
    org = member.org
    DepartmentAgent.objects.for_org(org).filter(user=member.user).delete()
    TeamMember.objects.for_org(org).filter(user=member.user).delete()
    member.delete()


@transaction.atomic
def member_set_access(
    *,
    actor: Membership,
    member: Membership,
    roles: dict[str, str],
    admin_level: str | None = None,
    admin_app: str = "",
    reports_to: Membership | None | EllipsisType = ...,
) -> Membership:
    """Change app access and roles (blank role = no access), the admin level, and whom the
    member reports to (`...` leaves it as it is; see `member_set_reports_to`).

    Both are admin-level powers (ORG-05), never an app role's: app admins change only their
    app's role; suite admins change every app and the admin level (never to or from account
    admin: that is a hand-over by the account admin). The account admin keeps access to every
    app, and only they change their own roles."""
    ensure_same_org(actor.org, member)
    roles = _validate_roles(roles)
    changed: list[str] = []
    for app in App.values:
        if roles[app] == member.role(app):
            continue
        if member.is_account_admin:
            if member.pk != actor.pk:
                raise PermissionDenied(
                    _("Only the account administrator can change their own access.")
                )
            if not roles[app]:
                raise ValidationError(
                    {f"{app}_role": _("The account administrator keeps access to every app.")}
                )
        if not can_manage_roles(actor, app):
            raise PermissionDenied(
                _("You cannot change roles in %(app)s.") % {"app": App(app).label}
            )
        setattr(member, f"{app}_role", roles[app])
        changed.append(f"{app}_role")
    if admin_level is not None and (
        admin_level != member.admin_level or admin_app != member.admin_app
    ):
        ensure_power(actor, Power.MANAGE_ADMINS)
        if AdminLevel.ACCOUNT in (admin_level, member.admin_level):
            raise ValidationError(
                {
                    "admin_level": _(
                        "Only the account administrator can hand over that role, from the "
                        "organization page."
                    )
                }
            )
        if admin_level not in AdminLevel.values:
            raise ValidationError({"admin_level": _("Choose a valid admin level.")})
        if admin_level == AdminLevel.APP and admin_app not in App.values:
            raise ValidationError({"admin_app": _("Choose the app this user administers.")})
        if member.pk == actor.pk:
            raise ValidationError({"admin_level": _("You cannot change your own admin level.")})
        member.admin_level = admin_level
        member.admin_app = admin_app if admin_level == AdminLevel.APP else ""
        changed += ["admin_level", "admin_app"]
    if reports_to is not ... and getattr(reports_to, "pk", None) != member.reports_to_id:
        _check_reports_to(actor, member, reports_to)
        member.reports_to = reports_to
        changed.append("reports_to")
    if changed:
        member.save(update_fields=changed)
    return member


@transaction.atomic
def member_set_reports_to(
    *, actor: Membership, member: Membership, reports_to: Membership | None
) -> Membership:
    """Set whom `member` reports to (their manager: report supervisors, and "the owner's
    manager" of SLA escalations, BP-15); None clears it."""
    ensure_same_org(actor.org, member)
    _check_reports_to(actor, member, reports_to)
    member.reports_to = reports_to
    member.save(update_fields=["reports_to"])
    return member


def _check_reports_to(actor: Membership, member: Membership, reports_to: Membership | None) -> None:
    """A user-manager power; the manager is a member of the same organization, not the member
    themselves, and the line of reporting never loops back. The organization's row is locked
    so two admins closing a loop from both ends at once cannot both pass the check."""
    ensure_power(actor, Power.MANAGE_USERS)
    ensure_same_org(actor.org, member, reports_to)
    if reports_to is None:
        return
    if reports_to.pk == member.pk:
        raise ValidationError({"reports_to": _("A user cannot report to themselves.")})
    Organization.objects.select_for_update().filter(pk=actor.org.pk).first()
    line = dict(
        Membership.objects.for_org(actor.org)
        .exclude(reports_to=None)
        .values_list("pk", "reports_to_id")
    )
    seen = {reports_to.pk}
    above = line.get(reports_to.pk)
    while above is not None and above not in seen:
        if above == member.pk:
            raise ValidationError(
                {
                    "reports_to": _(
                        "%(manager)s already reports to %(name)s, directly or through others: "
                        "choose someone outside %(name)s's line of reports."
                    )
                    % {
                        "manager": reports_to.user.display_name,
                        "name": member.user.display_name,
                    }
                }
            )
        seen.add(above)
        above = line.get(above)


def member_export(*, actor: Membership, member: Membership) -> dict[str, Any]:
    """Everything this organization holds about a user, as JSON-ready data (ORG-06): the
    account, the membership and its roles, departments, teams and invitations here, then one
    section per app above tenancy (tickets, thread entries, history, attachments, customer
    records), each registered in `helpdesk.tenancy.exports`. Reads only `member.org`'s rows."""
    ensure_power(actor, Power.EXPORT_USERS)
    ensure_same_org(actor.org, member)
    org, user = actor.org, member.user
    departments = (
        DepartmentAgent.objects.for_org(org).filter(user=user).select_related("department")
    )
    teams = TeamMember.objects.for_org(org).filter(user=user).select_related("team__department")
    invitations = Invitation.objects.for_org(org).filter(membership=member)
    data: dict[str, Any] = {
        "organization": {"name": org.name, "portal": org.portal},
        "user": {
            "email": user.email,
            "full_name": user.full_name,
            "language": user.language,
            "time_zone": user.time_zone,
            "date_joined": user.date_joined.isoformat(),
        },
        "membership": {
            "status": member.status,
            "admin_level": member.admin_level,
            "admin_app": member.admin_app,
            "roles": {app: member.role(app) for app in App.values},
            "created_at": member.created_at.isoformat(),
            "last_seen_at": member.last_seen_at.isoformat() if member.last_seen_at else None,
        },
        "departments": [d.department.name for d in departments],
        "teams": [{"name": t.team.name, "department": t.team.department.name} for t in teams],
        "invitations": [
            {
                "email": i.email,
                "created_at": i.created_at.isoformat(),
                "expires_at": i.expires_at.isoformat(),
                "accepted_at": i.accepted_at.isoformat() if i.accepted_at else None,
            }
            for i in invitations
        ],
    }
    for name, section in export_sections().items():
        data[name] = section(org=org, user=user)
    return data
