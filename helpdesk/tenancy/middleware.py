"""Tenant resolution and the user's language.

URLs carry the portal (`/<portal>/...`). `TenantMiddleware` resolves the organization from
the `portal` URL argument (removing it, so views receive only their own arguments), follows
renamed portals to their new name, and requires an active membership: a non-member gets 404,
the same answer as for a portal that does not exist.
"""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.utils import timezone, translation

from .models import Membership, Organization, PortalAlias


def tenant_public(view):
    """Mark a portal view that non-members may open (an invitation link)."""
    view.tenant_public = True
    return view


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.org = None
        request.membership = None
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        portal = view_kwargs.pop("portal", None)
        if portal is None:
            return None
        membership = None
        if request.user.is_authenticated:
            # One query for the common case: a member opening their own portal.
            membership = (
                Membership.objects.select_related("org")
                .filter(org__portal=portal, user=request.user, status=Membership.Status.ACTIVE)
                .first()
            )
        org = membership.org if membership else Organization.objects.filter(portal=portal).first()
        if org is None:
            alias = PortalAlias.objects.select_related("org").filter(name=portal).first()
            if alias is None:
                raise Http404
            path = request.get_full_path()
            return HttpResponseRedirect(path.replace(f"/{portal}/", f"/{alias.org.portal}/", 1))
        request.org = org
        if getattr(view_func, "tenant_public", False):
            return None
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if membership is None:
            raise Http404
        request.membership = membership
        timezone.activate(zoneinfo.ZoneInfo(request.user.time_zone or org.time_zone))
        return None


class UserLanguageMiddleware:
    """A signed-in user's language is stored on the user and wins over the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        response = self.get_response(request)
        timezone.deactivate()
        return response
