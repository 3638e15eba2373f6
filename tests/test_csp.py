"""Pages run only our code: a Content-Security-Policy on every response (django-csp).

Scripts and styles come from our origin only, an inline script runs only with the request's
nonce, nothing may frame our pages, and the templates carry no inline script or style that
the policy would block (TKT-02, ORG-01)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from tests.conftest import login

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


def _policy(response) -> dict[str, list[str]]:
    header = response.headers["Content-Security-Policy"]
    return {
        name: values
        for name, *values in (part.split() for part in header.split(";") if part.strip())
    }


def _assert_strict(policy: dict[str, list[str]]) -> None:
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"][0] == "'self'"
    assert all(v == "'self'" or v.startswith("'nonce-") for v in policy["script-src"])
    assert policy["style-src"][0] == "'self'"  # and the nonce: the editor's own <style>
    assert all(v == "'self'" or v.startswith("'nonce-") for v in policy["style-src"])
    assert policy["img-src"] == ["'self'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]
    joined = " ".join(v for values in policy.values() for v in values)
    assert "unsafe-inline" not in joined and "unsafe-eval" not in joined and "*" not in joined


def test_login_signup_and_error_pages_carry_the_policy(client, db):
    """Anonymous pages, a 404 and a static file all carry the strict policy."""
    for url in (reverse("login"), reverse("signup"), reverse("password_reset"), "/nope/x/"):
        _assert_strict(_policy(client.get(url)))


def test_member_pages_carry_the_policy(client, acme):
    """ORG-01: the desk, setup and customers pages carry the strict policy."""
    login(client, acme.admin)
    for url in (
        "/acme/desk/",
        "/acme/setup/",
        "/acme/customers/contacts/",
        "/acme/desk/tickets/new/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_strict(_policy(response))


def test_attachments_keep_their_sandbox(client, acme, settings, tmp_path):
    """TKT-03: a file is served with its own sandboxing policy, not the pages' one."""
    from helpdesk.tickets.services.layouts import layout_create_defaults
    from helpdesk.tickets.services.threads import thread_add
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    settings.MEDIA_ROOT = tmp_path
    layout_create_defaults(department=acme.department)
    acme.admin.org = acme.org
    ticket = ticket_create(
        actor=acme.admin, data=TicketInput(subject="Files", department=acme.department), ip=None
    )
    thread = thread_add(
        actor=acme.admin,
        ticket=ticket,
        kind="comment",
        body="see file",
        files=[SimpleUploadedFile("notes.txt", b"hello", content_type="text/plain")],
    )
    login(client, acme.admin)
    url = reverse(
        "desk:attachment",
        kwargs={
            "portal": "acme",
            "number": ticket.number,
            "attachment_id": thread.attachments.get().pk,
        },
    )
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'none'; img-src 'self'; sandbox"
    )


def test_a_nonce_in_a_template_is_the_one_in_the_header(rf, db):
    """An inline script written with `nonce="{{ CSP_NONCE }}"` is allowed by that response."""
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse
    from django.template import engines

    template = engines["django"].from_string('<script nonce="{{ CSP_NONCE }}">1</script>')
    request = rf.get("/")

    def view(request):
        return HttpResponse(template.render({}, request))

    response = CSPMiddleware(view)(request)
    nonce = re.search(r'nonce="([^"]+)"', response.content.decode()).group(1)
    assert f"'nonce-{nonce}'" in _policy(response)["script-src"]


PAGE_TEMPLATES = sorted(
    p
    for p in TEMPLATES.rglob("*.html")
    if "emails" not in p.relative_to(TEMPLATES).parts  # mail is not a page: no CSP there
)


@pytest.mark.parametrize("path", PAGE_TEMPLATES, ids=lambda p: str(p.relative_to(TEMPLATES)))
def test_templates_have_no_inline_script_or_style(path):
    """Nothing the policy would block: no <script> without src or nonce, no <style>, no
    style="..." and no on...="..." handler attributes (app.js binds behaviour instead)."""
    html = path.read_text()
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or "nonce=" in tag, f"inline script in {path.name}: {tag}"
    assert not re.search(r"<style\b", html), f"<style> in {path.name}"
    assert not re.search(r"\sstyle\s*=", html), f"style attribute in {path.name}"
    handler = re.search(r"\son[a-z]+\s*=", html)
    assert not handler, f"inline event handler in {path.name}: {handler.group(0)}"
    assert "javascript:" not in html, f"javascript: URL in {path.name}"
