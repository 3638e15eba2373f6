"""Which events mail a member (My profile, issue 8 item 6).

A member turns events off on their profile (`Membership.muted_mail_events`); an event not
turned off mails them, so a new event is on for everyone until they say otherwise. Whoever
sends such a mail asks first:

    if wants_mail(user=follower, org=ticket.org, event=MailEvent.FOLLOWED_REPLY): ...

or, for many people at once, `members_wanting_mail(org=..., user_ids=..., event=...)` (one
query). Someone who is not an active member of the organization wants none of its mail."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import models
from django.utils.translation import gettext_lazy as _

from .models import Membership, Organization, User


class MailEvent(models.TextChoices):
    TICKET_ASSIGNED = "ticket_assigned", _("A ticket is assigned to me")
    REPLY_ON_MY_TICKET = "reply_on_my_ticket", _("A customer replies on a ticket I own")
    FOLLOWED_REPLY = "followed_reply", _("A ticket I follow gets a reply or comment")
    FOLLOWED_STATUS = "followed_status", _("The status of a ticket I follow changes")


def _active(org: Organization) -> models.QuerySet[Membership]:
    return Membership.objects.for_org(org).filter(status=Membership.Status.ACTIVE)


def wants_mail(*, user: User, org: Organization, event: str) -> bool:
    """Whether `user` wants mail of `event` (a `MailEvent`) from `org`."""
    muted = _active(org).filter(user_id=user.pk).values_list("muted_mail_events", flat=True)
    row = muted.first()
    return row is not None and event not in (row or [])


def members_wanting_mail(*, org: Organization, user_ids: Iterable[int], event: str) -> set[int]:
    """The ids among `user_ids` of the active members who want mail of `event` from `org`."""
    ids = set(user_ids)
    if not ids:
        return set()
    rows = _active(org).filter(user_id__in=ids).values_list("user_id", "muted_mail_events")
    return {user_id for user_id, muted in rows if event not in (muted or [])}
