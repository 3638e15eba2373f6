"""The rest of issue 16, item 1: blueprint transitions of a ticket (those the token's member
may execute, the reasons for the others; executing one with its during fields), the CRM's
accounts, contacts and deals, and chat transcripts, with the API's error shape, cursors,
scopes and organization isolation."""

from __future__ import annotations

import pytest

from blueprints.models import OwnerKind
from blueprints.services import FieldInput, OwnerInput
from chat.models import ChatDepartment
from chat.services.conversations import conversation_start
from crmsync.models import CrmAccount, CrmContact, Deal, DealContact
from helpdesk.tickets.models import CustomField
from tests.api.conftest import ApiClient, issue
from tests.blueprints import conftest as blueprint_fixtures
from tests.tickets import conftest as ticket_fixtures

pytestmark = pytest.mark.django_db

# The blueprint tests' fixtures: the desk (Bob agent, Rita restricted), Enterprise, `make`.
desk = ticket_fixtures.desk
enterprise = blueprint_fixtures.enterprise
make = blueprint_fixtures.make


@pytest.fixture
def approval(make):
    desk = make.desk
    CustomField.objects.create(
        org=desk.org, department=desk.department, label="Approver note", key="note", type="text"
    )
    blueprint, states = make.blueprint(statuses=("Open", "Awaiting approval", "Approved"))
    submit = make.transition(
        blueprint,
        "Submit",
        states["Awaiting approval"],
        [states["Open"]],
        fields=[FieldInput(field="cf.note", mandatory=True)],
        owners=[OwnerInput(kind=OwnerKind.AGENT, user_id=desk.agent.user_id)],
    )
    return desk, blueprint, states, submit


def _api(membership, *, write=True) -> ApiClient:
    return ApiClient(issue(membership, write=write), membership.org.portal)


# --- Blueprint transitions ------------------------------------------------------------------
def test_api01_bp25_transitions_for_the_owner_and_reasons_for_others(approval):
    desk, blueprint, states, submit = approval
    ticket = desk.ticket()
    mine = _api(desk.agent).get(f"tickets/{ticket.number}/transitions")
    assert mine.status_code == 200
    body = mine.json()
    assert body["blueprint"] == {"id": blueprint.pk, "name": "Approval"}
    assert body["state"] == {"id": states["Open"].pk, "name": "Open"}
    [option] = body["transitions"]
    assert option["id"] == submit.pk and option["can_execute"] is True
    assert option["to"]["name"] == "Awaiting approval"
    assert option["fields"] == [{"field": "cf.note", "mandatory": True, "missing": True}]
    assert option["ready"] is False and option["reasons"] == []
    theirs = _api(desk.admin).get(f"tickets/{ticket.number}/transitions").json()
    [other] = theirs["transitions"]
    assert other["can_execute"] is False
    assert other["reasons"] == ["Only Bob may execute this transition."]


def test_api01_bp08_executing_a_transition_validates_its_fields_then_moves(approval):
    desk, _blueprint, states, submit = approval
    ticket = desk.ticket()
    url = f"tickets/{ticket.number}/transitions/{submit.pk}"
    agent = _api(desk.agent)
    refused = agent.post(url, {"data": {}})
    assert refused.status_code == 422
    assert refused["Content-Type"] == "application/problem+json"
    assert "cf.note" in refused.json()["errors"]
    ticket.refresh_from_db()
    assert ticket.status.name == "Open"
    # Not the owner: 403 with the reason, nothing moves.
    forbidden = _api(desk.admin).post(url, {"data": {"cf.note": "x"}})
    assert forbidden.status_code == 403
    assert "Only Bob may execute this transition." in forbidden.json()["detail"]
    # A read-only token cannot execute.
    assert _api(desk.agent, write=False).post(url, {"data": {"cf.note": "x"}}).status_code == 403
    done = agent.post(
        url, {"data": {"cf.note": "Manager <please>"}, "expected_state": states["Open"].pk}
    )
    assert done.status_code == 200, done.content
    result = done.json()
    assert result["state"]["name"] == "Awaiting approval"
    assert result["ticket"]["status"]["name"] == "Awaiting approval"
    assert result["ticket"]["custom_fields"]["note"] == "Manager <please>"
    # The same request again (the state it saw is gone): a conflict, not a second move.
    again = agent.post(url, {"data": {"cf.note": "x"}, "expected_state": states["Open"].pk})
    assert again.status_code == 409
    assert again.json()["status"] == 409
    # Unknown body fields are refused.
    assert agent.post(url, {"date": {}}).status_code == 422


