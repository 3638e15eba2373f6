"""Canned responses and signatures (issue 8, item 2; TKT-02 replies): placeholders filled in
with the ticket's values and refused when unknown, personal and department responses offered
in the reply box, signatures added once to replies, in the thread and in the mail."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from customers.models import Contact
from helpdesk.tenancy.guards import OtherOrganizationError
from helpdesk.tickets.canned import placeholders
from helpdesk.tickets.canned.models import CannedResponse
from helpdesk.tickets.canned.services import (
    canned_for_ticket,
    canned_render,
    canned_response_save,
    signature_append,
)
from helpdesk.tickets.models import Thread
from helpdesk.tickets.services.threads import thread_add
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _canned(desk, *, title="Thanks", body="Hello", owner=None, department=None, actor=None):
    if owner is None and department is None:
        department = desk.department
    canned = CannedResponse(
        org=desk.org, title=title, body=body, owner=owner and owner.user, department=department
    )
    return canned_response_save(actor=actor or owner or desk.admin, canned=canned)


# --- Placeholders --------------------------------------------------------------------------------
def test_canned_placeholders_render_with_the_tickets_values(desk):
    ticket = desk.ticket(subject="Printer <on> fire")
    canned = _canned(
        desk,
        body=(
            "Dear {{contact.name}}, about #{{ ticket.number }} “{{ticket.subject}}”: "
            "{{agent.name}} of {{department.name}}"
        ),
    )
    rendered = canned_render(canned=canned, ticket=ticket, agent=desk.agent)
    assert rendered.text == (
        f"Dear Yamada Taro, about #{ticket.number} “Printer <on> fire”: "
        f"Bob of {desk.department.name}"
    )
    # The HTML for an editor keeps the subject's "<on>" as text.
    assert "Printer &lt;on&gt; fire" in rendered.html


def test_canned_unknown_placeholder_is_refused_at_save_naming_it(desk):
    with pytest.raises(ValidationError) as error:
        _canned(desk, body="Hello {{contact.name}}, see {{ticket.nmber}}")
    assert "{{ticket.nmber}}" in str(error.value)
    assert "{{contact.name}}" in str(error.value)  # listed among the known ones
    assert not CannedResponse.objects.for_org(desk.org).exists()


def test_canned_unclosed_placeholder_is_refused():
    with pytest.raises(ValidationError, match="not closed"):
        placeholders.validate_placeholders("Hi {{contact.name")


def test_canned_ticket_without_contact_renders_empty_name(desk):
    ticket = desk.ticket(contact=None)
    canned = _canned(desk, body="Dear {{contact.name}},")
    assert canned_render(canned=canned, ticket=ticket, agent=desk.agent).text == "Dear ,"


# --- Who manages and who sees which ------------------------------------------------------------
def test_canned_department_responses_are_for_desk_admins_only(desk):
    with pytest.raises(PermissionDenied):
        _canned(desk, actor=desk.agent)
    assert _canned(desk, actor=desk.admin).department == desk.department


def test_canned_personal_response_belongs_to_its_owner(desk):
    mine = _canned(desk, owner=desk.agent, title="Mine")
    mine.body = "changed"
    with pytest.raises(PermissionDenied):
        canned_response_save(actor=desk.other_agent, canned=mine)


def test_canned_search_offers_mine_first_then_the_tickets_department(desk):
    ticket = desk.ticket()
    _canned(desk, title="Refund policy", body="Our refund policy")
    _canned(desk, title="Billing only", department=desk.other_department)
    _canned(desk, title="My refund note", owner=desk.agent)
    _canned(desk, title="Ada's refund", owner=desk.other_agent)
    titles = [c.title for c in canned_for_ticket(member=desk.agent, ticket=ticket, query="")]
    assert titles == ["My refund note", "Refund policy"]
    found = canned_for_ticket(member=desk.agent, ticket=ticket, query="policy")
    assert [c.title for c in found] == ["Refund policy"]


def test_canned_other_organizations_department_is_refused(desk, globex):
    canned = CannedResponse(org=desk.org, title="x", body="y", department=globex.department)
    with pytest.raises(OtherOrganizationError):
        canned_response_save(actor=desk.admin, canned=canned)


# --- Signatures ------------------------------------------------------------------------------
def _signatures(desk, agent="Bob\nAcme support", department="Acme Inc. · 03-0000-0000"):
    desk.agent.signature = agent
    desk.agent.save(update_fields=["signature"])
    desk.department.signature = department
    desk.department.save(update_fields=["signature"])


def test_signature_agents_then_departments_in_thread_and_mail(
    desk, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    _signatures(desk)
    ticket = desk.ticket()
    with django_capture_on_commit_callbacks(execute=True):
        thread = thread_add(actor=desk.agent, ticket=ticket, kind="reply", body="We are on it.")
    text = thread.body
    assert text.index("We are on it.") < text.index("Bob") < text.index("Acme Inc.")
    assert "-- " in text
    (message,) = [m for m in mail.outbox if m.to == ["taro@umbrella.test"]]
    assert "We are on it." in message.body and "Acme support" in message.body
    assert message.body.index("Bob") < message.body.index("Acme Inc.")


def test_signature_appended_once_when_already_typed(desk):
    _signatures(desk, department="")
    body = "<p>Thanks!</p><p>Bob<br>Acme support</p>"
    assert signature_append(body_html=body, author=desk.agent, department=desk.department) == body
    twice = signature_append(
        body_html=signature_append(
            body_html="<p>Thanks!</p>", author=desk.agent, department=desk.department
        ),
        author=desk.agent,
        department=desk.department,
    )
    assert twice.count("Acme support") == 1


def test_signature_not_added_to_comments_nor_without_one(desk):
    ticket = desk.ticket()
    plain = thread_add(actor=desk.agent, ticket=ticket, kind="reply", body="No signature")
    assert "-- " not in plain.body
    _signatures(desk)
    comment = thread_add(actor=desk.agent, ticket=ticket, kind="comment", body="Internal")
    assert "Acme support" not in comment.body


def test_signature_is_escaped_text(desk):
    _signatures(desk, agent="<script>alert(1)</script> a<b", department="")
    thread = thread_add(actor=desk.agent, ticket=desk.ticket(), kind="reply", body="Hi")
    assert "<script>" not in thread.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt; a&lt;b" in thread.body


# --- Pages -----------------------------------------------------------------------------------
def test_canned_search_endpoint_returns_rendered_matches(client, desk):
    ticket = desk.ticket()
    _canned(desk, title="Greeting", body="Hello {{contact.name}} <b>friend</b>")
    login(client, desk.agent)
    url = reverse("desk:canned_search", kwargs={"portal": "acme", "number": ticket.number})
    response = client.get(url, {"q": "greet"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Greeting" in html
    assert 'data-text="Hello Yamada Taro &lt;b&gt;friend&lt;/b&gt;"' in html
    assert "<html" not in html  # a fragment
    assert "Greeting" not in client.get(url, {"q": "nothing-like-it"}).content.decode()


def test_canned_search_of_a_ticket_the_agent_cannot_see_is_404(client, desk):
    ticket = desk.ticket(department=desk.other_department)
    login(client, desk.agent)
    url = reverse("desk:canned_search", kwargs={"portal": "acme", "number": ticket.number})
    assert client.get(url).status_code == 404


def test_canned_pages_refuse_outsiders(client, desk, globex):
    ticket = desk.ticket()
    mine = _canned(desk, owner=desk.agent)
    login(client, globex.admin)
    urls = [
        reverse("desk:canned_list", kwargs={"portal": "acme"}),
        reverse("desk:canned_edit", kwargs={"portal": "acme", "canned_id": mine.pk}),
        reverse("desk:canned_search", kwargs={"portal": "acme", "number": ticket.number}),
        reverse(
            "canned:department_canned", kwargs={"portal": "acme", "dept_id": desk.department.pk}
        ),
    ]
    for url in urls:
        assert client.get(url).status_code == 404, url
    delete = reverse("desk:canned_delete", kwargs={"portal": "acme", "canned_id": mine.pk})
    assert client.post(delete).status_code == 404
    assert CannedResponse.objects.for_org(desk.org).filter(pk=mine.pk).exists()


def test_canned_someone_elses_personal_response_is_not_found(client, desk):
    mine = _canned(desk, owner=desk.agent)
    login(client, desk.other_agent)
    url = reverse("desk:canned_edit", kwargs={"portal": "acme", "canned_id": mine.pk})
    assert client.get(url).status_code == 404
    delete = reverse("desk:canned_delete", kwargs={"portal": "acme", "canned_id": mine.pk})
    assert client.post(delete).status_code == 404


def test_canned_agent_creates_personal_response_and_sees_unknown_placeholder_error(client, desk):
    login(client, desk.agent)
    url = reverse("desk:canned_create", kwargs={"portal": "acme"})
    response = client.post(url, {"title": "Hi", "body": "Hi {{customer}}"})
    assert response.status_code == 400
    assert "Unknown placeholder “{{customer}}”" in response.content.decode()
    response = client.post(url, {"title": "Hi", "body": "Hi {{contact.name}}"})
    assert response.status_code == 302
    canned = CannedResponse.objects.for_org(desk.org).get()
    assert canned.owner == desk.agent.user and canned.department is None


def test_canned_setup_pages_for_desk_admins_only(client, desk):
    url = reverse(
        "canned:department_canned_create", kwargs={"portal": "acme", "dept_id": desk.department.pk}
    )
    login(client, desk.agent)
    assert client.post(url, {"title": "T", "body": "B"}).status_code == 403
    login(client, desk.admin)
    response = client.post(url, {"title": "Welcome", "body": "Welcome to {{department.name}}"})
    assert response.status_code == 302
    listing = client.get(
        reverse(
            "canned:department_canned", kwargs={"portal": "acme", "dept_id": desk.department.pk}
        )
    )
    assert "Welcome" in listing.content.decode()
    duplicate = client.post(url, {"title": "welcome", "body": "again"})
    assert duplicate.status_code == 400
    assert "already has a response with this title" in duplicate.content.decode()


def test_canned_setup_response_of_another_department_is_not_found(client, desk):
    canned = _canned(desk, department=desk.other_department)
    login(client, desk.admin)
    url = reverse(
        "canned:department_canned_edit",
        kwargs={"portal": "acme", "dept_id": desk.department.pk, "canned_id": canned.pk},
    )
    assert client.get(url).status_code == 404


def test_canned_department_signature_is_set_in_setup(client, desk):
    login(client, desk.admin)
    url = reverse("setup:department_edit", kwargs={"portal": "acme", "dept_id": desk.department.pk})
    data = {
        "name": desk.department.name,
        "description": "",
        "email": "",
        "time_zone": "Asia/Tokyo",
        "signature": "Acme support team",
    }
    assert client.post(url, data).status_code == 302
    desk.department.refresh_from_db()
    assert desk.department.signature == "Acme support team"


def test_canned_reply_page_shows_signature_in_thread(client, desk, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    _signatures(desk)
    ticket = desk.ticket()
    login(client, desk.agent)
    url = reverse("desk:ticket_thread", kwargs={"portal": "acme", "number": ticket.number})
    assert client.post(url, {"kind": "reply", "body": "Fixed."}).status_code == 302
    page = client.get(
        reverse("desk:ticket_detail", kwargs={"portal": "acme", "number": ticket.number})
    )
    assert "Acme Inc. · 03-0000-0000" in page.content.decode()
    assert Thread.objects.for_org(desk.org).get(kind="reply").body.count("Acme support") == 1
    assert Contact.objects.for_org(desk.org).count() == 1
