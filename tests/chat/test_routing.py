"""Presence, limits and routing (issue 15, item 3): a new chat is offered to the least-loaded
available operator of its department, the visitor's previous operator first (when available
and under their limit); busy and away operators get none; accepting past one's limit is
refused. Olga and Pete operate "Sales"; Alice is Acme's admin (a chat supervisor)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from chat.models import OperatorStatus
from chat.services import conversations as svc
from chat.services import routing
from chat.services.departments import department_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def olga(acme):
    return acme.member(
        user=UserFactory(email="olga@acme.test", full_name="Olga"),
        desk_role="",
        chat_role="operator",
    )


@pytest.fixture
def pete(acme):
    return acme.member(
        user=UserFactory(email="pete@acme.test", full_name="Pete"),
        desk_role="",
        chat_role="operator",
    )


@pytest.fixture
def sales(acme, olga, pete):
    acme.admin.org = acme.org
    return department_create(actor=acme.admin, name="Sales", operators=[olga.user, pete.user])


def presence(tenant, member, value="available", max_chats=3):
    OperatorStatus.objects.update_or_create(
        org=tenant.org, user=member.user, defaults={"presence": value, "max_chats": max_chats}
    )


def start(department, email="vera@shop.example", name="Vera"):
    return svc.conversation_start(
        entry=department,
        department_id=None,
        name=name,
        email=email,
        message="Hello",
        ip="192.0.2.7",
        language="en",
    ).conversation


def accept(member, conversation):
    member.org = conversation.org
    return svc.conversation_accept(actor=member, conversation=conversation)


def test_routing_goes_to_the_least_loaded_available_operator(acme, olga, pete, sales):
    presence(acme, olga)
    presence(acme, pete)
    first = start(sales, email="a@shop.example")
    assert first.assigned_to_id == olga.user_id  # equal load: the first operator added
    second = start(sales, email="b@shop.example")
    assert second.assigned_to_id == pete.user_id  # Olga has one offered, Pete none
    accept(pete, second)
    accept(pete, start(sales, email="c@shop.example"))  # offered to Olga, Pete takes it
    # Loads now: Olga 1 (offered), Pete 2 (live): the next goes to Olga.
    assert start(sales, email="d@shop.example").assigned_to_id == olga.user_id


def test_routing_offers_the_visitors_previous_operator_first(acme, olga, pete, sales):
    presence(acme, olga)
    presence(acme, pete)
    earlier = start(sales, email="Vera@Shop.example")
    accept(pete, earlier)
    svc.conversation_end(conversation=earlier)
    accept(pete, start(sales, email="other@shop.example"))  # Pete is busier than Olga now
    again = start(sales, email="vera@shop.example")
    assert again.assigned_to_id == pete.user_id  # same visitor (any case): Pete again


def test_routing_skips_a_previous_operator_who_is_away_or_at_the_limit(acme, olga, pete, sales):
    presence(acme, olga)
    presence(acme, pete, max_chats=1)
    earlier = start(sales)
    accept(pete, earlier)
    svc.conversation_end(conversation=earlier)
    accept(pete, start(sales, email="other@shop.example"))  # Pete at his limit of 1
    assert start(sales).assigned_to_id == olga.user_id
    presence(acme, pete, "away", max_chats=5)
    assert start(sales, email="vera@shop.example").assigned_to_id == olga.user_id


def test_routing_busy_and_away_operators_get_no_chat(acme, olga, pete, sales):
    presence(acme, olga, "busy")
    presence(acme, pete, "away")
    chat = start(sales)
    assert chat.assigned_to_id is None
    assert chat.state == "waiting"  # any operator may still accept it
    # An operator without a presence row is away.
    OperatorStatus.objects.for_org(acme.org).delete()
    assert start(sales, email="x@shop.example").assigned_to_id is None


def test_routing_never_offers_past_the_limit(acme, olga, pete, sales):
    presence(acme, olga, max_chats=1)
    presence(acme, pete, max_chats=1)
    assert start(sales, email="a@shop.example").assigned_to_id == olga.user_id
    assert start(sales, email="b@shop.example").assigned_to_id == pete.user_id
    assert start(sales, email="c@shop.example").assigned_to_id is None


def test_routing_accepting_past_ones_limit_is_refused(acme, olga, sales):
    presence(acme, olga, max_chats=1)
    accept(olga, start(sales, email="a@shop.example"))
    waiting = start(sales, email="b@shop.example")
    with pytest.raises(ValidationError, match="the most they take at once"):
        accept(olga, waiting)
    waiting.refresh_from_db()
    assert waiting.state == "waiting"


def test_routing_a_waiting_chat_is_offered_when_an_operator_becomes_available(acme, olga, sales):
    chat = start(sales)
    assert chat.assigned_to_id is None
    olga.org = acme.org
    routing.presence_set(actor=olga, presence="available")
    chat.refresh_from_db()
    assert chat.assigned_to_id == olga.user_id


def test_routing_presence_refuses_bad_values_and_changes_nothing(acme, olga):
    olga.org = acme.org
    routing.presence_set(actor=olga, presence="busy", max_chats=4)
    with pytest.raises(ValidationError) as caught:
        routing.presence_set(actor=olga, presence="asleep", max_chats=0)
    assert set(caught.value.message_dict) == {"presence", "max_chats"}
    status = routing.status_of(acme.org, olga.user_id)
    assert (status.presence, status.max_chats) == ("busy", 4)


def test_routing_accept_clears_the_offer_and_the_missed_timer(acme, olga, pete, sales):
    presence(acme, olga)
    chat = start(sales)
    assert chat.due_at is not None and chat.assigned_to_id == olga.user_id
    accept(pete, chat)
    chat.refresh_from_db()
    assert (chat.state, chat.accepted_by_id, chat.assigned_to_id, chat.due_at) == (
        "live",
        pete.user_id,
        pete.user_id,
        None,
    )
    assert routing.loads(acme.org, [olga.user_id, pete.user_id]) == {
        olga.user_id: 0,
        pete.user_id: 1,
    }


def test_routing_a_returning_visitor_known_by_the_widgets_key_gets_their_operator(
    client, acme, olga, pete, sales
):
    from django.urls import reverse
    from django.utils import timezone

    from chat.models import Conversation, Visitor

    presence(acme, olga)
    presence(acme, pete)
    now = timezone.now()
    visitor = Visitor.objects.create(
        org=acme.org,
        key="returning-visitor-key-0001",
        department=sales,
        first_seen_at=now,
        last_seen_at=now,
        visit_started_at=now,
        page_views=1,
    )
    earlier = start(sales, email="")  # no address: only the widget's key knows them
    accept(pete, earlier)
    svc.conversation_end(conversation=earlier)
    Conversation.objects.for_org(acme.org).filter(pk=earlier.pk).update(visitor=visitor)
    accept(pete, start(sales, email="busy@shop.example"))  # Pete is busier than Olga
    response = client.post(
        reverse("chat:widget_start", kwargs={"portal": "acme", "embed_key": sales.embed_key}),
        {"message": "Me again", "visitor": visitor.key},
    )
    assert response.status_code == 201
    chat = Conversation.objects.for_org(acme.org).get(pk=response.json()["id"])
    assert (chat.visitor_id, chat.assigned_to_id) == (visitor.pk, pete.user_id)


def test_routing_an_operator_going_away_gives_back_the_chats_offered_to_them(
    acme, olga, pete, sales
):
    presence(acme, olga)
    chat = start(sales)
    assert chat.assigned_to_id == olga.user_id
    presence(acme, pete)
    olga.org = acme.org
    routing.presence_set(actor=olga, presence="away")
    chat.refresh_from_db()
    assert chat.assigned_to_id == pete.user_id
    pete.org = acme.org
    routing.presence_set(actor=pete, presence="busy")
    chat.refresh_from_db()
    assert chat.assigned_to_id is None  # nobody may take it now; any operator may accept
    routing.presence_set(actor=olga, presence="available")
    chat.refresh_from_db()
    assert chat.assigned_to_id == olga.user_id
