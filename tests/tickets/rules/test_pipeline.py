"""TKT-09: the pipeline's order, its registry, its loop guard and round robin."""

from __future__ import annotations

import threading

import pytest
from django.core import mail
from django.db import connection

from helpdesk.tickets import pipeline
from helpdesk.tickets.models import Ticket, TicketHistory
from helpdesk.tickets.rules.models import AgentAvailability, AssignmentRule, RoundRobin
from helpdesk.tickets.rules.steps import round_robin_next
from helpdesk.tickets.services.tickets import TicketInput, ticket_update


def _rule_rows(ticket):
    return [
        (h.changes["_rule"], sorted(k for k in h.changes if k != "_rule"))
        for h in TicketHistory.objects.filter(ticket=ticket, action="rule").order_by("pk")
    ]


@pytest.mark.django_db
def test_tkt09_assignment_workflow_round_robin_give_the_documented_result(
    desk, make_rule, round_robin_on, django_capture_on_commit_callbacks
):
    """README "Rules pipeline": an invoice mail goes to Billing (assignment rule), becomes
    urgent there with a mail to the contact (workflow rule, which sees the department the
    assignment rule set), and gets Billing's next agent (round robin, which sees no owner);
    the owner change then fires the "on owner change" workflow rule once."""
    billing = desk.other_department
    make_rule(
        AssignmentRule,
        name="Invoices to Billing",
        condition={"field": "subject", "op": "contains", "value": "invoice"},
        to_department=billing,
    )
    make_rule(
        name="Billing is urgent",
        trigger="create",
        condition={"field": "department", "op": "is", "value": billing.pk},
        field_updates={"priority": "urgent"},
        notify=["contact"],
        mail_subject="[#{{ticket.number}}] We are on it",
        mail_body="Dear {{contact.name}}, {{department.name}} has your ticket.",
    )
    make_rule(
        name="Tell the new owner",
        trigger="field",
        trigger_field="owner",
        condition={"field": "owner", "op": "is_not_empty"},
        notify=["owner"],
        mail_subject="You own #{{ticket.number}}",
        mail_body="{{agent.name}}, it is yours.",
    )
    round_robin_on(billing)

    with django_capture_on_commit_callbacks(execute=True):
        ticket = desk.ticket(subject="Wrong invoice amount")

    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.department == billing
    assert ticket.priority == "urgent"
    assert ticket.owner_id == desk.other_agent.user_id  # Billing's only agent: Ada
    assert _rule_rows(ticket) == [
        ("Invoices to Billing", ["department"]),  # both "Open": the status reads the same
        ("Billing is urgent", ["priority"]),
        ("Round robin", ["owner"]),
    ]
    sent = {(m.to[0], m.subject) for m in mail.outbox}
    assert ("taro@umbrella.test", f"[#{ticket.number}] We are on it") in sent
    assert ("ada@acme.test", f"You own #{ticket.number}") in sent
    contact_mail = next(m for m in mail.outbox if m.to == ["taro@umbrella.test"])
    assert contact_mail.body == f"Dear {desk.contact.name}, Billing has your ticket."


@pytest.mark.django_db
def test_tkt09_rule_history_names_the_rule(desk, make_rule, alice_client):
    make_rule(condition={}, trigger="create", field_updates={"priority": "high"}, name="Be quick")
    ticket = desk.ticket()
    # The ticket page's history panel (loaded after the page).
    response = alice_client.get(
        f"/acme/desk/tickets/{ticket.number}/history/", HTTP_HX_REQUEST="true"
    )
    assert "Rule: Be quick" in response.content.decode()


@pytest.mark.django_db
def test_tkt09_a_rule_change_runs_the_pipeline_once_more_and_no_further(desk, make_rule):
    """Two workflow rules that set each other's trigger field would loop forever; the rules'
    own changes run through the pipeline once."""
    make_rule(
        name="ping",
        trigger="field",
        trigger_field="priority",
        field_updates={"status": desk.status("On Hold").pk},
    )
    make_rule(
        name="pong",
        trigger="field",
        trigger_field="status",
        field_updates={"priority": "low"},
    )
    ticket = desk.ticket()
    ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(priority="high"))
    # ping (on the agent's change), then pong (on ping's change), then nothing more.
    assert [name for name, _ in _rule_rows(ticket)] == ["ping", "pong"]


