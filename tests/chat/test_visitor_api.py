"""The widget's JSON endpoints (CHAT-02, CHAT-07): a visitor on any website starts a chat,
posts and reads messages with the conversation's token; private departments never show;
tokens and ids cannot be guessed; public endpoints are rate-limited and cross-origin, and
only they are.

Acme's default department "acme" is public (its embed code is the widget's entry); Acme also
has a private "Billing"; Globex is the other organization."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from chat.models import ChatDepartment, ChatMessage, Conversation
from chat.services.departments import department_create

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
XSS = "<img src=x onerror=alert(1)>"


def default_department(tenant) -> ChatDepartment:
    return ChatDepartment.objects.for_org(tenant.org).order_by("pk").first()


def widget_url(tenant, name: str, department: ChatDepartment | None = None) -> str:
    department = department or default_department(tenant)
    return reverse(
        f"chat:{name}", kwargs={"portal": tenant.org.portal, "embed_key": department.embed_key}
    )


def visitor_url(tenant, name: str, conversation_id: int) -> str:
    return reverse(
        f"chat:{name}",
        kwargs={"portal": tenant.org.portal, "chat_conversation_id": conversation_id},
    )


@pytest.fixture
def visitor() -> Client:
    """A browser on another website: no session of ours."""
    return Client(HTTP_ACCEPT_LANGUAGE="en", HTTP_ORIGIN="https://shop.example")


@pytest.fixture
def billing(acme):
    acme.admin.org = acme.org
    return department_create(actor=acme.admin, name="Billing", visibility="private")


@pytest.fixture
def sales(acme):
    acme.admin.org = acme.org
    return department_create(actor=acme.admin, name="Sales")


def start(client: Client, tenant, **fields) -> dict:
    data = {"name": "Vera Visitor", "email": "vera@shop.example", "message": "Hello", **fields}
    response = client.post(widget_url(tenant, "widget_start"), data)
    assert response.status_code == 201, response.content
    return response.json()


def post(client: Client, tenant, chat: dict, body: str, token: str | None = None):
    return client.post(
        visitor_url(tenant, "visitor_messages", chat["id"]),
        {"body": body, "token": chat["token"] if token is None else token},
    )


def poll(client: Client, tenant, chat: dict, after: int = 0, token: str | None = None):
    return client.get(
        visitor_url(tenant, "visitor_messages", chat["id"]),
        {"after": after, "token": chat["token"] if token is None else token},
    )


# --- Starting and chatting ---------------------------------------------------------------------
def test_chat07_visitor_starts_a_chat_and_posts_messages(visitor, acme):
    chat = start(visitor, acme, message="Do you ship to Osaka?")
    assert chat["state"] == "waiting"
    assert [m["body"] for m in chat["messages"]] == ["Do you ship to Osaka?"]
    conversation = Conversation.objects.for_org(acme.org).get(pk=chat["id"])
    assert conversation.visitor_name == "Vera Visitor"
    assert conversation.visitor_ip == "127.0.0.1"
    assert conversation.department == default_department(acme)
    assert chat["token"] not in conversation.token_hash  # only its hash is kept

    response = post(visitor, acme, chat, "And to Sapporo?")
    assert response.status_code == 201
    assert response.json()["seq"] == 2
    # The header works as well as the field.
    response = visitor.post(
        visitor_url(acme, "visitor_messages", chat["id"]),
        json.dumps({"body": "Thanks"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {chat['token']}",
    )
    assert response.status_code == 201
    messages = poll(visitor, acme, chat).json()["messages"]
    assert [(m["seq"], m["sender"], m["body"]) for m in messages] == [
        (1, "visitor", "Do you ship to Osaka?"),
        (2, "visitor", "And to Sapporo?"),
        (3, "visitor", "Thanks"),
    ]


def test_chat07_polling_after_a_seq_returns_only_newer_messages(visitor, acme):
    chat = start(visitor, acme)
    for body in ("two", "three", "four"):
        post(visitor, acme, chat, body)
    response = poll(visitor, acme, chat, after=2)
    assert [m["body"] for m in response.json()["messages"]] == ["three", "four"]
    assert poll(visitor, acme, chat, after=4).json()["messages"] == []


def test_chat07_invalid_input_is_a_400_with_field_errors_and_nothing_saved(visitor, acme):
    acme_default = default_department(acme)
    acme_default.name_required = True
    acme_default.save()
    response = visitor.post(
        widget_url(acme, "widget_start"), {"name": "", "email": "not an email", "message": " "}
    )
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name", "email", "body"}
    assert not Conversation.objects.for_org(acme.org).exists()

    chat = start(visitor, acme)
    assert post(visitor, acme, chat, "x" * 4001).status_code == 400
    assert post(visitor, acme, chat, "").status_code == 400
    bad_json = visitor.post(
        visitor_url(acme, "visitor_messages", chat["id"]), "{", content_type="application/json"
    )
    assert bad_json.status_code == 400
    assert (
        visitor.get(
            visitor_url(acme, "visitor_messages", chat["id"]),
            {"after": "x", "token": chat["token"]},
        ).status_code
        == 400
    )
    assert ChatMessage.objects.for_org(acme.org).count() == 1


def test_chat07_visitor_ends_the_chat_and_can_no_longer_post(visitor, acme):
    chat = start(visitor, acme)
    response = visitor.post(visitor_url(acme, "visitor_end", chat["id"]), {"token": chat["token"]})
    assert response.json() == {"state": "ended"}
    polled = poll(visitor, acme, chat).json()
    assert polled["state"] == "ended"
    assert polled["messages"][-1]["sender"] == "system"
    assert post(visitor, acme, chat, "still there?").status_code == 400


def test_chat07_typing_notice_is_accepted_not_stored(visitor, acme):
    chat = start(visitor, acme)
    response = visitor.post(
        visitor_url(acme, "visitor_typing", chat["id"]), {"token": chat["token"]}
    )
    assert response.status_code == 204
    assert ChatMessage.objects.for_org(acme.org).count() == 1


# --- Private departments -----------------------------------------------------------------------
def test_chat02_private_department_never_appears_in_the_config(visitor, acme, billing, sales):
    config = visitor.get(widget_url(acme, "widget_config")).json()
    names = [d["name"] for d in config["departments"]]
    assert names == ["Sales", "acme"]
    assert "Billing" not in json.dumps(config)
    assert set(config["strings"]) == {"ja", "en"}
    # Its embed key (it has one in the database) opens nothing.
    assert visitor.get(widget_url(acme, "widget_config", billing)).status_code == 404
    assert visitor.get(widget_url(acme, "widget_script", billing)).status_code == 404


def test_chat02_starting_a_chat_in_a_private_department_by_its_id_is_refused(
    visitor, acme, billing, sales
):
    response = visitor.post(
        widget_url(acme, "widget_start"),
        {"name": "Eve", "message": "hi", "department": billing.pk},
    )
    assert response.status_code == 400
    assert "department" in response.json()["errors"]
    assert "Billing" not in response.content.decode()
    assert not Conversation.objects.for_org(acme.org).exists()
    # A public one may be picked.
    chat = start(visitor, acme, department=sales.pk)
    assert Conversation.objects.for_org(acme.org).get(pk=chat["id"]).department == sales


def test_chat02_another_organizations_department_cannot_be_picked(visitor, acme, globex):
    response = visitor.post(
        widget_url(acme, "widget_start"),
        {"message": "hi", "department": default_department(globex).pk},
    )
    assert response.status_code == 400
    assert not Conversation.objects.for_org(globex.org).exists()


# --- Guessing ----------------------------------------------------------------------------------
def test_chat07_wrong_token_or_another_conversations_id_is_a_404(visitor, acme, globex):
    mine = start(visitor, acme, message="mine")
    theirs = start(visitor, acme, message="someone else's secret")
    for response in (
        poll(visitor, acme, theirs, token=mine["token"]),
        poll(visitor, acme, theirs, token=""),
        poll(visitor, acme, {"id": theirs["id"] + 1000, "token": mine["token"]}),
        post(visitor, acme, theirs, "hijack", token=mine["token"]),
        visitor.post(visitor_url(acme, "visitor_end", theirs["id"]), {"token": "x"}),
        visitor.post(visitor_url(acme, "visitor_typing", theirs["id"]), {}),
    ):
        assert response.status_code == 404
        assert b"secret" not in response.content
    # The right token on another portal's URL is a 404 too.
    other = start(visitor, globex, message="globex secret")
    assert poll(visitor, acme, other).status_code == 404
    assert ChatMessage.objects.for_org(acme.org).count() == 2
    assert Conversation.objects.for_org(acme.org).get(pk=theirs["id"]).state == "waiting"


# --- Text stays text ---------------------------------------------------------------------------
def test_chat07_xss_payload_is_returned_as_plain_text(visitor, acme):
    chat = start(visitor, acme, message=XSS, name=XSS)
    assert post(visitor, acme, chat, XSS).json()["message"]["body"] == XSS
    assert [m["body"] for m in poll(visitor, acme, chat).json()["messages"]] == [XSS, XSS]


# --- Abuse and cross-origin --------------------------------------------------------------------
def test_chat07_starting_chats_is_rate_limited_per_address(visitor, acme, settings):
    settings.CHAT_RATE_LIMIT_START_PER_MINUTE = 2
    start(visitor, acme)
    start(visitor, acme)
    response = visitor.post(widget_url(acme, "widget_start"), {"message": "third"})
    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["Access-Control-Allow-Origin"] == "*"
    assert Conversation.objects.for_org(acme.org).count() == 2


def test_chat07_posting_messages_is_rate_limited_per_address(visitor, acme, settings):
    settings.CHAT_RATE_LIMIT_MESSAGE_PER_MINUTE = 3
    chat = start(visitor, acme)
    assert [post(visitor, acme, chat, str(n)).status_code for n in range(4)] == [
        201,
        201,
        201,
        429,
    ]


def test_chat02_widget_endpoints_allow_any_origin_without_cookies(visitor, acme):
    chat = start(visitor, acme)
    responses = [
        visitor.get(widget_url(acme, "widget_script")),
        visitor.get(widget_url(acme, "widget_config")),
        visitor.post(widget_url(acme, "widget_start"), {"message": "hi"}),
        poll(visitor, acme, chat),
        post(visitor, acme, chat, "hello"),
        visitor.options(
            visitor_url(acme, "visitor_messages", chat["id"]),
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type",
        ),
    ]
    for response in responses:
        assert response["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response
        assert not response.cookies  # no cookie of ours on the host page
    preflight = responses[-1]
    assert preflight.status_code == 204
    assert "Authorization" in preflight["Access-Control-Allow-Headers"]
    assert responses[0]["Content-Type"].startswith("text/javascript")


def test_chat02_other_chat_urls_stay_same_origin(visitor, client, acme):
    from tests.conftest import login

    login(client, acme.admin)
    for name in ("chat_home",):
        response = client.get(reverse(name, kwargs={"portal": acme.org.portal}))
        assert response.status_code == 200
        assert "Access-Control-Allow-Origin" not in response
    response = client.get(reverse("chat:departments", kwargs={"portal": acme.org.portal}))
    assert "Access-Control-Allow-Origin" not in response


def test_chat02_widget_script_is_small(acme):
    import gzip

    script = (ROOT / "static" / "chat" / "widget.js").read_bytes()
    assert len(gzip.compress(script, compresslevel=9)) < 20 * 1024
    assert b"innerHTML" not in script  # visitors' and operators' text goes in as textContent


def test_chat07_supervisor_makes_name_and_email_required_and_the_widget_asks_for_them(
    client, visitor, acme
):
    from tests.conftest import login

    department = default_department(acme)
    login(client, acme.admin)
    field = reverse(
        "chat:department_field",
        kwargs={"portal": acme.org.portal, "chat_department_id": department.pk},
    )
    hx = {"HTTP_HX_REQUEST": "true"}
    payloads = (
        {"field": "name_required", "d-name_required-name_required": "on"},
        {"field": "email_required", "d-email_required-email_required": "on"},
    )
    for data in payloads:
        assert client.post(field, data, **hx).status_code == 200
    config = visitor.get(widget_url(acme, "widget_config")).json()
    assert config["name_required"] and config["email_required"]
    response = visitor.post(widget_url(acme, "widget_start"), {"message": "hi"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"name", "email"}
    # Unchecked again (a checkbox posts nothing): optional.
    assert client.post(field, {"field": "name_required"}, **hx).status_code == 200
    assert not visitor.get(widget_url(acme, "widget_config")).json()["name_required"]
