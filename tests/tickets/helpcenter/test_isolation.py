"""ORG-01, TKT-08: the cross-tenant walker for the help center. A signed-in customer of Acme
opens every help-center URL with Globex's objects (ticket number, file, sign-in link, rating
link), where a contact with the same address has tickets: nothing of Globex shows, nothing
of Globex changes. The walker in tests/test_cross_tenant.py fails when a help URL is not
listed there; this one fails when a help URL's argument is unknown here."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver

from customers.models import Contact
from helpdesk.tickets.helpcenter.auth import link_request
from helpdesk.tickets.helpcenter.mails import link_token, rating_token
from helpdesk.tickets.helpcenter.models import Rating, SignInLink
from helpdesk.tickets.helpcenter.ratings import rating_set
from helpdesk.tickets.models import Thread, Ticket
from helpdesk.tickets.services.threads import thread_add
from helpdesk.tickets.services.tickets import TicketInput, ticket_create, ticket_update
from tests.test_cross_tenant import HELP_CENTER_URLS, _fill, _route_keys, _walk

from .conftest import open_help_center, sign_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _globex_objects(globex, email):
    from helpdesk.tickets.services.layouts import layout_create_defaults

    org, admin = globex.org, globex.admin
    admin.org = org
    layout_create_defaults(department=globex.department)
    open_help_center(org, [globex.department])
    twin = Contact.objects.create(org=org, last_name="Twin", email=email)
    for n in range(5):  # numbers Acme does not have
        ticket_create(
            actor=admin, data=TicketInput(subject=f"filler {n}", department=globex.department)
        )
    ticket = ticket_create(
        actor=admin,
        data=TicketInput(
            subject="Globex secret ticket", department=globex.department, contact=twin
        ),
    )
    reply = thread_add(
        actor=admin,
        ticket=ticket,
        kind="reply",
        body="Globex secret reply",
        files=[SimpleUploadedFile("globex.txt", b"globex secret file")],
    )
    from helpdesk.tickets.models import TicketStatus

    closed = TicketStatus.objects.for_org(org).get(department=globex.department, kind="closed")
    ticket_update(actor=admin, ticket=ticket, data=TicketInput(status=closed))
    rating_set(ticket=ticket, contact=twin, value="good", comment="Globex comment")
    link = link_request(org=org, email=email, purpose=SignInLink.Purpose.SIGNIN)
    return {
        "number": ticket.number,
        "attachment_id": reply.attachments.get().pk,
        "token": link_token(link),
        "rating_token": rating_token(ticket, twin),
    }


def _rows(org):
    return (
        list(Ticket.objects.for_org(org).order_by("pk").values_list("pk", "status_id", "subject")),
        list(Thread.objects.for_org(org).order_by("pk").values_list("pk", "kind", "body")),
        list(Rating.objects.for_org(org).values_list("ticket_id", "value", "comment")),
        list(SignInLink.objects.for_org(org).values_list("pk", "used_at")),
    )


def test_org01_tkt08_help_center_urls_refuse_another_portals_objects(client, desk, hc, globex):
    theirs = _globex_objects(globex, desk.contact.email)
    sign_in(client, "acme", desk.contact.email)
    before = _rows(globex.org)
    checked = 0
    for route, name, _pattern in _walk(get_resolver()):
        if not name or not name.startswith("help:"):
            continue
        assert name in HELP_CENTER_URLS, f"{name} is not justified in HELP_CENTER_URLS"
        keys = [k for k in _route_keys(route) if k != "portal"]
        values = {k: theirs[k] for k in keys}
        if name == "help:rate":
            values["token"] = theirs["rating_token"]
        url = _fill(route, {"portal": "acme", **values})
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code < 500, (method, url)
            assert b"Globex" not in response.content, (method, url)
            if keys:
                assert response.status_code in (404, 405, 410), (method, url, response.status_code)
            checked += 1
        if name == "help:signout":  # the walk goes on signed in
            sign_in(client, "acme", desk.contact.email)
    assert _rows(globex.org) == before, "an Acme customer changed Globex's data"
    assert checked >= 2 * len(HELP_CENTER_URLS)
