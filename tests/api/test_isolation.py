"""ORG-01 over the API (issue 16): a token of Acme gets 404 for every object of Globex, and
a write naming one changes nothing. (tests/test_cross_tenant.py walks every API route too.)"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.models import Account, Contact
from helpdesk.tickets.services.threads import thread_add
from helpdesk.tickets.services.tickets import TicketInput, ticket_create

pytestmark = pytest.mark.django_db


def test_api01_acme_token_gets_404_for_globex_objects(acme, globex, alice_api):
    globex.admin.org = globex.org
    contact = Contact.objects.create(org=globex.org, last_name="Secret", email="s@globex.test")
    account = Account.objects.create(org=globex.org, name="Globex secret account")
    for n in range(3):  # Globex's ticket gets a number Acme does not have
        ticket = ticket_create(
            actor=globex.admin,
            data=TicketInput(subject=f"Secret {n}", department=globex.department),
        )
    thread = thread_add(
        actor=globex.admin,
        ticket=ticket,
        kind="comment",
        body="secret",
        files=[SimpleUploadedFile("s.txt", b"secret")],
    )
    attachment = thread.attachments.get()
    for path in (
        f"tickets/{ticket.number}",
        f"tickets/{ticket.number}/attachments",
        f"contacts/{contact.pk}",
        f"accounts/{account.pk}",
        f"departments/{globex.department.pk}/statuses",
    ):
        response = alice_api.get(path)
        assert response.status_code == 404, path
        assert b"Secret" not in response.content and b"Globex" not in response.content
    assert alice_api.patch(f"contacts/{contact.pk}", {"last_name": "Mine"}).status_code == 404
    assert alice_api.patch(f"accounts/{account.pk}", {"name": "Mine"}).status_code == 404
    assert (
        alice_api.post_form(f"tickets/{ticket.number}/comments", {"body": "x"}).status_code == 404
    )
    # Globex's records named in a write are refused as a form refuses a foreign choice.
    refused = alice_api.post(
        "tickets",
        {"subject": "x", "department_id": globex.department.pk, "contact_id": contact.pk},
    )
    assert refused.status_code == 422
    assert set(refused.json()["errors"]) <= {"department_id", "contact_id"}
    contact.refresh_from_db()
    account.refresh_from_db()
    assert contact.last_name == "Secret" and account.name == "Globex secret account"
    # Acme's own ticket #1 and Globex's attachment id: still nothing.
    acme.admin.org = acme.org
    own = ticket_create(actor=acme.admin, data=TicketInput(subject="A", department=acme.department))
    assert alice_api.get(f"tickets/{own.number}/attachments/{attachment.pk}").status_code == 404
