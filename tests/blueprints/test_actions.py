"""After-actions (BP-11): each type end to end from a completed transition (email through a
mail template with locmem mail, field update through the ticket service with history, task
assignment as an activity, custom function as a signed webhook to a local server); scheduled
once per action and run once (the task run twice acts once); retries with a visible failure
record on the ticket that never undoes the transition; reusable across transitions; the
enterprise gate; the Setup pages."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse

from blueprints import actions, engine
from blueprints.actions import tasks
from blueprints.actions.services import (
    Outcome,
    after_action_delete,
    after_action_execute,
    after_action_save,
    after_actions_schedule,
    webhook_secret,
)
from blueprints.models import (
    AfterAction,
    AfterActionRun,
    RunStatus,
    TransitionLog,
)
from helpdesk import webhooks
from helpdesk.tickets.activities.models import Activity
from helpdesk.tickets.mailtemplates.models import MailTemplate
from helpdesk.tickets.mailtemplates.services import mail_template_delete
from helpdesk.tickets.models import TicketHistory
from tests.conftest import login
from tests.integration.test_celery_worker import redis_worker  # noqa: F401 - reused fixture

pytestmark = pytest.mark.django_db


def _template(desk, **kwargs):
    kwargs.setdefault("name", "Approved mail")
    kwargs.setdefault("subject", "#{{ticket.number}} is {{blueprint.state}}")
    kwargs.setdefault("body", "{{contact.name}}: {{ticket.subject}} ({{blueprint.name}})")
    return MailTemplate.objects.create(org=desk.org, **kwargs)


def _action(desk, type, config, name=None):
    action = AfterAction(
        org=desk.org, department=desk.department, name=name or type, type=type, config=config
    )
    return after_action_save(actor=desk.admin, action=action)


def _process(make, *after, name="Approve"):
    """A blueprint Open → Approved whose transition runs `after`; a ticket in it."""
    blueprint, states = make.blueprint(statuses=("Open", "Approved"))
    transition = make.transition(
        blueprint, name, states["Approved"], [states["Open"]], after_actions=list(after)
    )
    ticket = make.desk.ticket(subject="Refund <please>")
    return blueprint, transition, ticket


def _complete(django_capture_on_commit_callbacks, desk, ticket, transition, member=None):
    with django_capture_on_commit_callbacks(execute=True):
        engine.complete_transition(
            ticket=ticket, transition=transition, membership=member or desk.agent
        )
    ticket.refresh_from_db()
    return TransitionLog.objects.for_org(desk.org).filter(ticket=ticket).order_by("pk").last()


# --- Each type, end to end ----------------------------------------------------------------------
def test_bp11_email_notification_to_owner_contact_users_and_roles(
    make, django_capture_on_commit_callbacks
):
    desk = make.desk
    template = _template(desk)
    notify = _action(
        desk,
        "email",
        {
            "template_id": template.pk,
            "ticket_owner": True,
            "contact": True,
            "users": [desk.other_agent.user_id],
            "roles": ["agent"],
        },
    )
    blueprint, transition, ticket = _process(make, notify)
    ticket.owner = desk.agent.user
    ticket.save(update_fields=["owner"])
    mail.outbox.clear()
    _complete(django_capture_on_commit_callbacks, desk, ticket, transition)
    sent = sorted(m.to[0] for m in mail.outbox)
    # Owner (Bob, also an agent of the department: once), contact, Ada; Rita is restricted.
    assert sent == ["ada@acme.test", "bob@acme.test", "taro@umbrella.test"]
    message = mail.outbox[0]
    assert message.subject == f"#{ticket.number} is Approved"
    assert message.body == "Yamada Taro: Refund <please> (Approval)"
    assert "Refund &lt;please&gt;" in message.alternatives[0][0]
    run = AfterActionRun.objects.for_org(desk.org).get()
    assert run.status == RunStatus.DONE and run.attempts == 1
    assert sorted(run.result["sent"]) == sent


def test_bp11_field_update_goes_through_the_ticket_service_with_history(
    make, django_capture_on_commit_callbacks
):
    desk = make.desk
    from helpdesk.tickets.models import CustomField

    CustomField.objects.create(
        org=desk.org, department=desk.department, label="Meal", key="meal", type="text"
    )
    update = _action(
        desk,
        "field_update",
        {"fields": {"priority": "urgent", "owner": desk.agent.user_id, "cf.meal": "vegetarian"}},
    )
    _blueprint, transition, ticket = _process(make, update)
    _complete(django_capture_on_commit_callbacks, desk, ticket, transition)
    assert ticket.priority == "urgent" and ticket.owner_id == desk.agent.user_id
    assert ticket.custom_fields["meal"] == "vegetarian"
    row = TicketHistory.objects.filter(ticket=ticket, action="updated").latest("pk")
    assert row.changes["priority"] == ["medium", "urgent"]
    assert row.actor_id == desk.agent.user_id  # who completed the transition


def test_bp11_field_update_config_is_validated_like_any_edit(make):
    desk = make.desk
    other_status = make.status("Elsewhere", department=desk.other_department)
    for fields, key in (
        ({"priority": "whenever"}, "priority"),
        ({"status": other_status.pk}, "status"),
        ({"owner": 999999}, "owner"),
        ({"cf.nope": "x"}, "cf.nope"),
        ({"subject": "hijacked"}, "fields"),
        ({}, "fields"),
    ):
        with pytest.raises(ValidationError) as caught:
            _action(desk, "field_update", {"fields": fields})
        assert key in caught.value.message_dict, (fields, caught.value.message_dict)
    assert not AfterAction.objects.for_org(desk.org).exists()


def test_bp11_task_assignment_creates_an_activity_with_the_due_offset(
    make, django_capture_on_commit_callbacks
):
    desk = make.desk
    task = _action(
        desk,
        "task",
        {"subject": "Call the customer", "owner": desk.other_agent.user_id, "due_days": 2},
    )
    _blueprint, transition, ticket = _process(make, task)
    log = _complete(django_capture_on_commit_callbacks, desk, ticket, transition)
    activity = Activity.objects.for_org(desk.org).get(ticket=ticket, subject="Call the customer")
    assert activity.kind == "task" and activity.owner_id == desk.other_agent.user_id
    assert 47 * 3600 < (activity.due_at - log.at).total_seconds() < 49 * 3600
    assert TicketHistory.objects.filter(ticket=ticket, action="activity_added").exists()


class _Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.append((dict(self.headers), body))
        status, answer = self.server.answers.pop(0) if self.server.answers else (200, b"{}")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    httpd.received, httpd.answers = [], []
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/hook"
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def test_bp11_custom_function_posts_a_signed_payload_and_its_answer_updates_fields(
    make, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    desk = make.desk
    receiver.answers.append((200, json.dumps({"fields": {"priority": "high"}}).encode()))
    hook = _action(
        desk,
        "webhook",
        {"url": receiver.url, "headers": {"X-Api-Key": "k"}, "update_fields": True},
    )
    _blueprint, transition, ticket = _process(make, hook)
    _complete(django_capture_on_commit_callbacks, desk, ticket, transition)
    headers, body = receiver.received[0]
    payload = json.loads(body)
    assert payload["ticket"]["number"] == ticket.number
    assert payload["ticket"]["subject"] == "Refund <please>"
    assert payload["transition"]["name"] == "Approve" and payload["transition"]["to"] == "Approved"
    assert headers["X-Api-Key"] == "k"
    assert webhooks.signature_valid(
        webhook_secret(desk.org), headers["X-Madoguchi-Signature"], body
    )
    run = AfterActionRun.objects.for_org(desk.org).get()
    assert headers["X-Madoguchi-Delivery"] == str(run.pk)
    assert run.status == RunStatus.DONE and run.result["changed"] == ["priority"]
    assert ticket.priority == "high"
    assert TicketHistory.objects.filter(ticket=ticket, changes__has_key="priority").exists()


def test_bp11_custom_function_to_a_private_address_is_refused_by_default(
    make, receiver, django_capture_on_commit_callbacks, monkeypatch
):
    """The setting is off: the local receiver is never reached, the run fails at once (no
    retry), the transition stands and the failure shows on the ticket."""
    desk = make.desk
    hook = _action(desk, "webhook", {"url": receiver.url})
    _blueprint, transition, ticket = _process(make, hook)
    _complete(django_capture_on_commit_callbacks, desk, ticket, transition)
    assert receiver.received == []
    assert ticket.status.name == "Approved"
    run = AfterActionRun.objects.for_org(desk.org).get()
    assert run.status == RunStatus.FAILED and run.attempts == 1
    assert "not a public address" in run.error


@pytest.mark.parametrize(
    "url", ["http://10.0.0.8/x", "http://169.254.169.254/latest", "http://[::1]/x"]
)
def test_bp11_private_targets_never_get_a_connection(
    make, url, django_capture_on_commit_callbacks, monkeypatch
):
    def refuse(*args, **kwargs):
        raise AssertionError("connection attempted")

    monkeypatch.setattr(socket, "create_connection", refuse)
    desk = make.desk
    hook = _action(desk, "webhook", {"url": url})
    _blueprint, transition, ticket = _process(make, hook)
    _complete(django_capture_on_commit_callbacks, desk, ticket, transition)
    assert AfterActionRun.objects.for_org(desk.org).get().status == RunStatus.FAILED


def test_bp11_custom_functions_are_enterprise_only(make):
    desk = make.desk
    desk.org.plan = "professional"
    desk.org.save(update_fields=["plan"])
    with pytest.raises(ValidationError) as caught:
        _action(desk, "webhook", {"url": "https://hooks.example.com/x"})
    assert "Enterprise" in " ".join(caught.value.messages)


# --- Retries, failure record, idempotency --------------------------------------------------------
def test_bp11_retries_with_backoff_then_a_visible_failure_record(
    make, receiver, settings, django_capture_on_commit_callbacks, client
):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    desk = make.desk
    receiver.answers.extend([(503, b"busy")] * 10)
    hook = _action(desk, "webhook", {"url": receiver.url}, name="Notify ERP")
    _blueprint, transition, ticket = _process(make, hook)
    _complete(django_capture_on_commit_callbacks, desk, ticket, transition)
    run = AfterActionRun.objects.for_org(desk.org).get()
    # Eager Celery runs each retry at once: five tries, then failed.
    assert len(receiver.received) == 5 and run.attempts == 5
    assert run.status == RunStatus.FAILED and "HTTP 503" in run.error
    assert ticket.status.name == "Approved"  # the transition stands
    assert [tasks.backoff(n) for n in range(4)] == [30, 120, 480, 1920]
    # On the ticket: the blueprint bar names the failed action, and an admin may retry it.
    login(client, desk.admin)
    bar = client.get(reverse("bp_ticket:bar", kwargs={"portal": "acme", "number": ticket.number}))
    text = bar.content.decode()
    assert "Notify ERP" in text and "HTTP 503" in text and "Try again" in text
    receiver.answers[:] = [(200, b"{}")]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse(
                "bpactions:action_run_retry",
                kwargs={"portal": "acme", "after_action_run_id": run.pk},
            )
        )
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.error == ""


def test_bp11_the_task_run_twice_executes_once(make, django_capture_on_commit_callbacks):
    desk = make.desk
    template = _template(desk)
    notify = _action(desk, "email", {"template_id": template.pk, "contact": True})
    _blueprint, transition, ticket = _process(make, notify)
    mail.outbox.clear()
    log = _complete(django_capture_on_commit_callbacks, desk, ticket, transition)
    assert len(mail.outbox) == 1
    run = AfterActionRun.objects.for_org(desk.org).get()
    # A duplicated delivery of the task, and a second scheduling of the same log entry.
    assert tasks.after_action_run_task.apply(args=(desk.org.pk, run.pk)).get() == "skipped"
    assert after_action_execute(org_id=desk.org.pk, run_id=run.pk) == Outcome.SKIPPED
    with django_capture_on_commit_callbacks(execute=True):
        actions.schedule_after_actions(log)
    assert after_actions_schedule(log_entry=log) == []
    assert len(mail.outbox) == 1
    assert AfterActionRun.objects.for_org(desk.org).count() == 1


def test_bp11_a_failing_action_does_not_stop_the_next_one(make, django_capture_on_commit_callbacks):
    desk = make.desk
    template = _template(desk)
    broken = _action(desk, "email", {"template_id": template.pk, "contact": True}, name="Broken")
    task = _action(desk, "task", {"subject": "Follow up"})
    _blueprint, transition, ticket = _process(make, broken, task)
    desk.contact.email = ""
    desk.contact.save(update_fields=["email"])
    _complete(django_capture_on_commit_callbacks, desk, ticket, transition)
    runs = {r.name: r for r in AfterActionRun.objects.for_org(desk.org)}
    assert runs["Broken"].status == RunStatus.FAILED
    assert "No recipient" in runs["Broken"].error
    assert runs["task"].status == RunStatus.DONE


# --- Reuse, deletion -----------------------------------------------------------------------------
def test_bp11_one_action_reused_by_two_transitions_runs_for_each(
    make, django_capture_on_commit_callbacks
):
    desk = make.desk
    task = _action(desk, "task", {"subject": "Check"})
    blueprint, states = make.blueprint(name="Two", statuses=("Open", "Middle", "End"))
    first = make.transition(
        blueprint, "First", states["Middle"], [states["Open"]], after_actions=[task]
    )
    second = make.transition(
        blueprint, "Second", states["End"], [states["Middle"]], after_actions=[task]
    )
    ticket = desk.ticket()
    _complete(django_capture_on_commit_callbacks, desk, ticket, first)
    _complete(django_capture_on_commit_callbacks, desk, ticket, second)
    assert Activity.objects.for_org(desk.org).filter(ticket=ticket, subject="Check").count() == 2
    with pytest.raises(ValidationError) as caught:
        after_action_delete(actor=desk.admin, action=task)
    assert "2 transitions" in caught.value.messages[0]


def test_bp11_a_template_sent_by_an_action_cannot_be_deleted(make):
    desk = make.desk
    template = _template(desk)
    _action(desk, "email", {"template_id": template.pk, "contact": True})
    with pytest.raises(ValidationError) as caught:
        mail_template_delete(actor=desk.admin, template=template)
    assert "1 automated action" in caught.value.messages[0]


def test_bp11_config_cannot_point_into_another_organization(make, globex):
    desk = make.desk
    theirs = MailTemplate.objects.create(org=globex.org, name="G", subject="s", body="b")
    with pytest.raises(ValidationError) as caught:
        _action(desk, "email", {"template_id": theirs.pk, "contact": True})
    assert "template" in caught.value.message_dict
    with pytest.raises(ValidationError):
        _action(desk, "email", {"template_id": _template(desk).pk, "users": [globex.admin.user_id]})


# --- Setup pages ---------------------------------------------------------------------------------
def test_bp11_setup_pages_create_and_edit_each_type(make, client):
    desk = make.desk
    template = _template(desk)
    login(client, desk.admin)
    listing = client.get(reverse("bpactions:action_list", kwargs={"portal": "acme"}))
    assert listing.status_code == 200 and "Webhook signing secret" in listing.content.decode()

    def create(type, data):
        url = reverse("bpactions:action_create", kwargs={"portal": "acme"}) + f"?type={type}"
        assert client.get(url).status_code == 200
        return client.post(url, {"name": type, "department": desk.department.pk, **data})

    assert create("email", {"template": template.pk, "contact": "on"}).status_code == 302
    assert create("field_update", {"priority": "high"}).status_code == 302
    assert (
        create(
            "task",
            {
                "subject": "S",
                "owner": "ticket_owner",
                "due_days": 1,
                "due_hours": 0,
                "priority": "medium",
            },
        ).status_code
        == 302
    )
    bad = create("webhook", {"url": "ftp://x", "method": "POST", "timeout": 10})
    assert bad.status_code == 400 and "http or https" in bad.content.decode()
    bad = create("field_update", {"custom_fields": "{not json"})
    assert bad.status_code == 400 and "not valid JSON" in bad.content.decode()
    ok = create(
        "webhook",
        {
            "url": "https://hooks.example.com/x",
            "method": "POST",
            "timeout": 10,
            "headers": "X-Api-Key: k",
        },
    )
    assert ok.status_code == 302
    names = set(AfterAction.objects.for_org(desk.org).values_list("name", flat=True))
    assert names == {"email", "field_update", "task", "webhook"}
    hook = AfterAction.objects.for_org(desk.org).get(name="webhook")
    assert hook.config["headers"] == {"X-Api-Key": "k"}
    edit = reverse("bpactions:action_edit", kwargs={"portal": "acme", "after_action_id": hook.pk})
    page = client.get(edit).content.decode()
    assert "X-Api-Key: k" in page
    client.post(
        edit,
        {
            "name": "ERP",
            "department": desk.department.pk,
            "url": "https://erp.example.com/",
            "method": "PUT",
            "timeout": 5,
        },
    )
    hook.refresh_from_db()
    assert (hook.name, hook.config["method"]) == ("ERP", "PUT")
    old = webhook_secret(desk.org)
    client.post(reverse("bpactions:action_secret_rotate", kwargs={"portal": "acme"}))
    assert webhook_secret(desk.org) != old


def test_bp11_agents_cannot_manage_actions(make, client):
    login(client, make.desk.agent)
    response = client.get(reverse("bpactions:action_list", kwargs={"portal": "acme"}))
    assert response.status_code in (403, 404)


# --- A real worker -----------------------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
def test_bp11_a_real_worker_runs_the_action_after_commit(make, redis_worker):  # noqa: F811
    """Celery over Redis, not eager: the run is queued after the transition's commit and done
    by the worker."""
    import time

    desk = make.desk
    task = _action(desk, "task", {"subject": "Worker made this"})
    _blueprint, transition, ticket = _process(make, task)
    engine.complete_transition(ticket=ticket, transition=transition, membership=desk.agent)
    deadline = time.monotonic() + 20
    run = None
    while time.monotonic() < deadline:
        run = AfterActionRun.objects.for_org(desk.org).first()
        if run is not None and run.status == RunStatus.DONE:
            break
        time.sleep(0.1)
    assert run is not None and run.status == RunStatus.DONE
    assert Activity.objects.for_org(desk.org).filter(subject="Worker made this").exists()


def test_bp11_bp02_a_field_update_runs_in_restricted_mode(make, django_capture_on_commit_callbacks):
    """An after-action is part of its transition: restricted mode (BP-02) does not hold back
    its edit, although the same edit outside a transition is refused."""
    desk = make.desk
    update = _action(desk, "field_update", {"fields": {"priority": "urgent"}})
    blueprint, states = make.blueprint(statuses=("Open", "Approved"), restriction="all")
    transition = make.transition(
        blueprint, "Approve", states["Approved"], [states["Open"]], after_actions=[update]
    )
    ticket = desk.ticket(subject="Locked")
    _complete(django_capture_on_commit_callbacks, desk, ticket, transition)
    run = AfterActionRun.objects.for_org(desk.org).get()
    assert run.status == RunStatus.DONE, run.error
    assert ticket.priority == "urgent"


def test_bp11_bp05_an_auto_transition_runs_its_actions_as_the_blueprints_author(
    make, django_capture_on_commit_callbacks
):
    """A customer reply moves the ticket without an actor: its field update is written (and in
    the history) in the name of the blueprint's author, a Desk admin."""
    from helpdesk.tickets.services.incoming import thread_incoming_add

    desk = make.desk
    make.reply_blueprint(
        after_actions=[_action(desk, "field_update", {"fields": {"priority": "high"}})]
    )
    ticket = desk.ticket()
    with django_capture_on_commit_callbacks(execute=True):
        thread_incoming_add(ticket=ticket, contact=desk.contact, body="Here it is")
    ticket.refresh_from_db()
    assert ticket.status.name == "Customer replied" and ticket.priority == "high"
    row = TicketHistory.objects.filter(ticket=ticket, action="updated").get()
    assert row.actor_id == desk.admin.user_id