@pytest.mark.django_db
def test_tkt09_registry_declares_the_order_and_refuses_unknown_slots(desk):
    seen: list[str] = []

    def sla(ctx):
        seen.append(f"sla:{ctx.event}")

    def blueprints(ctx):
        seen.append(f"blueprints:{ctx.ticket.owner_id is not None}")

    with pytest.raises(ValueError, match="Unknown pipeline slot"):
        pipeline.register("escalations", sla)
    pipeline.register("blueprints", blueprints)
    pipeline.register("sla", sla)
    try:
        # The blueprints app registers its own step too (one slot, several steps).
        assert list(dict.fromkeys(slot for slot, _ in pipeline.steps())) == [
            "assignment",
            "workflow",
            "sla",
            "round_robin",
            "blueprints",
        ]
        desk.ticket()
        assert seen == ["sla:create", "blueprints:False"]
    finally:
        pipeline.unregister("sla", sla)
        pipeline.unregister("blueprints", blueprints)


@pytest.mark.django_db
def test_tkt09_a_batch_reads_every_settings_token_in_one_statement(desk):
    """The steps' version tokens (the rules', the blueprints') come in one statement, the first
    time a batch asks for any of them; a second ask costs nothing. Outside a batch each read
    reads its own token, every time."""
    from django.test.utils import CaptureQueriesContext

    from blueprints.engine import definitions
    from helpdesk.tickets.rules import version

    version.bump(desk.org.pk)
    definitions.bump(desk.org.pk)
    rules_token = version.read_token(desk.org.pk)
    with pipeline.batch(), CaptureQueriesContext(connection) as read:
        assert version.read_token(desk.org.pk) == rules_token
        blueprints_token = definitions.read_token(desk.org.pk)
        assert version.read_token(desk.org.pk) == rules_token
    assert len(read.captured_queries) == 1
    assert "rules_settingsversion" in read.captured_queries[0]["sql"]
    assert "blueprints_definitionversion" in read.captured_queries[0]["sql"]
    assert blueprints_token is not None and blueprints_token != rules_token
    with CaptureQueriesContext(connection) as alone:
        assert definitions.read_token(desk.org.pk) == blueprints_token
        assert definitions.read_token(desk.org.pk) == blueprints_token
    assert len(alone.captured_queries) == 2
    assert "rules_settingsversion" not in alone.captured_queries[0]["sql"]


@pytest.mark.django_db
def test_tkt09_round_robin_takes_turns_and_skips_agents_who_are_away(desk, round_robin_on):
    from tests.tickets.conftest import _member

    carol = _member(desk.org, "carol@acme.test", desk.department, desk_role="agent")
    round_robin_on(desk.department)
    # The department's agents: Alice (an admin), Bob and Carol, in a stable order; Rita is a
    # restricted agent (she only comments) and gets none.
    alice, bob = desk.admin.user_id, desk.agent.user_id
    agents = sorted([alice, bob, carol.user_id])
    owners = [desk.ticket().owner_id for _ in range(6)]
    assert owners == agents * 2
    AgentAvailability.objects.create(org=desk.org, user=carol.user, is_away=True)
    assert [desk.ticket().owner_id for _ in range(4)] == sorted([alice, bob]) * 2
    # The turn is in the database: a new process goes on where the last one stopped.
    AgentAvailability.objects.filter(user=carol.user).update(is_away=False)
    row = RoundRobin.objects.get(department=desk.department, team=None)
    assert row.last_user_id == max(alice, bob)
    after = [a for a in agents if a > row.last_user_id] or agents
    assert desk.ticket().owner_id == after[0]


@pytest.mark.django_db
def test_tkt09_round_robin_leaves_assigned_tickets_and_no_agents_alone(desk, round_robin_on):
    round_robin_on(desk.department)
    assert desk.ticket(owner=desk.admin.user).owner_id == desk.admin.user_id
    for member in (desk.agent, desk.admin):
        AgentAvailability.objects.create(org=desk.org, user=member.user, is_away=True)
    assert desk.ticket().owner_id is None  # nobody available: left unassigned


@pytest.mark.django_db(transaction=True)
def test_tkt09_round_robin_is_fair_under_concurrency(desk, round_robin_on):
    """Two transactions choosing at once get different agents (the turn's row is locked)."""
    from django.db import close_old_connections, transaction

    from tests.tickets.conftest import _member

    _member(desk.org, "carol@acme.test", desk.department, desk_role="agent")
    round_robin_on(desk.department)
    chosen: list[int | None] = []
    barrier = threading.Barrier(2)

    def pick():
        try:
            barrier.wait()
            with transaction.atomic():
                chosen.append(round_robin_next(desk.department))
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=pick) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(chosen)) == 2 and None not in chosen