def test_api01_transitions_of_a_ticket_without_blueprint_and_of_unknown_ones(approval):
    desk, *_rest = approval
    ticket = desk.ticket()
    from blueprints.models import TicketBlueprint

    TicketBlueprint.objects.filter(ticket=ticket).delete()
    body = _api(desk.agent).get(f"tickets/{ticket.number}/transitions").json()
    assert body == {"blueprint": None, "state": None, "transitions": []}
    assert _api(desk.agent).get("tickets/99999/transitions").status_code == 404
    assert _api(desk.agent).post(f"tickets/{ticket.number}/transitions/99999").status_code == 404


# --- CRM ------------------------------------------------------------------------------------
def _crm(tenant, name):
    account = CrmAccount.objects.create(org=tenant.org, name=f"{name} account")
    contact = CrmContact.objects.create(
        org=tenant.org, last_name=f"{name} contact", email=f"{name.lower()}@example.com"
    )
    deal = Deal.objects.create(
        org=tenant.org, name=f"{name} deal", account=account, amount="1200.50"
    )
    DealContact.objects.create(org=tenant.org, deal=deal, contact=contact)
    return account, contact, deal


def test_api01_crm_accounts_contacts_deals_read_with_cursors(acme, bob):
    account, contact, deal = _crm(acme, "Acme")
    for n in range(3):
        CrmAccount.objects.create(org=acme.org, name=f"Extra {n}")
    api = _api(acme.admin)
    first = api.get("crm/accounts", {"size": 2})
    assert first.status_code == 200
    page = first.json()
    assert [a["name"] for a in page["items"]] == ["Acme account", "Extra 0"]
    rest = api.get("crm/accounts", {"size": 2, "cursor": page["next_cursor"]}).json()
    assert [a["name"] for a in rest["items"]] == ["Extra 1", "Extra 2"]
    assert api.get("crm/accounts", {"q": "acme"}).json()["items"][0]["id"] == account.pk
    assert api.get(f"crm/accounts/{account.pk}").json()["name"] == "Acme account"
    assert api.get(f"crm/contacts/{contact.pk}").json()["email"] == "acme@example.com"
    got = api.get(f"crm/deals/{deal.pk}").json()
    assert got["amount"] == "1200.50" and got["contact_ids"] == [contact.pk]
    assert got["account"] == {"id": account.pk, "name": "Acme account"}
    assert api.get("crm/deals", {"stage": "open"}).json()["items"][0]["id"] == deal.pk
    assert api.get("crm/deals", {"stage": "won"}).json()["items"] == []
    bad = api.get("crm/deals", {"stage": "bogus", "colour": "red"})
    assert bad.status_code == 422
    assert api.get("crm/accounts", {"cursor": "garbage"}).status_code == 422
    # A member without the CRM is refused by the CRM's own permission table.
    refused = _api(bob).get("crm/accounts")
    assert refused.status_code == 403
    assert refused["Content-Type"] == "application/problem+json"


# --- Chat transcripts -----------------------------------------------------------------------
def _chat(tenant, name="Visitor"):
    entry = ChatDepartment.objects.for_org(tenant.org).first()
    return conversation_start(
        entry=entry,
        department_id=None,
        name=name,
        email="v@example.com",
        message="Hello <there>",
        ip="203.0.113.5",
        language="en",
    ).conversation


