"""Webhooks of the API (issue 16, item 4), against a real HTTP receiver on 127.0.0.1 (a
thread running http.server; private targets allowed only where a test needs it)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import transaction

from api.models import DeliveryState, WebhookAttempt, WebhookDelivery, WebhookSubscription
from api.webhooks import services as svc
from chat.models import ChatDepartment
from chat.services.conversations import conversation_end, conversation_start
from customers.models import Contact
from helpdesk.tickets.services.threads import thread_add
from helpdesk.tickets.services.tickets import TicketInput, ticket_create
from tests.conftest import login

pytestmark = pytest.mark.django_db


class Receiver:
    """A local endpoint: records each request; answers with `statuses` in turn (the last one
    repeats)."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.statuses = [200]
        self.extra_headers: dict[str, str] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                receiver.requests.append(
                    {"path": self.path, "headers": dict(self.headers.items()), "body": body}
                )
                index = min(len(receiver.requests), len(receiver.statuses)) - 1
                status = receiver.statuses[index]
                answer = b'{"ok": true}' if status < 300 else b"receiver is down <oops>"
                self.send_response(status)
                for key, value in receiver.extra_headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def local_ok(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_TIMEOUT = 5.0


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    def run(fn, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(**kwargs)

    return run


def verify(secret: str, header: str, body: bytes, tolerance: int = 300) -> bool:
    """What the README tells a receiver to do."""
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    if abs(time.time() - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), parts["v1"])


def _subscribe(acme, url, events=("ticket.created",), name="ERP"):
    return svc.subscription_create(actor=acme.admin, name=name, url=url, events=list(events))


def _ticket(acme, subject="Printer on fire", contact=None):
    acme.admin.org = acme.org
    return ticket_create(
        actor=acme.admin,
        data=TicketInput(subject=subject, department=acme.department, contact=contact),
    )


def test_api04_ticket_created_is_delivered_signed_and_verifiable(
    acme, receiver, local_ok, committed
):
    subscription, secret = _subscribe(acme, receiver.url)
    assert secret.startswith("whsec_")
    ticket = committed(_ticket, acme=acme)
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert verify(secret, headers["x-madoguchi-signature"], request["body"])
    assert not verify("whsec_wrong", headers["x-madoguchi-signature"], request["body"])
    assert not verify(secret, headers["x-madoguchi-signature"], request["body"] + b" ")
    payload = json.loads(request["body"])
    assert payload["event"] == "ticket.created" == headers["x-madoguchi-event"]
    assert payload["organization"] == "acme"
    assert payload["data"]["ticket"]["number"] == ticket.number
    assert payload["data"]["ticket"]["subject"] == "Printer on fire"
    delivery = WebhookDelivery.objects.for_org(acme.org).get(subscription=subscription)
    assert headers["x-madoguchi-delivery"] == str(delivery.uuid) == payload["id"]
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 1
    attempt = WebhookAttempt.objects.for_org(acme.org).get(delivery=delivery)
    assert attempt.ok and attempt.status_code == 200 and attempt.response_excerpt == '{"ok": true}'
    assert attempt.duration_ms is not None


def test_api04_only_subscribed_events_are_sent_and_a_rolled_back_change_sends_nothing(
    acme, receiver, local_ok, committed
):
    _subscribe(acme, receiver.url, events=["ticket.replied", "ticket.created"])
    contact = Contact.objects.create(org=acme.org, last_name="Sato", email="sato@example.com")

    def failing():
        with transaction.atomic():
            _ticket(acme, contact=contact)
            raise RuntimeError("the request failed after the change")

    with pytest.raises(RuntimeError):
        committed(failing)
    assert receiver.requests == []  # rolled back: nothing happened, nothing sent
    assert not WebhookDelivery.objects.for_org(acme.org).exists()
    svc.subscription_update(
        actor=acme.admin,
        subscription=WebhookSubscription.objects.for_org(acme.org).get(),
        name="ERP",
        url=receiver.url,
        events=["ticket.replied"],
        is_active=True,
    )
    ticket = committed(_ticket, acme=acme, contact=contact)
    assert receiver.requests == []  # created: not subscribed
    committed(
        thread_add, actor=acme.admin, ticket=ticket, kind="comment", body="internal", files=[]
    )
    assert receiver.requests == []  # a private comment is not a reply
    committed(
        thread_add, actor=acme.admin, ticket=ticket, kind="reply", body="On its way", files=[]
    )
    assert [json.loads(r["body"])["event"] for r in receiver.requests] == ["ticket.replied"]


def test_api04_failing_receiver_is_retried_then_disabled_and_admins_mailed(
    acme, receiver, local_ok, committed, settings
):
    settings.WEBHOOK_DISABLE_AFTER = 2
    receiver.statuses = [500]
    subscription, _secret = _subscribe(acme, receiver.url)
    committed(_ticket, acme=acme, subject="one")
    tries = len(receiver.requests)
    assert tries == 6  # the first try and five retries with back-off
    first = WebhookDelivery.objects.for_org(acme.org).get()
    assert first.state == DeliveryState.FAILED and first.attempts == 6
    log = list(WebhookAttempt.objects.for_org(acme.org).order_by("number"))
    assert [a.number for a in log] == [1, 2, 3, 4, 5, 6]
    assert all(a.status_code == 500 and not a.ok for a in log)
    assert log[0].response_excerpt == "receiver is down <oops>"
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 1
    assert mail.outbox == []
    committed(_ticket, acme=acme, subject="two")
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert "2 failed deliveries" in subscription.disabled_reason
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]
    assert "ERP" in mail.outbox[0].subject
    # Disabled: the next event is not sent at all.
    before = len(receiver.requests)
    committed(_ticket, acme=acme, subject="three")
    assert len(receiver.requests) == before
    # Turned on again (after a repair), it delivers and its count starts anew.
    receiver.statuses = [200]
    receiver.requests.clear()
    svc.subscription_update(
        actor=acme.admin,
        subscription=subscription,
        name="ERP",
        url=receiver.url,
        events=["ticket.created"],
        is_active=True,
    )
    committed(_ticket, acme=acme, subject="four")
    assert len(receiver.requests) == 1
    subscription.refresh_from_db()
    assert subscription.is_active and subscription.consecutive_failures == 0


