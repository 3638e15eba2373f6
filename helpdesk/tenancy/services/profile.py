"""My profile (issue 8, item 6): a member changes their own name, time zone, language,
signature and mail preferences. The password is Django's PasswordChangeForm's."""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import TIME_ZONE_CHOICES, Membership, User
from ..notifications import MailEvent

_TIME_ZONES = {tz for tz, _label in TIME_ZONE_CHOICES}
SIGNATURE_MAX = 2000


@transaction.atomic
def profile_update(
    *,
    member: Membership,
    full_name: str,
    time_zone: str,
    language: str,
    signature: str,
    mail_events: Iterable[str],
) -> Membership:
    """Save the member's own profile. Name, time zone and language belong to the person (every
    organization sees them); the signature and mail preferences to this membership.
    `time_zone` "" means the organization's; `mail_events` are the events that mail them."""
    errors: dict[str, list[str]] = {}
    full_name = full_name.strip()
    if not full_name:
        errors["full_name"] = [_("Enter your name.")]
    if time_zone and time_zone not in _TIME_ZONES:
        errors["time_zone"] = [_("Choose a time zone from the list.")]
    if language not in User.Language.values:
        errors["language"] = [_("Choose a language from the list.")]
    wanted = set(mail_events)
    unknown = wanted - set(MailEvent.values)
    if unknown:
        errors["mail_events"] = [_("Unknown mail event: %(name)s.") % {"name": sorted(unknown)[0]}]
    signature = signature.strip()
    if len(signature) > SIGNATURE_MAX:
        errors["signature"] = [
            _("Keep the signature under %(count)d characters.") % {"count": SIGNATURE_MAX}
        ]
    if errors:
        raise ValidationError(errors)
    user = member.user
    user.full_name = full_name[:150]
    user.time_zone = time_zone
    user.language = language
    user.save(update_fields=["full_name", "time_zone", "language"])
    member.signature = signature
    member.muted_mail_events = [e for e in MailEvent.values if e not in wanted]
    member.save(update_fields=["signature", "muted_mail_events"])
    return member
