"""Who may configure chat (CHAT-01..CHAT-06). One rule, checked by every service.

- A **supervisor** (the Chat supervisor role) or an admin who administers Chat (an admin level
  that covers it, ORG-05) configures departments, operators and email settings.
- An **operator** (the Chat operator role) answers chats; configuring is refused (403).
- A member without Chat access is refused by the app gate before any of this.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import App, ChatRole, Membership


def can_configure(actor: Membership) -> bool:
    return actor.has_app(App.CHAT) and (
        actor.chat_role == ChatRole.SUPERVISOR or actor.is_app_admin(App.CHAT)
    )


def ensure_can_configure(actor: Membership) -> None:
    if can_configure(actor):
        return
    if not actor.has_app(App.CHAT):
        raise PermissionDenied(_("You do not have access to this app."))
    raise PermissionDenied(_("Only a chat supervisor or an administrator can do that."))
