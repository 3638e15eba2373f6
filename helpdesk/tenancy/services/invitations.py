"""Invitation links: signing, reading, accepting and purging them (ORG-06).

Sending lives with the member services that create invitations (`members.member_invite`),
so this module imports no task and the mail service can use it: members -> tasks -> mail ->
invitations, without a cycle."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .. import crosstenant, rls
from ..models import Invitation, Membership, Organization, User

INVITATION_SALT = "madoguchi.invitation"


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


def invitations_purge_stale(*, now: dt.datetime | None = None, keep_days: int = 30) -> int:
    """Delete unaccepted invitations that expired more than `keep_days` ago (their members
    stay "invited" and can be re-invited). A maintenance sweep across organizations, run by
    beat; idempotent. Returns how many were deleted."""
    cutoff = (now or timezone.now()) - timedelta(days=keep_days)
    by_org: dict[int, list[int]] = {}
    for org_id, invitation_id in crosstenant.stale_invitations(expired_before=cutoff):
        by_org.setdefault(org_id, []).append(invitation_id)
    deleted = 0
    for org_id, ids in by_org.items():
        # Each organization's rows are deleted under its own scope; the filter re-checks the
        # cutoff, so an invitation re-sent meanwhile is kept.
        with rls.tenant_scope(org_id):
            count, _by_model = Invitation.objects.filter(
                org_id=org_id, id__in=ids, accepted_at=None, expires_at__lte=cutoff
            ).delete()
        deleted += count
    return deleted
