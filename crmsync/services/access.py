"""Who may do what in the CRM (CRM-01). One table, checked by every service.

- A **CRM admin** (the CRM admin role, or an admin level that administers the CRM, ORG-05)
  configures the CRM: the integration, the settings and the products, and works on every
  record.
- A **sales user** sees every record, creates accounts, contacts and deals, and edits or
  deletes the records they own: a record owned by a colleague is theirs to change (an admin
  reassigns it). Products are read-only for sales users.
- A member without CRM access is refused by the app gate before any of this.
"""

from __future__ import annotations

from typing import Literal

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import App, Membership

Action = Literal["view", "create", "edit", "delete", "configure"]


def is_crm_admin(actor: Membership) -> bool:
    return actor.has_app(App.CRM) and actor.is_app_admin(App.CRM)


def can(actor: Membership, action: Action, record=None) -> bool:
    """`record` is a CRM account, contact or deal (with `owner_id`) for "edit" and "delete"."""
    if not actor.has_app(App.CRM):
        return False
    if action in ("view", "create"):
        return True
    if is_crm_admin(actor):
        return True
    if action == "configure":
        return False
    return record is not None and getattr(record, "owner_id", None) == actor.user_id


def ensure_can(actor: Membership, action: Action, record=None) -> None:
    if can(actor, action, record):
        return
    if not actor.has_app(App.CRM):
        raise PermissionDenied(_("You do not have access to this app."))
    if action == "configure":
        raise PermissionDenied(_("Only a CRM administrator can do that."))
    raise PermissionDenied(
        _("Only the record's owner or a CRM administrator can change or delete it.")
    )
