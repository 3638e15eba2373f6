"""Who else has a ticket open, or is writing on it, right now (TKT-01's collision notice).

Each open ticket page reports every few seconds; a report lives in the cache (Redis in
production, shared by every web process) for PRESENCE_TTL seconds, so a closed page drops
out on its own. One key per (ticket, member) holds the report; a per-ticket index lists the
members who reported lately. The index is read-modify-written without a lock: a report that
loses a race is missing from it until that page's next report re-adds it (a few seconds)."""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.core.cache import cache

from helpdesk.tenancy.models import User

from ..models import Ticket

POLL_SECONDS = 5
PRESENCE_TTL = 15  # three missed reports and the page is gone
INDEX_TTL = 3600


@dataclass(frozen=True)
class Presence:
    user_id: int
    name: str
    writing: bool


def _index_key(ticket: Ticket) -> str:
    return f"presence:{ticket.org_id}:{ticket.pk}"


def _user_key(ticket: Ticket, user_id: int) -> str:
    return f"presence:{ticket.org_id}:{ticket.pk}:{user_id}"


def presence_report(*, ticket: Ticket, user: User, writing: bool) -> list[Presence]:
    """Record that `user` has `ticket` open (and whether they are writing a reply); return
    the others there now, writers first, then by name. The caller checked that `user` may
    see the ticket."""
    now = time.time()
    cache.set(
        _user_key(ticket, user.pk),
        {"name": user.display_name, "writing": bool(writing), "at": now},
        PRESENCE_TTL,
    )
    index: dict[int, float] = cache.get(_index_key(ticket)) or {}
    fresh = {uid: at for uid, at in index.items() if at > now - PRESENCE_TTL}
    if user.pk not in fresh or fresh[user.pk] < now - POLL_SECONDS or len(fresh) != len(index):
        fresh[user.pk] = now
        cache.set(_index_key(ticket), fresh, INDEX_TTL)
    others = [uid for uid in fresh if uid != user.pk]
    if not others:
        return []
    found = cache.get_many([_user_key(ticket, uid) for uid in others])
    people = [
        Presence(user_id=uid, name=str(value["name"]), writing=bool(value["writing"]))
        for uid in others
        if (value := found.get(_user_key(ticket, uid)))
    ]
    return sorted(people, key=lambda p: (not p.writing, p.name.lower()))


def presence_leave(*, ticket: Ticket, user: User) -> None:
    """The page closed: drop the report at once (its TTL would in a few seconds)."""
    cache.delete(_user_key(ticket, user.pk))
