"""Fixtures of the sweep tests: the desk of tests/tickets (Acme: Alice admin, Bob agent, Rita
restricted, Ada of Billing) with an escalation template, a resolution policy with levels, and
`plant`: an open clock on a ticket with its due rows, as the clock services leave them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from helpdesk.tickets.mailtemplates.models import MailTemplate
from sla.models import Clock, ClockDue, EscalationLevel, SlaPolicy, Target
from tests.tickets.conftest import Desk, desk  # noqa: F401  (the fixture)

__all__ = ["Desk", "desk", "Escalations", "escalations"]

SUBJECT = "[{{sla.target}} L{{sla.level}}] #{{ticket.number}} {{ticket.subject}}"
BODY = (
    "Ticket {{ticket.number}} ({{ticket.priority}}) is due {{sla.due}}: {{sla.time_left}}.\n"
    "{{ticket.subject}}: level {{sla.level}} of {{sla.target}}. {{ticket.url}}"
)


class Escalations:
    """Builds SLA settings and planted clocks in one organization."""

    def __init__(self, org, department) -> None:
        self.org, self.department = org, department
        self.template = MailTemplate.objects.create(
            org=org, name="Escalation", subject=SUBJECT, body=BODY
        )
        self.policy = SlaPolicy.objects.create(
            org=org,
            department=department,
            priority="medium",
            resolution_minutes=60,
            business_hours=False,
        )

    def level(self, level: int = 1, *, users=(), teams=(), roles=(), owner=True, manager=False):
        row = EscalationLevel.objects.create(
            org=self.org,
            policy=self.policy,
            target=Target.RESOLUTION,
            level=level,
            when="at" if level == 1 else "after",
            offset_minutes=0 if level == 1 else 30 * (level - 1),
            template=self.template,
            notify_owner=owner,
            notify_manager=manager,
            roles=list(roles),
        )
        for user in users:
            row.users.add(user, through_defaults={"org": self.org})
        for team in teams:
            row.teams.add(team, through_defaults={"org": self.org})
        return row

    def plant(self, ticket, *, due_at: dt.datetime, levels=(1,)) -> Clock:
        """An open resolution clock due at `due_at`, with a due row per level (each fires at
        due_at: offsets do not matter to the sweep, which reads the rows)."""
        started = due_at - dt.timedelta(minutes=60)
        # The clock the policy started when the ticket was made gives way to this one.
        Clock.objects.for_org(self.org).filter(ticket=ticket).delete()
        clock = Clock.objects.create(
            org=self.org,
            ticket=ticket,
            kind=Target.RESOLUTION,
            policy=self.policy,
            department=ticket.department,
            cycle=1,
            target_minutes=60,
            business_hours=False,
            started_at=started,
            due_at=due_at,
        )
        ClockDue.objects.bulk_create(
            ClockDue(org=self.org, clock=clock, ticket=ticket, level=level, due_at=due_at)
            for level in levels
        )
        return clock


@pytest.fixture
def escalations(desk):  # noqa: F811
    return Escalations(desk.org, desk.department)


def past(seconds: float = 1) -> dt.datetime:
    return timezone.now() - dt.timedelta(seconds=seconds)


def escalation_mails() -> list:
    """The escalation messages in the outbox (ticket creation mails its owner as well)."""
    from django.core import mail

    return [m for m in mail.outbox if "X-Madoguchi-Escalation" in m.extra_headers]
