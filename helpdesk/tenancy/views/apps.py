"""Landing pages of the organization and of each app."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from ..models import App, Membership
from ..permissions import nav_items, require_app


def org_home(request: HttpRequest) -> HttpResponse:
    """/<portal>/: remember the organization and open the first app this member may reach."""
    request.session["last_portal"] = request.org.portal
    items = nav_items(request.membership)
    if not items:
        return render(request, "apps/no_apps.html", status=403)
    return redirect(items[0][2], portal=request.org.portal)


def _app_home(request: HttpRequest, app: str, template: str, extra: dict) -> HttpResponse:
    org = request.org
    colleagues = (
        Membership.objects.for_org(org)
        .filter(status=Membership.Status.ACTIVE)
        .exclude(**{f"{app}_role": ""})
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return render(
        request,
        template,
        {"app": app, "colleagues": colleagues, "role": request.membership.role(app), **extra},
    )


@require_app(App.CHAT)
def chat_home(request: HttpRequest) -> HttpResponse:
    return _app_home(request, App.CHAT, "apps/app_home.html", {"title": _("Chat")})
