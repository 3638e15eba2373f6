"""The organization's landing page (each app has its own start page: the Chat app's is
chat.views.home, mounted as "chat_home")."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from ..permissions import nav_items


def org_home(request: HttpRequest) -> HttpResponse:
    """/<portal>/: remember the organization and open the first app this member may reach."""
    request.session["last_portal"] = request.org.portal
    items = nav_items(request.membership)
    if not items:
        return render(request, "apps/no_apps.html", status=403)
    return redirect(items[0][2], portal=request.org.portal)
