"""Personal API tokens: issuing, revoking and authenticating (issue 16, item 2).

A token is `mado_` and 43 URL-safe characters (256 random bits). Only its SHA-256 is stored;
the first characters (`prefix`) tell a member's tokens apart on the profile page. A token acts
as its member, with the member's current role, in the token's organization only: it is looked
up within the portal's organization, so another organization's token matches nothing there."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Membership, Organization

from .models import ApiToken, Scope

TOKEN_PREFIX = "mado_"
MAX_TOKENS = 50  # per member: enough for every script, few enough to review
LAST_USED_EVERY = dt.timedelta(minutes=1)  # last use is written at most this often


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    raw: str  # shown once, never stored


@transaction.atomic
def token_create(
    *,
    actor: Membership,
    name: str,
    scopes: Sequence[str],
    expires_at: dt.datetime | None,
) -> IssuedToken:
    """A new token of `actor` (a member issues tokens for themselves only)."""
    if not actor.is_active:
        raise PermissionDenied(_("Only active members can create API tokens."))
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = [_("Give the token a name.")]
    wanted = set(scopes)
    if not wanted or not wanted <= set(Scope.values):
        errors["scopes"] = [_("Choose what the token may do.")]
    if expires_at is not None and expires_at <= timezone.now():
        errors["expires_at"] = [_("Choose an expiry date in the future.")]
    count = ApiToken.objects.for_org(actor.org).filter(
        user_id=actor.user_id, revoked_at__isnull=True
    )
    if count.count() >= MAX_TOKENS:
        errors.setdefault("name", []).append(
            _("You have %(count)d active tokens; revoke one first.") % {"count": MAX_TOKENS}
        )
    if errors:
        raise ValidationError(errors)
    # Writing implies reading what one writes.
    ordered = [
        s for s in Scope.values if s in wanted or (s == Scope.READ and Scope.WRITE in wanted)
    ]
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        org=actor.org,
        user_id=actor.user_id,
        name=name[:100],
        prefix=raw[: len(TOKEN_PREFIX) + 6],
        token_hash=token_hash(raw),
        scopes=ordered,
        expires_at=expires_at,
    )
    token.full_clean(exclude=["org", "user"])
    token.save()
    return IssuedToken(token=token, raw=raw)


@transaction.atomic
def token_revoke(*, actor: Membership, token: ApiToken) -> ApiToken:
    """Revoke one of `actor`'s own tokens; revoking twice changes nothing."""
    ensure_same_org(actor.org, token)
    if token.user_id != actor.user_id:
        raise Http404
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        ApiToken.objects.for_org(actor.org).filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=token.revoked_at
        )
    return token


class TokenRefused(Exception):
    """The token was found in the organization but may not be used (expired, revoked, or its
    member no longer active): a 401 saying why."""


def token_authenticate(*, org: Organization, raw: str) -> tuple[ApiToken, Membership]:
    """The token and its member, for a request to `org`'s portal.

    An unknown token (or one of another organization: it is not found here) is a 404, the
    answer of a portal that does not exist, so a caller learns nothing about the portal.
    A known token that may not be used raises `TokenRefused`. Records the last use at most
    once a minute (a conditional UPDATE: concurrent requests write it once)."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        raise Http404
    token = ApiToken.objects.for_org(org).filter(token_hash=token_hash(raw)).first()
    if token is None:
        raise Http404
    if token.revoked_at is not None:
        raise TokenRefused(_("This API token has been revoked."))
    if token.is_expired:
        raise TokenRefused(_("This API token has expired."))
    membership = (
        Membership.objects.for_org(org).select_related("user").filter(user_id=token.user_id).first()
    )
    if membership is None or not membership.is_active or not membership.user.is_active:
        raise TokenRefused(_("The member this API token belongs to is not active."))
    membership.org = org  # the same object: no second read
    now = timezone.now()
    if token.last_used_at is None or token.last_used_at <= now - LAST_USED_EVERY:
        ApiToken.objects.for_org(org).filter(pk=token.pk).filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lte=now - LAST_USED_EVERY)
        ).update(last_used_at=now)
        token.last_used_at = now
    return token, membership
