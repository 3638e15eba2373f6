"""TKT-09: what assignment and workflow rules do to tickets, and the mail they send."""

from __future__ import annotations

import pytest
from django.core import mail

from helpdesk.tenancy.models import Team, TeamMember
from helpdesk.tickets.models import Ticket, TicketFollower
from helpdesk.tickets.rules.mail import workflow_mail_send
from helpdesk.tickets.rules.models import AssignmentRule
from helpdesk.tickets.services.tickets import TicketInput, tickets_bulk_update


@pytest.mark.django_db
def test_tkt09_first_matching_assignment_rule_wins(desk, make_rule):
    make_rule(
        AssignmentRule,
        name="Disabled",
        is_enabled=False,
        condition={},
        to_owner=desk.admin.user,
        department=desk.department,
    )
    make_rule(
        AssignmentRule,
        name="Urgent to Bob",
        condition={"field": "priority", "op": "is", "value": "urgent"},
        to_owner=desk.agent.user,
        department=desk.department,
    )
    make_rule(
        AssignmentRule,
        name="Everything else to Alice",
        condition={},
        to_owner=desk.admin.user,
        department=desk.department,
    )
    assert desk.ticket(priority="urgent").owner_id == desk.agent.user_id
    assert desk.ticket(priority="low").owner_id == desk.admin.user_id
    # A rule of another department does not look at this department's tickets.
    billing_only = desk.ticket(department=desk.other_department)
    assert billing_only.owner_id is None


@pytest.mark.django_db
def test_tkt09_assignment_to_a_team_takes_turns_among_its_available_members(desk, make_rule):
    from tests.tickets.conftest import _member

    carol = _member(desk.org, "carol@acme.test", desk.department, desk_role="agent")
    team = Team.objects.create(org=desk.org, department=desk.department, name="Tier 2")
    for member in (desk.agent, carol):
        TeamMember.objects.create(org=desk.org, team=team, user=member.user)
    make_rule(
        AssignmentRule,
        name="Tier 2",
        condition={},
        department=desk.department,
        to_team=team,
    )
    owners = [desk.ticket().owner_id for _ in range(3)]
    first, second = sorted([desk.agent.user_id, carol.user_id])
    assert owners == [first, second, first]


@pytest.mark.django_db
def test_tkt09_workflow_rules_run_on_bulk_updates(desk, make_rule):
    make_rule(
        name="Closed is low",
        trigger="field",
        trigger_field="status",
        condition={"field": "status_kind", "op": "is", "value": "closed"},
        field_updates={"priority": "low"},
    )
    tickets = [desk.ticket(priority="high") for _ in range(2)]
    result = tickets_bulk_update(
        actor=desk.admin, numbers=[t.number for t in tickets], action="close"
    )
    assert len(result.changed) == 2
    assert set(Ticket.objects.values_list("priority", flat=True)) == {"low"}


@pytest.mark.django_db
def test_tkt09_workflow_mail_reaches_each_recipient_once(
    desk, make_rule, django_capture_on_commit_callbacks
):
    rule = make_rule(
        name="Tell everyone",
        trigger="update",
        condition={"field": "priority", "op": "is", "value": "urgent"},
        notify=["owner", "contact", "followers"],
        notify_users=[desk.other_agent.user_id, desk.agent.user_id],
        notify_addresses=["boss@example.test"],
        mail_subject="#{{ticket.number}} is urgent",
        mail_body="{{ticket.subject}} ({{department.name}}) for {{contact.name}}",
    )
    ticket = desk.ticket(owner=desk.admin.user)
    TicketFollower.objects.create(org=desk.org, ticket=ticket, user=desk.agent.user)
    from helpdesk.tickets.services.tickets import ticket_update

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(subject="Fire"))
    assert mail.outbox == []  # not urgent: the criteria do not match
    with django_capture_on_commit_callbacks(execute=True):
        ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(priority="urgent"))
    rule_mail = [m for m in mail.outbox if m.subject == f"#{ticket.number} is urgent"]
    assert sorted(m.to[0] for m in rule_mail) == [
        "ada@acme.test",
        "alice@acme.test",
        "bob@acme.test",
        "boss@example.test",
        "taro@umbrella.test",
    ]
    assert rule_mail[0].body == f"Fire ({desk.department.name}) for {desk.contact.name}"
    assert rule_mail[0].extra_headers["Auto-Submitted"] == "auto-generated"
    # A firing's task delivered twice sends nothing twice.
    before = len(mail.outbox)
    sent = workflow_mail_send(org_id=desk.org.pk, rule_id=rule.pk, ticket_id=ticket.pk, token="t")
    again = workflow_mail_send(org_id=desk.org.pk, rule_id=rule.pk, ticket_id=ticket.pk, token="t")
    assert (sent, again) == (5, 0)
    assert len(mail.outbox) == before + 5
