"""Users of an organization: invitations, activation, roles, deletion and export (ORG-06)."""

from __future__ import annotations

from datetime import timedelta

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

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
from ..permissions import can_manage_roles, ensure_suite_admin
from .organizations import ensure_seat_available

INVITATION_SALT = "madoguchi.invitation"


def _validate_roles(roles: dict[str, str]) -> dict[str, str]:
    clean = {}
    for app in App.values:
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
def invitation_token(invitation: Invitation) -> str:
    return signing.dumps([invitation.pk, invitation.nonce], salt=INVITATION_SALT)


def invitation_from_token(*, org: Organization, token: str) -> Invitation | None:
    """The invitation this link was issued for, in `org`; None for a forged or rotated link."""
    try:
        pk, nonce = signing.loads(token, salt=INVITATION_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return (
        Invitation.objects.for_org(org)
        .select_related("membership__user")
        .filter(pk=pk, nonce=nonce)
        .first()
    )


def _send_invitation(invitation: Invitation) -> None:
    from ..tasks import send_invitation_email_task

    org_id, invitation_id = invitation.org_id, invitation.pk
    transaction.on_commit(lambda: send_invitation_email_task.delay(org_id, invitation_id))


@transaction.atomic
def member_invite(
    *, actor: Membership, email: str, full_name: str = "", roles: dict[str, str]
) -> Invitation:
    """Invite a person by email with roles per app. Takes a seat on the plan at once."""
    ensure_suite_admin(actor)
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
def member_reinvite(*, actor: Membership, member: Membership) -> Invitation:
    """A fresh link for a pending invitation; earlier links stop working."""
    ensure_suite_admin(actor)
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


def invitation_problem(invitation: Invitation | None) -> str | None:
    """Why this link cannot be used, in words for the person holding it; None when it can."""
    if invitation is None:
        return _("This invitation link is not valid. Ask your administrator for a new one.")
    if invitation.accepted_at is not None:
        return _("This invitation has already been used. Log in with your email and password.")
    if invitation.membership.status != Membership.Status.INVITED:
        return _("This invitation is no longer valid. Ask your administrator for a new one.")
    if invitation.is_expired:
        return _("This invitation link has expired. Ask your administrator to re-invite you.")
    return None


@transaction.atomic
def invitation_accept(
    *, invitation: Invitation, user: User | None, full_name: str = "", password: str | None = None
) -> Membership:
    """Accept an invitation: a new person sets a name and password; a person who already has
    an account must be signed in as the invited user. One use only (the row is locked)."""
    invitation = (
        Invitation.objects.select_for_update()
        .select_related("membership__user")
        .get(pk=invitation.pk, org=invitation.org_id)
    )
    problem = invitation_problem(invitation)
    if problem:
        raise ValidationError(problem)
    invited = invitation.membership.user
    if invited.has_usable_password():
        if user is None or user.pk != invited.pk:
            raise PermissionDenied(
                _("Log in as %(email)s to accept this invitation.") % {"email": invited.email}
            )
    else:
        if not password:
            raise ValidationError({"password1": _("Choose a password.")})
        invited.set_password(password)
        if full_name.strip():
            invited.full_name = full_name.strip()
        invited.save(update_fields=["password", "full_name"])
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["accepted_at"])
    membership = invitation.membership
    membership.status = Membership.Status.ACTIVE
    membership.save(update_fields=["status"])
    return membership


def invitations_purge_stale(*, now=None, keep_days: int = 30) -> int:
    """Delete unaccepted invitations that expired more than `keep_days` ago (their members
    stay "invited" and can be re-invited). A maintenance sweep across organizations, run by
    beat; idempotent. Returns how many were deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=keep_days)
    deleted, _by_model = Invitation.objects.filter(
        accepted_at=None, expires_at__lte=cutoff
    ).delete()
    return deleted


# --- Status, roles, deletion, export ---------------------------------------------------------
@transaction.atomic
def member_deactivate(*, actor: Membership, member: Membership) -> Membership:
    ensure_suite_admin(actor)
    _protect_from_self_and_owner(actor, member, _("You cannot deactivate yourself."))
    member.status = Membership.Status.DEACTIVATED
    member.save(update_fields=["status"])
    return member


@transaction.atomic
def member_activate(*, actor: Membership, member: Membership) -> Membership:
    ensure_suite_admin(actor)
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
    ensure_suite_admin(actor)
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
) -> Membership:
    """Change app access and roles (blank role = no access), and the admin level.

    App admins change only their app's role; suite admins change every app and the admin level
    (never to or from account admin: that is a hand-over by the account admin)."""
    roles = _validate_roles(roles)
    changed: list[str] = []
    for app in App.values:
        if roles[app] == member.role(app):
            continue
        if not can_manage_roles(actor, app):
            raise PermissionDenied(
                _("You cannot change roles in %(app)s.") % {"app": App(app).label}
            )
        setattr(member, f"{app}_role", roles[app])
        changed.append(f"{app}_role")
    if admin_level is not None and (
        admin_level != member.admin_level or admin_app != member.admin_app
    ):
        ensure_suite_admin(actor)
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
    if (
        member.is_account_admin
        and not member.desk_role
        and not member.crm_role
        and not member.chat_role
    ):
        raise ValidationError(_("The account administrator keeps access to at least one app."))
    if changed:
        member.save(update_fields=changed)
    return member


def member_export(*, actor: Membership, member: Membership) -> dict:
    """Everything this organization holds about a user, as JSON-ready data (ORG-06)."""
    ensure_suite_admin(actor)
    org, user = member.org, member.user
    departments = (
        DepartmentAgent.objects.for_org(org).filter(user=user).select_related("department")
    )
    teams = TeamMember.objects.for_org(org).filter(user=user).select_related("team")
    invitations = Invitation.objects.for_org(org).filter(membership=member)
    return {
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
        },
        "departments": [d.department.name for d in departments],
        "teams": [t.team.name for t in teams],
        "invitations": [
            {
                "created_at": i.created_at.isoformat(),
                "expires_at": i.expires_at.isoformat(),
                "accepted_at": i.accepted_at.isoformat() if i.accepted_at else None,
            }
            for i in invitations
        ],
    }
