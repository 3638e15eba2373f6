"""What each Desk role may do (ORG-04): one table, read by the tickets and customers services.

Desk roles: admin (everything, in every department: assign, configure), agent (reply,
comment, forward, edit fields and customer records, create), restricted agent (comment only).
It lives in tenancy, below both apps that enforce it, so customers need not import tickets.
"""

from __future__ import annotations

from .models import App, DeskRole, Membership

DESK_ACTIONS: dict[str, frozenset[str]] = {
    DeskRole.ADMIN: frozenset(
        {
            "view",
            "comment",
            "reply",
            "forward",
            "edit",
            "create",
            "assign",
            "attach",
            "configure",
            "bulk",
        }
    ),
    DeskRole.AGENT: frozenset(
        {"view", "comment", "reply", "forward", "edit", "create", "attach", "bulk"}
    ),
    DeskRole.RESTRICTED: frozenset({"view", "comment", "attach"}),
}


def desk_role(membership: Membership) -> str:
    """The member's effective Desk role; "" without Desk access."""
    if not membership.has_app(App.DESK):
        return ""
    return DeskRole.ADMIN if membership.is_app_admin(App.DESK) else membership.desk_role


def desk_can(membership: Membership, action: str) -> bool:
    return action in DESK_ACTIONS.get(desk_role(membership), frozenset())
