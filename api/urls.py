"""URLs of the API, mounted at /<portal>/api/v1/ (`api_patterns`), and of the token section
of My profile, at /<portal>/profile/api-tokens/ (`token_patterns`)."""

from __future__ import annotations

from django.urls import path

from helpdesk.tenancy.middleware import tenant_public

from . import views
from .base import api, authenticated_first
from .routers import blueprints, chat, crm, customers, reference, tickets

api.add_router("", tickets.router)
api.add_router("", customers.router)
api.add_router("", reference.router)
api.add_router("", blueprints.router)
api.add_router("", crm.router)
api.add_router("", chat.router)

_ninja_patterns, _app, _namespace = api.urls
for _pattern in _ninja_patterns:
    # Operations authenticate by token, not by session: the tenant middleware resolves the
    # portal (`request.portal_org`) and leaves the membership to the token (api/base.py).
    _pattern.callback = tenant_public(authenticated_first(_pattern.callback))

api_patterns = [
    path("docs/", views.docs, name="docs"),
    path("openapi.json", views.openapi_json, name="openapi"),
    *_ninja_patterns,
]

token_patterns = [
    path("", views.tokens, name="list"),
    path("<int:api_token_id>/revoke/", views.token_revoke_view, name="revoke"),
]
