"""SLA fixtures: the desk of tests/tickets (Acme: Alice admin, Bob agent, Ada of Billing), an
escalation mail template, a controllable clock (`now`), and `sla`: builds policies, state SLAs
and levels as the settings pages leave them."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from helpdesk.tenancy.models import BusinessInterval
from helpdesk.tickets.mailtemplates.models import MailTemplate
from sla.models import EscalationLevel, SlaPolicy, StateSla
from sla.selectors import ticket_levels
from tests.blueprints.conftest import Maker, enterprise, make  # noqa: F401  (fixtures)
from tests.tickets.conftest import Desk, desk  # noqa: F401  (the fixture)


def level_of(ticket) -> int:
    """The ticket's escalation level: the highest reached among its open clocks (0: none)."""
    return ticket_levels(ticket.org_id, [ticket.pk]).get(ticket.pk, 0)


# A Monday, 10:00 in Tokyo (the default department's time zone).
MONDAY_10_TOKYO = dt.datetime(2026, 12, 7, 1, 0, tzinfo=dt.UTC)


class FakeNow:
    """`timezone.now()` for the test: moves only when told."""

    def __init__(self, start: dt.datetime) -> None:
        self.value = start

    def __call__(self) -> dt.datetime:
        return self.value

    def advance(self, **delta: float) -> dt.datetime:
        self.value += dt.timedelta(**delta)
        return self.value


@pytest.fixture
def now(monkeypatch) -> FakeNow:
    fake = FakeNow(MONDAY_10_TOKYO)
    monkeypatch.setattr(timezone, "now", fake)
    return fake


class Sla:
    def __init__(self, desk: Desk) -> None:  # noqa: F811
        self.desk = desk
        self.org = desk.org
        self.template = MailTemplate.objects.create(
            org=self.org,
            name="Escalation",
            subject="Escalation #{{ticket.number}}",
            body="{{ticket.subject}}",
        )

    def policy(self, *, department=None, priority="medium", **fields) -> SlaPolicy:
        fields.setdefault("business_hours", False)
        return SlaPolicy.objects.create(
            org=self.org, department=department or self.desk.department, priority=priority, **fields
        )

    def state_sla(self, state, *, minutes: int, business_hours: bool = False) -> StateSla:
        return StateSla.objects.create(
            org=self.org, state=state, minutes=minutes, business_hours=business_hours
        )

    def level(
        self, owner, *, target: str, level: int = 1, when: str = "at", offset: int = 0
    ) -> EscalationLevel:
        kind = {"policy": owner} if isinstance(owner, SlaPolicy) else {"state_sla": owner}
        return EscalationLevel.objects.create(
            org=self.org,
            target=target,
            level=level,
            when=when,
            offset_minutes=offset,
            template=self.template,
            notify_owner=True,
            **kind,
        )

    def nine_to_six(self, department=None) -> None:
        """Monday to Friday, 9:00-18:00 in the department's zone (Asia/Tokyo)."""
        department = department or self.desk.department
        BusinessInterval.objects.bulk_create(
            BusinessInterval(
                org=self.org,
                department=department,
                weekday=day,
                start=dt.time(9),
                end=dt.time(18),
            )
            for day in range(5)
        )


@pytest.fixture
def sla(desk) -> Sla:  # noqa: F811
    return Sla(desk)
