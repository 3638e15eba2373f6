"""Who may do what in an organization (ORG-03, ORG-04, ORG-05).

Two separate things decide it:

- **Admin levels** (ORG-05: account admin, suite admin, app admin) govern the admin screen:
  the organization, its users and who has access to which app. `ADMIN_LEVEL_POWERS` below is
  seed 002's table; services check it with `ensure_power`.
- **App roles** (ORG-04: Desk admin/agent/restricted agent, CRM admin/sales, Chat
  supervisor/operator) govern work inside an app. What a Desk role may do on tickets is
  `helpdesk.tenancy.roles`; which role administers an app's own settings (departments,
  layouts) is `APP_ADMIN_ROLES` in models. An app role never grants an admin-level power: a
  Desk "admin" configures the Desk but does not decide who may use it.

Checks raise PermissionDenied (403). They are called by services, so a forged POST is refused
whatever the templates show; views use the decorators to guard whole pages.
"""

from __future__ import annotations

from enum import StrEnum
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import AdminLevel, App, Membership


class Power(StrEnum):
    """The operations of seed 002's admin table (and the app admins' share of them)."""

    HAND_OVER_ACCOUNT_ADMIN = "hand_over_account_admin"
    CHANGE_PORTAL = "change_portal"
    UPDATE_DETAILS = "update_details"
    MANAGE_ADMINS = "manage_admins"  # give or take suite and app admin levels
    MANAGE_USERS = "manage_users"  # invite, re-invite, activate, deactivate, delete
    EXPORT_USERS = "export_users"
    MANAGE_APP_ACCESS = "manage_app_access"  # a user's access and role in an app
    MANAGE_APP_SETTINGS = "manage_app_settings"
    VIEW_SUBSCRIPTION = "view_subscription"
    CHANGE_PLAN = "change_plan"


_SUITE = frozenset(
    {
        Power.MANAGE_ADMINS,
        Power.MANAGE_USERS,
        Power.EXPORT_USERS,
        Power.MANAGE_APP_ACCESS,
        Power.MANAGE_APP_SETTINGS,
        Power.VIEW_SUBSCRIPTION,
        Power.CHANGE_PLAN,
    }
)

# Seed 002: the account admin can do everything a suite admin can, and alone changes the
# account admin, the portal URL and the organization's details. App admins manage their own
# app: its settings and who uses it with which role.
ADMIN_LEVEL_POWERS: dict[str, frozenset[Power]] = {
    AdminLevel.ACCOUNT: _SUITE
    | {Power.HAND_OVER_ACCOUNT_ADMIN, Power.CHANGE_PORTAL, Power.UPDATE_DETAILS},
    AdminLevel.SUITE: _SUITE,
    AdminLevel.APP: frozenset(
        {Power.MANAGE_APP_ACCESS, Power.MANAGE_APP_SETTINGS, Power.VIEW_SUBSCRIPTION}
    ),
    AdminLevel.NONE: frozenset(),
}

# Powers that concern one app: an app admin holds them for the app they administer only.
APP_SCOPED = frozenset({Power.MANAGE_APP_ACCESS, Power.MANAGE_APP_SETTINGS})

REFUSALS = {
    Power.HAND_OVER_ACCOUNT_ADMIN: gettext_lazy("Only the account administrator can do that."),
    Power.CHANGE_PORTAL: gettext_lazy("Only the account administrator can do that."),
    Power.UPDATE_DETAILS: gettext_lazy("Only the account administrator can do that."),
    Power.MANAGE_APP_ACCESS: gettext_lazy("Only an administrator of this app can do that."),
    Power.MANAGE_APP_SETTINGS: gettext_lazy("Only an administrator of this app can do that."),
}


def has_power(membership: Membership, power: Power, app: str | None = None) -> bool:
    """Whether this member's admin level grants `power` (for `app`, when it concerns one)."""
    if not membership.is_active:
        return False
    if power not in ADMIN_LEVEL_POWERS.get(membership.admin_level, frozenset()):
        return False
    if membership.admin_level == AdminLevel.APP and power in APP_SCOPED:
        return app is not None and app == membership.admin_app
    return True


def ensure_power(membership: Membership, power: Power, app: str | None = None) -> None:
    if not has_power(membership, power, app):
        refusal = REFUSALS.get(power) or _("Only a suite administrator can do that.")
        raise PermissionDenied(str(refusal))


def ensure_app(membership: Membership, app: str) -> None:
    if not membership.has_app(app):
        raise PermissionDenied(_("You do not have access to this app."))


def ensure_app_admin(membership: Membership, app: str) -> None:
    """May change this app's settings: by admin level or by the app's admin role."""
    if not membership.is_active or not membership.is_app_admin(app):
        raise PermissionDenied(_("Only an administrator of this app can do that."))


def ensure_suite_admin(membership: Membership) -> None:
    ensure_power(membership, Power.MANAGE_USERS)


def ensure_account_admin(membership: Membership) -> None:
    ensure_power(membership, Power.UPDATE_DETAILS)


def can_manage_roles(actor: Membership, app: str) -> bool:
    """Giving or taking a user's access to an app is an admin-level power, not an app role's."""
    return has_power(actor, Power.MANAGE_APP_ACCESS, app)


def _guard(check):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            check(request.membership)
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


def require_app(app: str):
    return _guard(lambda m: ensure_app(m, app))


def require_app_admin(app: str):
    return _guard(lambda m: ensure_app_admin(m, app))


def require_power(power: Power):
    return _guard(lambda m: ensure_power(m, power))


require_suite_admin = _guard(ensure_suite_admin)
require_account_admin = _guard(ensure_account_admin)


def require_any_admin(view):
    def check(m: Membership) -> None:
        if not m.is_any_admin:
            raise PermissionDenied(_("Only administrators can open the setup."))

    return _guard(check)(view)


NAV = [
    ("desk", gettext_lazy("Desk"), "desk:dashboard", lambda m: m.has_app(App.DESK)),
    ("customers", gettext_lazy("Customers"), "customers:contacts", lambda m: m.has_app(App.DESK)),
    ("crm", gettext_lazy("CRM"), "crm_home", lambda m: m.has_app(App.CRM)),
    ("chat", gettext_lazy("Chat"), "chat_home", lambda m: m.has_app(App.CHAT)),
    ("setup", gettext_lazy("Setup"), "setup:home", lambda m: m.is_any_admin),
]


def nav_items(membership: Membership) -> list[tuple[str, str, str]]:
    """The top navigation: only the apps this member may reach."""
    return [(key, label, url) for key, label, url, allowed in NAV if allowed(membership)]
