"""Tenant resolution and the user's language.

URLs carry the portal (`/<portal>/...`). `TenantMiddleware` resolves the organization from
the `portal` URL argument (removing it, so views receive only their own arguments) and
requires an active membership. An outsider learns nothing (ORG-01): a signed-in non-member
gets exactly the 404 a portal that does not exist gives (`request.org` stays unset, so the
page shows nothing of the organization), an anonymous visitor gets the same login redirect
for both, and a renamed portal's alias redirects members only.

Every view runs inside a row-level-security scope (`rls.py`): the runtime database role with
the organization of the portal (or none, outside portals), put back when the response is done.
"""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponseRedirect
from django.utils import timezone, translation

from helpdesk.compiledreads import CompiledRead

from . import rls
from .models import Membership, Organization, PortalAlias


def tenant_public(view):
    """Mark a portal view that non-members may open (an invitation link). The view gets the
    portal's organization as `request.portal_org` and must itself decide what to show: it
    sets `request.org` only once the visitor has proved a right to see it."""
    view.tenant_public = True
    return view


# Every portal request reads these two: their SQL is compiled once per process (compiling
# cost more than running them, helpdesk/compiledreads.py).
_org_by_portal: CompiledRead[Organization] = CompiledRead(
    lambda portal: Organization.objects.filter(portal=portal)
)
_active_membership: CompiledRead[Membership] = CompiledRead(
    lambda org_id, user_id: Membership.objects.for_org(org_id).filter(
        user_id=user_id, status=Membership.Status.ACTIVE
    )
)


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        request.org = None
        request.membership = None
        request.portal_org = None
        request.rls_token = None
        try:
            return self.get_response(request)
        finally:
            if request.rls_token is not None:
                rls.scope_exit(request.rls_token)

    def process_view(self, request, view_func, view_args, view_kwargs):
        portal = view_kwargs.pop("portal", None)
        if portal is None:
            request.rls_token = rls.scope_enter(None)
            return None
        public = getattr(view_func, "tenant_public", False)
        if not request.user.is_authenticated and not public:
            # The same answer whether or not the portal exists.
            return redirect_to_login(request.get_full_path())
        org = _org_by_portal(portal=portal)
        if org is None:
            return self._follow_alias(request, portal)
        request.rls_token = rls.scope_enter(org.id)
        if public:
            request.portal_org = org
            return None
        membership = self._membership(request, org)
        if membership is None:
            raise Http404
        request.org = org
        request.membership = membership
        timezone.activate(zoneinfo.ZoneInfo(request.user.time_zone or org.time_zone))
        return None

    @staticmethod
    def _membership(request: HttpRequest, org: Organization) -> Membership | None:
        membership = _active_membership(org_id=org.pk, user_id=request.user.pk)
        if membership is not None:
            membership.org = org  # the same object: no second read
        return membership

    def _follow_alias(self, request: HttpRequest, portal: str):
        """A renamed portal's old name redirects its members; anyone else gets the 404 of a
        portal that never existed."""
        alias = PortalAlias.objects.select_related("org").filter(name=portal).first()
        if alias is None or not request.user.is_authenticated:
            raise Http404
        with rls.tenant_scope(alias.org_id):
            if self._membership(request, alias.org) is None:
                raise Http404
        path = request.get_full_path()
        return HttpResponseRedirect(path.replace(f"/{portal}/", f"/{alias.org.portal}/", 1))


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
