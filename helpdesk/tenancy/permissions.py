"""Who may do what in an organization (ORG-03, ORG-04, ORG-05).

Checks raise PermissionDenied (403). They are called by services, so a forged POST is refused
whatever the templates show; views use the decorators to guard whole pages.
"""

from __future__ import annotations

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import App, Membership


def ensure_app(membership: Membership, app: str) -> None:
    if not membership.has_app(app):
        raise PermissionDenied(_("You do not have access to this app."))


def ensure_app_admin(membership: Membership, app: str) -> None:
    if not membership.is_active or not membership.is_app_admin(app):
        raise PermissionDenied(_("Only an administrator of this app can do that."))


def ensure_suite_admin(membership: Membership) -> None:
    if not membership.is_active or not membership.is_suite_admin:
        raise PermissionDenied(_("Only a suite administrator can do that."))


def ensure_account_admin(membership: Membership) -> None:
    if not membership.is_active or not membership.is_account_admin:
        raise PermissionDenied(_("Only the account administrator can do that."))


def can_manage_roles(actor: Membership, app: str) -> bool:
    return actor.is_active and actor.is_app_admin(app)


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


require_suite_admin = _guard(ensure_suite_admin)
require_account_admin = _guard(ensure_account_admin)


def require_any_admin(view):
    def check(m: Membership) -> None:
        if not m.is_any_admin:
            raise PermissionDenied(_("Only administrators can open the setup."))

    return _guard(check)(view)


NAV = [
    ("desk", gettext_lazy("Desk"), "desk:home", lambda m: m.has_app(App.DESK)),
    ("customers", gettext_lazy("Customers"), "customers:contacts", lambda m: m.has_app(App.DESK)),
    ("crm", gettext_lazy("CRM"), "crm_home", lambda m: m.has_app(App.CRM)),
    ("chat", gettext_lazy("Chat"), "chat_home", lambda m: m.has_app(App.CHAT)),
    ("setup", gettext_lazy("Setup"), "setup:home", lambda m: m.is_any_admin),
]


def nav_items(membership: Membership) -> list[tuple[str, str, str]]:
    """The top navigation: only the apps this member may reach."""
    return [(key, label, url) for key, label, url, allowed in NAV if allowed(membership)]
