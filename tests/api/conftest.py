"""Fixtures of the API tests: tokens issued through the service, and a client that sends
one as `Authorization: Bearer`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from api.models import Scope
from api.services import token_create


def issue(membership, *, write: bool = True, expires_at: dt.datetime | None = None) -> str:
    scopes = [Scope.READ, Scope.WRITE] if write else [Scope.READ]
    return token_create(
        actor=membership,
        name="script",
        scopes=scopes,
        expires_at=expires_at or timezone.now() + dt.timedelta(days=30),
    ).raw


class ApiClient:
    """Requests to /<portal>/api/v1/... with a token."""

    def __init__(self, token: str, portal: str) -> None:
        self.client = Client(HTTP_ACCEPT_LANGUAGE="en")
        self.token = token
        self.portal = portal

    def url(self, path: str) -> str:
        return f"/{self.portal}/api/v1/{path.lstrip('/')}"

    def _headers(self) -> dict[str, str]:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"} if self.token else {}

    def get(self, path: str, params=None, **extra):
        return self.client.get(self.url(path), params or {}, **self._headers(), **extra)

    def post(self, path: str, data=None, **extra):
        return self.client.post(
            self.url(path), data or {}, content_type="application/json", **self._headers(), **extra
        )

    def post_form(self, path: str, data=None, **extra):
        return self.client.post(self.url(path), data or {}, **self._headers(), **extra)

    def patch(self, path: str, data=None, **extra):
        return self.client.patch(
            self.url(path), data or {}, content_type="application/json", **self._headers(), **extra
        )


@pytest.fixture(autouse=True)
def _api_settings(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.API_RATE_LIMIT_PER_MINUTE = 10_000
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def alice_api(acme) -> ApiClient:
    return ApiClient(issue(acme.admin), acme.org.portal)
