"""Who hears of changes to contacts, accounts and products (the CRM sync, CRM-04): a
registry the apps above fill at start-up, so customers imports none of them."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from helpdesk.tenancy.models import TenantModel

# --- Change listeners (the CRM sync, CRM-04) -------------------------------------------------
# Apps above customers (crmsync) learn of each saved contact, account or product through this
# registry, inside the saving transaction, without customers importing them: a listener gets
# (kind "contact" | "account" | "product", the saved record, the names of the fields that
# changed (all for a new record), the change's origin). The origin is "" for a person's change
# and whatever `change_origin` set for a change applied by a sync, which must not echo it back.
RecordChangeListener = Callable[[str, TenantModel, list[str], str], None]
_change_listeners: list[RecordChangeListener] = []
_change_origin: ContextVar[str] = ContextVar("customers_change_origin", default="")


def record_change_listen(listener: RecordChangeListener) -> None:
    """Call `listener` for every contact, account and product saved (registered once)."""
    if listener not in _change_listeners:
        _change_listeners.append(listener)


@contextmanager
def change_origin(origin: str) -> Iterator[None]:
    """Mark the changes made in this block as coming from `origin` (e.g. "crmsync")."""
    token = _change_origin.set(origin)
    try:
        yield
    finally:
        _change_origin.reset(token)


def _changed(kind: str, record: TenantModel, stored: Mapping[str, Any], fields: Sequence[str]):
    """Tell the listeners which of `fields` changed (all of them for a new record)."""
    if not _change_listeners:
        return
    if stored:
        fks = ("account", "owner", "department")
        changed = [
            f for f in fields if stored.get(f) != getattr(record, f + "_id" if f in fks else f)
        ]
    else:
        changed = list(fields)
    if not changed:
        return
    origin = _change_origin.get()
    for listener in _change_listeners:
        listener(kind, record, changed, origin)
