"""The operators' console (issue 15, items 3 and 6): presence and limit, the chats offered to
an operator, the visitor's past chats, canned responses in the reply box, transfer to an
operator or a department (a private department's name never reaches the visitor), and chat
to ticket (channel chat, contact found or created, the transcript as the thread).

Alice is Acme's admin (chat supervisor, operator of the default department "acme"); Olga
operates "acme" too; "Billing" is private, operated by Pete."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from chat.models import ChatDepartment, Conversation, OperatorStatus
from chat.services import conversations as svc
from chat.services import routing, to_ticket, transfer
from chat.services.departments import department_create, operator_add
from customers.models import Contact
from helpdesk.tenancy.guards import OtherOrganizationError
from helpdesk.tickets.canned.models import CannedResponse
from helpdesk.tickets.models import Ticket
from tests.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def entry(acme) -> ChatDepartment:
    return ChatDepartment.objects.for_org(acme.org).order_by("pk").first()


@pytest.fixture
def olga(acme, entry):
    member = acme.member(
        user=UserFactory(email="olga@acme.test", full_name="Olga"),
        desk_role="",
        chat_role="operator",
    )
    acme.admin.org = acme.org
    operator_add(actor=acme.admin, department=entry, user=member.user)
    return member


@pytest.fixture
def pete(acme):
    return acme.member(
        user=UserFactory(email="pete@acme.test", full_name="Pete"),
        desk_role="",
        chat_role="operator",
    )


@pytest.fixture
def billing(acme, pete):
    acme.admin.org = acme.org
    return department_create(
        actor=acme.admin, name="Billing", visibility="private", operators=[pete.user]
    )


def available(tenant, member, max_chats=3):
    OperatorStatus.objects.update_or_create(
        org=tenant.org, user=member.user, defaults={"presence": "available", "max_chats": max_chats}
    )


def start(entry, email="vera@shop.example", name="Vera", message="Do you ship to Osaka?"):
    return svc.conversation_start(
        entry=entry,
        department_id=None,
        name=name,
        email=email,
        message=message,
        ip="192.0.2.7",
        language="en",
    )


def url(tenant, name, conversation=None) -> str:
    kwargs = {"portal": tenant.org.portal}
    if conversation is not None:
        kwargs["chat_conversation_id"] = conversation.pk
    return reverse(f"chat:{name}", kwargs=kwargs)


def visitor_poll(client, tenant, started) -> dict:
    return client.get(
        url(tenant, "visitor_messages", started.conversation), {"token": started.token}
    ).json()


# --- Presence and the console's lists ----------------------------------------------------------
def test_console_presence_is_saved_and_waiting_chats_are_offered(client, acme, olga, entry):
    chat = start(entry).conversation
    assert chat.assigned_to_id is None  # nobody available yet
    login(client, olga)
    page = client.get(url(acme, "console")).content.decode()
    assert "Away · 0 of 3 chats" in page
    response = client.post(url(acme, "console_presence"), {"presence": "available", "max_chats": 2})
    assert response.status_code == 302
    chat.refresh_from_db()
    assert chat.assigned_to_id == olga.user_id  # offered as soon as Olga is available
    page = client.get(url(acme, "console")).content.decode()
    assert "Available · 1 of 2 chats" in page
    offered = client.get(url(acme, "console_chats")).content.decode()
    assert 'data-testid="chat-offered"' in offered and f'data-chat="{chat.pk}"' in offered


def test_console_presence_bad_input_is_a_400_with_messages(client, acme, olga):
    login(client, olga)
    response = client.post(url(acme, "console_presence"), {"presence": "asleep", "max_chats": 0})
    assert response.status_code == 400
    text = response.content.decode()
    assert "Select a valid choice" in text and "greater than or equal to 1" in text
    assert not OperatorStatus.objects.for_org(acme.org).exists()


def test_console_lists_only_the_departments_the_operator_answers(client, acme, olga, billing):
    theirs = start(billing, email="b@shop.example").conversation  # private: no widget, but
    ours = start(ChatDepartment.objects.for_org(acme.org).order_by("pk").first()).conversation
    login(client, olga)
    lists = client.get(url(acme, "console_chats")).content.decode()
    assert f'data-chat="{ours.pk}"' in lists
    assert f'data-chat="{theirs.pk}"' not in lists


# --- The conversation page: past chats, canned responses ---------------------------------------
def test_console_shows_the_visitors_past_chats(client, acme, olga, entry):
    earlier = start(entry, email="Vera@Shop.example", message="First time").conversation
    svc.conversation_end(conversation=earlier)
    other = start(entry, email="someone@else.example").conversation
    now = start(entry).conversation
    login(client, olga)
    page = client.get(url(acme, "conversation", now)).content.decode()
    assert url(acme, "conversation", earlier) in page
    assert url(acme, "conversation", other) not in page


def test_console_offers_the_desks_canned_responses_filled_in(client, acme, entry):
    CannedResponse.objects.create(
        org=acme.org,
        owner=acme.admin.user,
        title="Greeting",
        body="Hello {{contact.name}}, this is {{agent.name}}.",
    )
    CannedResponse.objects.create(
        org=acme.org, owner=UserFactory(), title="Someone else's", body="Not yours"
    )
    chat = start(entry, name=XSS).conversation
    login(client, acme.admin)
    page = client.get(url(acme, "conversation", chat)).content.decode()
    assert 'data-testid="chat-canned"' in page
    assert "Greeting" in page
    assert "Hello &lt;img src=x onerror=alert(1)&gt;, this is Acme Admin." in page
    assert "Someone else" not in page


# --- Transfer ----------------------------------------------------------------------------------
def test_console_transfer_to_a_private_department_hides_its_name_from_the_visitor(
    client, acme, olga, pete, billing, entry
):
    started = start(entry)
    chat = started.conversation
    olga.org = acme.org
    svc.conversation_accept(actor=olga, conversation=chat)
    available(acme, pete)
    login(client, olga)
    response = client.post(url(acme, "conversation_transfer", chat), {"department": billing.pk})
    assert response.status_code == 302
    assert response["Location"] == url(acme, "console")
    chat.refresh_from_db()
    assert (chat.department_id, chat.state, chat.accepted_by_id) == (billing.pk, "waiting", None)
    assert chat.assigned_to_id == pete.user_id  # routed in Billing
    assert chat.due_at is not None  # the missed-chat timer runs again
    # Olga does not operate Billing: the chat is no longer hers to open.
    assert client.get(url(acme, "conversation", chat)).status_code == 404

    polled = visitor_poll(client, acme, started)
    assert polled["state"] == "waiting"
    assert polled["department"] == "Support"
    assert "Billing" not in str(polled)
    assert "transferred to another team" in polled["messages"][-1]["body"]

    # Pete answers it in Billing and sees where it came from.
    login(client, pete)
    page = client.get(url(acme, "conversation", chat)).content.decode()
    assert "Billing" in page and "Do you ship to Osaka?" in page


def test_console_transfer_to_a_public_department_names_it(client, acme, entry):
    acme.admin.org = acme.org
    sales = department_create(actor=acme.admin, name="Sales", operators=[acme.admin.user])
    started = start(entry)
    login(client, acme.admin)
    assert (
        client.post(
            url(acme, "conversation_transfer", started.conversation), {"department": sales.pk}
        ).status_code
        == 302
    )
    polled = visitor_poll(client, acme, started)
    assert polled["department"] == "Sales"
    assert "transferred to Sales" in polled["messages"][-1]["body"]


def test_console_transfer_to_an_operator(client, acme, olga, entry):
    started = start(entry)
    chat = started.conversation
    acme.admin.org = acme.org
    svc.conversation_accept(actor=acme.admin, conversation=chat)
    login(client, acme.admin)
    # Olga is away: refused, with the reason, nothing changed.
    response = client.post(url(acme, "conversation_transfer", chat), {"user": olga.user_id})
    assert response.status_code == 400
    assert "Olga is not available." in response.content.decode()
    available(acme, olga)
    response = client.post(url(acme, "conversation_transfer", chat), {"user": olga.user_id})
    assert response.status_code == 302
    chat.refresh_from_db()
    assert (chat.state, chat.accepted_by_id) == ("live", olga.user_id)
    assert "transferred to Olga" in visitor_poll(client, acme, started)["messages"][-1]["body"]


def test_console_transfer_needs_exactly_one_target(client, acme, olga, billing, entry):
    chat = start(entry).conversation
    login(client, acme.admin)
    response = client.post(url(acme, "conversation_transfer", chat), {})
    assert response.status_code == 400
    assert "Choose an operator or a department." in response.content.decode()
    response = client.post(
        url(acme, "conversation_transfer", chat), {"user": olga.user_id, "department": billing.pk}
    )
    assert response.status_code == 400
    response = client.post(url(acme, "conversation_transfer", chat), {"department": "999999"})
    assert response.status_code == 400
    chat.refresh_from_db()
    assert chat.department_id == entry.pk


def test_console_transfer_an_ended_chat_is_refused(client, acme, billing, entry):
    chat = start(entry).conversation
    svc.conversation_end(conversation=chat)
    acme.admin.org = acme.org
    with pytest.raises(ValidationError):
        transfer.transfer_to_department(actor=acme.admin, conversation=chat, department=billing)


# --- Chat to ticket ----------------------------------------------------------------------------
def test_console_chat_to_ticket_in_one_click(client, acme, entry):
    started = start(entry, message=XSS)
    chat = started.conversation
    acme.admin.org = acme.org
    svc.message_post_operator(actor=acme.admin, conversation=chat, body="We do, in two days.")
    login(client, acme.admin)
    response = client.post(url(acme, "conversation_ticket", chat))
    assert response.status_code == 302
    ticket = Ticket.objects.for_org(acme.org).get()
    assert ticket.channel == "chat"
    assert ticket.department_id == acme.department.pk  # the desk's default department
    assert ticket.contact.email == "vera@shop.example"  # created for the visitor
    assert ticket.contact.last_name == "Vera"
    thread = ticket.threads.get()
    assert "&lt;img src=x onerror=alert(1)&gt;" in thread.body  # the transcript, as typed
    assert "We do, in two days." in thread.body
    assert "Acme Admin" in thread.body
    page = client.get(url(acme, "conversation", chat)).content.decode()
    assert f"Ticket #{ticket.number}" in page
    # Once: a second click is refused with the reason.
    again = client.post(url(acme, "conversation_ticket", chat))
    assert again.status_code == 400
    assert "already a ticket" in again.content.decode()
    assert Ticket.objects.for_org(acme.org).count() == 1


def test_console_chat_to_ticket_finds_the_existing_contact(client, acme, entry):
    contact = Contact.objects.create(org=acme.org, last_name="Vera", email="vera@shop.example")
    chat = start(entry, email="VERA@shop.example").conversation
    svc.conversation_end(conversation=chat)  # an ended chat may become a ticket too
    login(client, acme.admin)
    assert client.post(url(acme, "conversation_ticket", chat)).status_code == 302
    assert Ticket.objects.for_org(acme.org).get().contact_id == contact.pk
    assert Contact.objects.for_org(acme.org).count() == 1


def test_console_chat_to_ticket_needs_the_visitors_email(client, acme, entry):
    chat = start(entry, email="").conversation
    login(client, acme.admin)
    response = client.post(url(acme, "conversation_ticket", chat))
    assert response.status_code == 400
    assert "gave no email address" in response.content.decode()
    assert not Ticket.objects.for_org(acme.org).exists()


# --- Outsiders ---------------------------------------------------------------------------------
def test_console_services_refuse_another_organizations_objects(acme, globex, billing, entry):
    chat = start(entry).conversation
    outsider = globex.admin
    outsider.org = globex.org
    globex_department = ChatDepartment.objects.for_org(globex.org).first()
    with pytest.raises(PermissionDenied):
        transfer.transfer_to_department(actor=outsider, conversation=chat, department=billing)
    with pytest.raises(PermissionDenied):
        transfer.transfer_to_operator(actor=outsider, conversation=chat, user=acme.admin.user)
    with pytest.raises(PermissionDenied):
        to_ticket.conversation_to_ticket(actor=outsider, conversation=chat)
    acme.admin.org = acme.org
    with pytest.raises(OtherOrganizationError):
        transfer.transfer_to_department(
            actor=acme.admin, conversation=chat, department=globex_department
        )
    with pytest.raises(OtherOrganizationError):
        to_ticket.conversation_to_ticket(
            actor=acme.admin, conversation=chat, department=globex.department
        )
    # A member of the other organization is not an operator here.
    with pytest.raises(ValidationError):
        transfer.transfer_to_operator(actor=acme.admin, conversation=chat, user=globex.admin.user)
    chat.refresh_from_db()
    assert (chat.department_id, chat.state, chat.ticket_id) == (entry.pk, "waiting", None)
    assert routing.load_of(acme.org, acme.admin.user_id) == 0
    assert not Conversation.objects.for_org(globex.org).exists()


def test_console_outsider_gets_404_on_every_console_url(client, acme, globex, entry):
    chat = start(entry).conversation
    login(client, globex.admin)
    for name in ("conversation_transfer", "conversation_ticket"):
        assert client.post(url(acme, name, chat)).status_code == 404
    for name in ("console", "console_chats"):
        assert client.get(url(acme, name)).status_code == 404
    assert client.post(url(acme, "console_presence"), {"presence": "available"}).status_code == 404
    assert not OperatorStatus.objects.for_org(acme.org).exists()
