"""What the pipeline's steps read on every ticket, cached per organization in the process
(TKT-09, issue 10's performance).

The steps read the same settings for every ticket an organization creates or changes: its
workflow and assignment rules, and, from the SLA app above, its policies with their levels and
its state SLAs. Reading them per ticket was a quarter of a blueprint transition's statements
(bench/blueprints.py). Here each is read once per organization and kept in the process under
the organization's settings version (`SettingsVersion.token`), as the blueprint engine keeps
its compiled definitions (`blueprints.engine.definitions`):

* the token is a random value written in the transaction of every change: the models'
  save and delete signals call `bump` (`watch` connects them: the rules' models here, the SLA
  app its own at start-up), so a change, whichever service or admin page makes it, is seen by
  every process once it commits, and a rolled-back one leaves nothing behind (a token never
  repeats);
* a reader gets the token once per pipeline run (`pipeline.token`, or handed over by a
  caller that read it in a query it makes anyway: `pipeline.seed`), then each setting it
  asks for is read at most once per token;
* what is cached is shared by every request of the process: readers never change it.

Only saves and deletes through the ORM renew the token: a bulk `QuerySet.update()` of these
models must call `bump` itself (none exists today)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from django.db import connection

from .. import pipeline

T = TypeVar("T")
MAX_ORGS = 512  # organizations kept per process (least recently used leave first)
TOKEN_KEY = "rules-settings-token"


def bump(org_id: int, *, create: bool = True) -> None:
    """The organization's settings changed (inside the changing transaction): a new token.
    `create=False` only renews an existing one (a delete: the organization itself may be
    being deleted, and must not get a row then; migration 0002 gave every organization of
    its time a token, and a later one gets it with its first saved rule or policy)."""
    with connection.cursor() as cursor:
        if create:
            cursor.execute(
                "INSERT INTO rules_settingsversion (org_id, token) "
                "VALUES (%s, gen_random_uuid()) "
                "ON CONFLICT (org_id) DO UPDATE SET token = gen_random_uuid()",
                [org_id],
            )
        else:
            cursor.execute(
                "UPDATE rules_settingsversion SET token = gen_random_uuid() WHERE org_id = %s",
                [org_id],
            )


# A column to add to a query a caller makes anyway (the blueprint engine's instance read), so
# the token costs no statement of its own: `pipeline.seed(token_key(org_id), value)`.
TOKEN_SUBQUERY = "(SELECT token FROM rules_settingsversion WHERE org_id = {org})"


def token_key(org_id: int) -> tuple[str, int]:
    return (TOKEN_KEY, org_id)


pipeline.token_register(TOKEN_KEY, "SELECT token FROM rules_settingsversion WHERE org_id = %s")


def read_token(org_id: int) -> Any:
    """The organization's token (None before its first change), once per pipeline run (with
    the other steps' tokens, `pipeline.token`)."""
    return pipeline.token(TOKEN_KEY, org_id)


class _Settings:
    """One organization's settings as of one token: each read once."""

    def __init__(self, token: Any) -> None:
        self.token = token
        self.values: dict[Any, Any] = {}
        self.lock = threading.Lock()


_cache: OrderedDict[int, _Settings] = OrderedDict()
_cache_lock = threading.Lock()


def settings(org_id: int, key: Any, read: Callable[[], T]) -> T:
    """`read()` (settings of the organization: its rules, its policies), read once per
    process and settings version. `key` names what is read (unique across apps)."""
    token = read_token(org_id)
    with _cache_lock:
        found = _cache.get(org_id)
        if found is None or found.token != token:
            found = _Settings(token)
            _cache[org_id] = found
            while len(_cache) > MAX_ORGS:
                _cache.popitem(last=False)
        _cache.move_to_end(org_id)
    if key in found.values:
        return found.values[key]
    with found.lock:
        if key not in found.values:
            found.values[key] = read()
        return found.values[key]


def _saved(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw and getattr(instance, "org_id", None):
        bump(instance.org_id)


def _deleted(sender: Any, instance: Any, **kwargs: Any) -> None:
    if getattr(instance, "org_id", None):
        bump(instance.org_id, create=False)


def watch(*models: Any) -> None:
    """Renew the token whenever an instance of `models` is saved or deleted (connected at
    start-up by the app that owns the models; idempotent)."""
    from django.db.models.signals import post_delete, post_save

    for model in models:
        label = model._meta.label
        post_save.connect(_saved, sender=model, dispatch_uid=f"rules-settings-{label}")
        post_delete.connect(_deleted, sender=model, dispatch_uid=f"rules-settings-del-{label}")


def forget() -> None:
    """Drop every cached organization (tests that change settings behind the signals)."""
    with _cache_lock:
        _cache.clear()
