"""Durations as people read and type them (BP-15): minutes split into days, hours and minutes,
and a text for a target ("1 day 4 hours"), a time left or an overdue time. A pure module: the
forms, the Setup pages, the ticket page and the mails' displays share it.

A day is 24 hours, also in business hours: a one-day target in business hours is 24 working
hours (with a 9-18 schedule, about three working days). Setup's help text says so."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import ngettext

MINUTES_PER_DAY = 24 * 60


def split(minutes: int) -> tuple[int, int, int]:
    """(days, hours, minutes) of a non-negative number of minutes."""
    days, rest = divmod(max(0, int(minutes)), MINUTES_PER_DAY)
    hours, mins = divmod(rest, 60)
    return days, hours, mins


def join(days: int | None, hours: int | None, minutes: int | None) -> int:
    """Minutes of a typed (days, hours, minutes); empty parts count as zero."""
    return (days or 0) * MINUTES_PER_DAY + (hours or 0) * 60 + (minutes or 0)


def text(minutes: int) -> str:
    """ "2 days 3 hours 5 minutes", without the parts that are zero; "0 minutes" for nothing.
    The same words as the escalation mails' placeholders (`sla.mail.duration_text`)."""
    days, hours, mins = split(minutes)
    parts = []
    if days:
        parts.append(ngettext("%(n)d day", "%(n)d days", days) % {"n": days})
    if hours:
        parts.append(ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours})
    if mins or not parts:
        parts.append(ngettext("%(n)d minute", "%(n)d minutes", mins) % {"n": mins})
    return " ".join(parts)


def span_text(delta: dt.timedelta) -> str:
    """A time left or overdue, to the minute (rounded up below one minute, so a clock that is
    seconds from its due time never reads "0 min left")."""
    seconds = abs(delta.total_seconds())
    minutes = int(seconds // 60) + (1 if seconds % 60 and seconds < 60 else 0)
    return text(minutes)
