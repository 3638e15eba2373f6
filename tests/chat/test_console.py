"""The operators' console, minimal (CHAT-07): waiting and live chats on the Chat home, a
conversation page to accept, reply and end; the visitor reads the answers through the
widget's endpoints. Alice is Acme's account admin (a chat supervisor since sign-up, operator
of the default department "acme"); Olga operates only "Sales"; Bob has no Chat."""

from __future__ import annotations

import pytest
from django.urls import reverse

from chat.models import ChatDepartment, Conversation
from chat.services import conversations as svc
from chat.services.departments import department_create
from tests.conftest import login
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
XSS = "<img src=x onerror=alert(1)>"


@pytest.fixture
def olga(acme):
    return acme.member(
        user=UserFactory(email="olga@acme.test", full_name="Olga Operator"),
        desk_role="",
        chat_role="operator",
    )


@pytest.fixture
def sales(acme, olga):
    acme.admin.org = acme.org
    return department_create(actor=acme.admin, name="Sales", operators=[olga.user])


def start(tenant, department: ChatDepartment | None = None, message: str = "Hello", name="Vera"):
    entry = department or ChatDepartment.objects.for_org(tenant.org).order_by("pk").first()
    return svc.conversation_start(
        entry=entry,
        department_id=None,
        name=name,
        email="vera@shop.example",
        message=message,
        ip="192.0.2.7",
        language="ja",
    )


def page(tenant, conversation: Conversation, name: str = "conversation") -> str:
    return reverse(
        f"chat:{name}",
        kwargs={"portal": tenant.org.portal, "chat_conversation_id": conversation.pk},
    )


def visitor_poll(client, tenant, started, after: int = 0) -> dict:
    url = reverse(
        "chat:visitor_messages",
        kwargs={"portal": tenant.org.portal, "chat_conversation_id": started.conversation.pk},
    )
    return client.get(url, {"token": started.token, "after": after}).json()


def test_chat07_operator_accepts_replies_and_ends_a_chat(client, acme):
    started = start(acme, message="Do you ship to Osaka?")
    conversation = started.conversation
    login(client, acme.admin)
    home = client.get(reverse("chat_home", kwargs={"portal": acme.org.portal})).content.decode()
    assert f'data-chat="{conversation.pk}"' in home
    assert "Vera" in home

    response = client.get(page(acme, conversation))
    assert response.status_code == 200
    assert "Do you ship to Osaka?" in response.content.decode()
    assert "192.0.2.7" in response.content.decode()

    assert client.post(page(acme, conversation, "conversation_accept")).status_code == 302
    conversation.refresh_from_db()
    assert conversation.state == "live"
    assert conversation.accepted_by == acme.admin.user
    # A second accept is refused with a message, not a crash.
    assert (
        client.post(page(acme, conversation, "conversation_accept"), follow=True).status_code == 200
    )

    response = client.post(
        page(acme, conversation, "conversation_reply"),
        {"body": "Yes, we do."},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert response.status_code == 201
    polled = visitor_poll(client, acme, started, after=1)
    assert [(m["sender"], m["body"]) for m in polled["messages"]][-1] == (
        "operator",
        "Yes, we do.",
    )
    assert polled["messages"][-1]["author"] == acme.admin.user.full_name

    assert client.post(page(acme, conversation, "conversation_end")).status_code == 302
    assert visitor_poll(client, acme, started)["state"] == "ended"
    page_text = client.get(page(acme, conversation)).content.decode()
    assert 'data-testid="chat-ended"' in page_text
    assert "chat-reply" not in page_text


def test_chat07_an_empty_reply_is_refused_with_the_error_shown(client, acme):
    started = start(acme)
    login(client, acme.admin)
    response = client.post(page(acme, started.conversation, "conversation_reply"), {"body": " "})
    assert response.status_code == 400
    assert "Write a message." in response.content.decode()
    assert started.conversation.messages.count() == 1


def test_chat07_operators_see_only_their_departments_chats(client, acme, olga, sales):
    theirs = start(acme, sales, name="Sales visitor")
    other = start(acme, name="Default visitor")
    login(client, olga)
    home = client.get(reverse("chat_home", kwargs={"portal": acme.org.portal})).content.decode()
    assert f'data-chat="{theirs.conversation.pk}"' in home
    assert f'data-chat="{other.conversation.pk}"' not in home
    assert client.get(page(acme, theirs.conversation)).status_code == 200
    assert client.get(page(acme, other.conversation)).status_code == 404
    assert client.post(page(acme, other.conversation, "conversation_accept")).status_code == 404
    assert (
        client.post(
            page(acme, other.conversation, "conversation_reply"), {"body": "hi"}
        ).status_code
        == 404
    )
    assert client.post(page(acme, other.conversation, "conversation_end")).status_code == 404
    other.conversation.refresh_from_db()
    assert other.conversation.state == "waiting"


def test_chat07_members_without_chat_are_refused(client, acme, bob):
    started = start(acme)
    login(client, bob)
    assert client.get(page(acme, started.conversation)).status_code == 403


def test_chat07_outsider_gets_404(client, acme, globex):
    started = start(acme)
    login(client, globex.admin)
    for name in ("conversation", "conversation_accept", "conversation_end"):
        method = client.get if name == "conversation" else client.post
        url = page(acme, started.conversation, name).replace(acme.org.portal, globex.org.portal, 1)
        assert method(url).status_code == 404


def test_chat07_xss_payload_shows_as_text_on_the_operator_page(client, acme):
    started = start(acme, message=XSS, name=XSS)
    login(client, acme.admin)
    content = client.get(page(acme, started.conversation)).content.decode()
    assert XSS not in content
    assert "&lt;img src=x onerror=alert(1)&gt;" in content
    home = client.get(reverse("chat_home", kwargs={"portal": acme.org.portal})).content.decode()
    assert XSS not in home
