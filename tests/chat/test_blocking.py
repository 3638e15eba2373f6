"""Blocking a visitor's address (CHAT-04; issue 15 item 5, abuse): an operator blocks the
visitor's IP from the console; the chat ends, no new chat starts from that address (the widget
gets a clear message), the department's IP-block addresses hear when that setting is on;
supervisors unblock it in Setup > Chat > Blocked visitors; operators may not."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from chat.models import BlockedIP, Conversation
from tests.conftest import login
from tests.factories import UserFactory

from .visitor_helpers import (
    VISITOR_IP,
    console_url,
    email_on,
    start,
    visitor_client,
    visitor_url,
    widget_url,
)

pytestmark = pytest.mark.django_db


def block(client, tenant, conversation_id):
    return client.post(console_url(tenant, "conversation_block", conversation_id))


def test_chat04_a_blocked_ip_cannot_start_a_chat(client, acme, django_capture_on_commit_callbacks):
    email_on(acme, "ip_block", "security@acme.test")
    visitor = visitor_client()
    chat = start(visitor, acme)
    login(client, acme.admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = block(client, acme, chat["id"])
    assert response.status_code == 302
    conversation = Conversation.objects.for_org(acme.org).get()
    assert conversation.state == "ended"
    assert list(BlockedIP.objects.for_org(acme.org).values_list("ip", flat=True)) == [VISITOR_IP]
    page = client.get(response["Location"]).content.decode()
    assert f"The visitor&#x27;s address {VISITOR_IP} is blocked." in page

    # The notice went to the IP-block addresses.
    notices = [m for m in mail.outbox if m.to == ["security@acme.test"]]
    assert len(notices) == 1
    assert VISITOR_IP in notices[0].subject and "Acme Admin" in notices[0].body

    # The widget is told why, and no chat is made.
    refused = visitor.post(widget_url(acme, "widget_start"), {"message": "Let me in"})
    assert refused.status_code == 403
    assert refused.json() == {"error": "Chat is not available from your network address."}
    assert refused["Access-Control-Allow-Origin"] == "*"
    assert Conversation.objects.for_org(acme.org).count() == 1
    # The ended chat takes no more messages.
    late = visitor.post(
        visitor_url(acme, "visitor_messages", chat["id"]), {"token": chat["token"], "body": "hi"}
    )
    assert late.status_code == 400

    # Another address still chats.
    assert start(visitor_client("198.51.100.9"), acme)["id"]


def test_chat04_no_ip_block_mail_while_the_setting_is_off(
    client, acme, django_capture_on_commit_callbacks
):
    chat = start(visitor_client(), acme)
    login(client, acme.admin)
    with django_capture_on_commit_callbacks(execute=True):
        block(client, acme, chat["id"])
    assert mail.outbox == []


def test_chat04_supervisor_unblocks_and_the_visitor_chats_again(client, acme):
    visitor = visitor_client()
    chat = start(visitor, acme)
    login(client, acme.admin)
    block(client, acme, chat["id"])
    listing = client.get(reverse("chat:blocked", kwargs={"portal": acme.org.portal}))
    assert listing.status_code == 200
    assert f'data-blocked-ip="{VISITOR_IP}"' in listing.content.decode()
    blocked = BlockedIP.objects.for_org(acme.org).get()
    response = client.post(
        reverse(
            "chat:blocked_remove",
            kwargs={"portal": acme.org.portal, "chat_blocked_ip_id": blocked.pk},
        ),
        follow=True,
    )
    assert f"{VISITOR_IP} is unblocked." in response.content.decode()
    assert not BlockedIP.objects.for_org(acme.org).exists()
    assert start(visitor, acme)["id"]


def test_chat04_operators_block_from_their_chats_but_do_not_manage_the_list(client, acme, globex):
    olga = acme.member(
        user=UserFactory(email="olga@acme.test", full_name="Olga Operator"),
        desk_role="",
        chat_role="operator",
    )
    chat = start(visitor_client(), acme)  # the default department: Olga does not operate it
    login(client, olga)
    assert block(client, acme, chat["id"]).status_code == 404
    assert not BlockedIP.objects.for_org(acme.org).exists()
    assert (
        client.get(reverse("chat:blocked", kwargs={"portal": acme.org.portal})).status_code == 403
    )
    # Globex's admin: the 404 of a missing portal; nothing blocked.
    login(client, globex.admin)
    assert block(client, acme, chat["id"]).status_code == 404
    assert not BlockedIP.objects.for_org(acme.org).exists()


def test_chat04_blocking_twice_keeps_one_block_and_a_chat_without_address_says_so(client, acme):
    first = start(visitor_client(), acme)
    second = start(visitor_client(), acme)  # same address, started before the block
    login(client, acme.admin)
    block(client, acme, first["id"])
    block(client, acme, second["id"])
    assert BlockedIP.objects.for_org(acme.org).count() == 1
    assert Conversation.objects.for_org(acme.org).filter(state="ended").count() == 2

    no_ip = Conversation.objects.create(org=acme.org, department=None, state="live")
    response = client.post(console_url(acme, "conversation_block", no_ip.pk), follow=True)
    assert response.status_code == 200
    assert "This chat has no visitor address to block." in response.content.decode()