def test_api01_chat_transcripts_read(acme, bob):
    chat = _chat(acme, "Hanako")
    api = _api(acme.admin)
    listing = api.get("chats")
    assert listing.status_code == 200
    [item] = listing.json()["items"]
    assert item["id"] == chat.pk and item["visitor"]["name"] == "Hanako"
    assert item["state"] == "waiting"
    assert api.get("chats", {"state": "ended"}).json()["items"] == []
    assert api.get(f"chats/{chat.pk}").json()["messages"] == chat.last_seq
    messages = api.get(f"chats/{chat.pk}/messages").json()
    assert messages["items"][0]["body"] == "Hello <there>"
    assert messages["items"][0]["sender"] == "visitor"
    assert api.get(f"chats/{chat.pk}/messages", {"after": 1}).json()["items"] == [
        m for m in messages["items"] if m["seq"] > 1
    ]
    assert api.get("chats", {"state": "chatting"}).status_code == 422
    # Without the chat app: refused.
    assert _api(bob).get("chats").status_code == 403


# --- Isolation ------------------------------------------------------------------------------
def test_org01_api_token_of_acme_gets_404_for_globex_crm_chats_and_transitions(
    acme, globex, approval
):
    desk, _blueprint, _states, submit = approval
    account, contact, deal = _crm(globex, "Globex")
    chat = _chat(globex, "Globex secret visitor")
    globex.admin.org = globex.org
    api = _api(acme.admin)
    for path in (
        f"crm/accounts/{account.pk}",
        f"crm/contacts/{contact.pk}",
        f"crm/deals/{deal.pk}",
        f"chats/{chat.pk}",
        f"chats/{chat.pk}/messages",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
        assert b"Globex" not in response.content
    for path in ("crm/accounts", "crm/contacts", "crm/deals", "chats"):
        assert b"Globex" not in api.get(path).content, path
    # Globex's token on Acme's portal: unknown token, the portal answers as if it did not exist.
    outsider = ApiClient(issue(globex.admin), acme.org.portal)
    ticket = desk.ticket()
    assert outsider.get(f"tickets/{ticket.number}/transitions").status_code == 404
    assert outsider.post(f"tickets/{ticket.number}/transitions/{submit.pk}").status_code == 404
    ticket.refresh_from_db()
    assert ticket.status.name == "Open"


# --- Webhook events from the blueprint engine and ratings (issue 16, item 4) ---------------
def test_api04_transition_completed_and_rating_received_are_delivered(
    approval, settings, django_capture_on_commit_callbacks
):
    import json

    from api.webhooks import services as hooks
    from helpdesk.tickets.helpcenter.ratings import rating_set
    from helpdesk.tickets.services.tickets import TicketInput, ticket_update
    from tests.api.test_webhooks import Receiver

    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    desk, _blueprint, states, submit = approval
    receiver = Receiver()
    try:
        hooks.subscription_create(
            actor=desk.admin,
            name="ERP",
            url=receiver.url,
            events=["ticket.transition_completed", "ticket.rated"],
        )
        ticket = desk.ticket()
        with django_capture_on_commit_callbacks(execute=True):
            done = _api(desk.agent).post(
                f"tickets/{ticket.number}/transitions/{submit.pk}", {"data": {"cf.note": "ok"}}
            )
        assert done.status_code == 200
        [sent] = [json.loads(r["body"]) for r in receiver.requests]
        assert sent["event"] == "ticket.transition_completed"
        assert sent["data"]["transition"] == {
            "id": submit.pk,
            "name": "Submit",
            "from": "Open",
            "to": "Awaiting approval",
        }
        assert sent["data"]["actor"]["email"] == "bob@acme.test"
        assert sent["data"]["ticket"]["number"] == ticket.number
        closed = desk.status("Closed", ticket.department)
        with django_capture_on_commit_callbacks(execute=True):
            ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(status=closed))
        ticket.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            rating_set(ticket=ticket, contact=desk.contact, value="good", comment="Quick <b>")
        events = [json.loads(r["body"])["event"] for r in receiver.requests]
        assert events.count("ticket.rated") == 1
        rated = json.loads(receiver.requests[-1]["body"])
        assert rated["event"] == "ticket.rated"
        assert "Quick <b>" in json.dumps(rated["data"]["changes"], ensure_ascii=False)
    finally:
        receiver.close()
