"""Issue 16, item 5: the OpenAPI schema and the browsable reference (vendored, no CDN),
linked from the profile's token section; members only."""

from __future__ import annotations

import pytest

from tests.conftest import login

pytestmark = pytest.mark.django_db


def test_api05_schema_and_reference_are_served_to_members(client, acme, globex):
    login(client, acme.admin)
    schema = client.get("/acme/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/acme/api/v1/tickets" in paths
    assert "/acme/api/v1/tickets/{number}/comments" in paths
    listing = paths["/acme/api/v1/tickets"]["get"]
    assert "application/problem+json" in listing["responses"]["422"]["content"]
    assert schema.json()["components"]["securitySchemes"]

    page = client.get("/acme/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert "/static/js/api-docs.js" in html
    assert 'data-schema-url="/acme/api/v1/openapi.json"' in html
    assert "cdn" not in html.lower() and "<script>" not in html
    assert "img-src 'self' data:" in page["Content-Security-Policy"]

    # Not a member of Globex: the 404 of a portal that does not exist.
    assert client.get("/globex/api/v1/openapi.json").status_code == 404
    assert client.get("/globex/api/v1/docs/").status_code == 404