def test_api04_a_client_error_is_not_retried_and_a_redirect_is_not_followed(
    acme, receiver, local_ok, committed
):
    receiver.statuses = [302]
    receiver.extra_headers = {"Location": "http://169.254.169.254/latest/meta-data/"}
    _subscribe(acme, receiver.url)
    committed(_ticket, acme=acme)
    assert len(receiver.requests) == 1
    delivery = WebhookDelivery.objects.for_org(acme.org).get()
    assert delivery.state == DeliveryState.FAILED and delivery.attempts == 1


def test_api04_private_and_loopback_addresses_are_refused(acme, receiver, committed, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    for url in (
        receiver.url,
        "http://localhost:8000/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "ftp://example.com/hook",
    ):
        with pytest.raises(ValidationError) as refused:
            _subscribe(acme, url)
        assert "url" in refused.value.message_dict, url
    assert not WebhookSubscription.objects.for_org(acme.org).exists()
    # Saved while allowed, then the setting is off: the try is refused before connecting,
    # logged, and not retried.
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    _subscribe(acme, receiver.url)
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    committed(_ticket, acme=acme)
    assert receiver.requests == []
    attempt = WebhookAttempt.objects.for_org(acme.org).get()
    assert "not a public address" in attempt.error and attempt.status_code is None


def test_api04_chat_ended_and_rating_events(acme, receiver, local_ok, committed):
    _subscribe(acme, receiver.url, events=["chat.ended"])
    entry = ChatDepartment.objects.for_org(acme.org).first()
    started = conversation_start(
        entry=entry,
        department_id=None,
        name="Visitor <b>",
        email="v@example.com",
        message="Hello",
        ip="203.0.113.5",
        language="en",
    )
    committed(conversation_end, conversation=started.conversation)
    assert len(receiver.requests) == 1
    payload = json.loads(receiver.requests[0]["body"])
    assert payload["event"] == "chat.ended"
    assert payload["data"]["chat"]["id"] == started.conversation.pk
    assert payload["data"]["chat"]["visitor"]["name"] == "Visitor <b>"


def test_api04_setup_pages_list_create_edit_test_rotate_delete(
    client, acme, receiver, local_ok, django_capture_on_commit_callbacks
):
    login(client, acme.admin)
    page = client.get("/acme/setup/webhooks/")
    assert page.status_code == 200 and b"No webhooks yet." in page.content
    refused = client.post("/acme/setup/webhooks/new/", {"name": "", "url": "x", "events": []})
    assert refused.status_code == 400
    assert not WebhookSubscription.objects.for_org(acme.org).exists()
    created = client.post(
        "/acme/setup/webhooks/new/",
        {"name": "ERP <sync>", "url": receiver.url, "events": ["ticket.created", "chat.ended"]},
    )
    assert created.status_code == 200
    assert created["Cache-Control"] == "no-store"
    subscription = WebhookSubscription.objects.for_org(acme.org).get()
    secret = created.context["secret"]
    assert secret.encode() in created.content
    assert secret not in subscription.secret_encrypted
    assert svc.subscription_secret(subscription) == secret
    listing = client.get("/acme/setup/webhooks/")
    assert b"ERP &lt;sync&gt;" in listing.content and secret.encode() not in listing.content
    edit_url = f"/acme/setup/webhooks/{subscription.pk}/"
    edit = client.get(edit_url)
    assert edit.status_code == 200 and secret.encode() not in edit.content
    with django_capture_on_commit_callbacks(execute=True):
        tested = client.post(edit_url + "test/", follow=True)
    assert b"Test sent" in tested.content
    assert json.loads(receiver.requests[-1]["body"])["event"] == "ping"
    log = client.get(edit_url)
    assert b'data-testid="delivery-log"' in log.content
    assert b"<td>200</td>" in log.content and b"<code>ping</code>" in log.content
    rotated = client.post(edit_url + "rotate/")
    new_secret = rotated.context["secret"]
    subscription.refresh_from_db()
    assert new_secret != secret and svc.subscription_secret(subscription) == new_secret
    saved = client.post(
        edit_url,
        {"name": "ERP", "url": receiver.url, "events": ["ticket.updated"], "is_active": "on"},
    )
    assert saved.status_code == 302
    subscription.refresh_from_db()
    assert subscription.events == ["ticket.updated"]
    assert client.post(edit_url + "delete/").status_code == 302
    assert not WebhookSubscription.objects.for_org(acme.org).exists()


def test_org01_webhook_pages_refuse_outsiders_and_agents(client, acme, globex, bob, local_ok):
    subscription, _secret = _subscribe(acme, "http://127.0.0.1:9/hook")
    edit_url = f"/acme/setup/webhooks/{subscription.pk}/"
    login(client, globex.admin)
    for url in (edit_url, edit_url + "test/", edit_url + "rotate/", edit_url + "delete/"):
        assert client.post(url).status_code == 404, url
    assert client.get(f"/globex/setup/webhooks/{subscription.pk}/").status_code == 404
    login(client, bob)
    assert client.get("/acme/setup/webhooks/").status_code == 403
    assert client.post(edit_url + "delete/").status_code == 403
    assert WebhookSubscription.objects.for_org(acme.org).filter(pk=subscription.pk).exists()


def test_api04_sla_escalation_is_delivered(acme, receiver, local_ok, committed):
    from helpdesk.tickets.services.escalation import Escalation, tickets_escalate

    _subscribe(acme, receiver.url, events=["ticket.sla_escalated"])
    ticket = committed(_ticket, acme=acme)
    committed(
        tickets_escalate,
        org_id=acme.org.pk,
        escalations=[Escalation(ticket_id=ticket.pk, level=1, target="resolution")],
    )
    [request] = receiver.requests
    payload = json.loads(request["body"])
    assert payload["event"] == "ticket.sla_escalated"
    assert payload["data"]["ticket"]["number"] == ticket.number
    assert payload["data"]["changes"]["escalation_level"] == [0, 1]


def test_api04_delivery_log_keeps_the_latest_deliveries(acme, receiver, local_ok, committed):
    from api.webhooks.services import KEEP_DELIVERIES

    subscription, _secret = _subscribe(acme, receiver.url)
    old = [
        WebhookDelivery(org=acme.org, subscription=subscription, event="ticket.created", state=s)
        for s in [DeliveryState.DELIVERED] * KEEP_DELIVERIES + [DeliveryState.PENDING]
    ]
    WebhookDelivery.objects.bulk_create(old)
    committed(_ticket, acme=acme)
    kept = WebhookDelivery.objects.for_org(acme.org).filter(subscription=subscription)
    assert kept.count() == KEEP_DELIVERIES  # the oldest went; a pending one is never cut
    assert kept.filter(pk=old[0].pk).count() == 0
    assert kept.filter(pk=old[-1].pk, state=DeliveryState.PENDING).exists()
