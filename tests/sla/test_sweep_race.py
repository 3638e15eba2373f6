# ruff: noqa: F811 - the fixtures are imported by name
"""Escalations fire exactly once (BP-15, issue 11 item 5) with two sweeps running at once on
real PostgreSQL, and an organization's escalation never mails another organization's people
(ORG-01)."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connections

from helpdesk.tenancy.models import Membership
from sla import sweep as sla_sweep
from sla.models import ClockDue, EscalationFired
from tests.factories import UserFactory
from tests.sla.sweep_fixtures import (  # noqa: F401
    Desk,
    Escalations,
    desk,
    escalation_mails,
    escalations,
    past,
)


def _run_at_once(*functions) -> list:
    """Run each function in its own thread (its own database connection), all released at
    the same moment; re-raise the first error."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)
    errors: list[BaseException] = []

    def run(i, function):
        try:
            barrier.wait()
            results[i] = function()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


@pytest.mark.django_db(transaction=True)
def test_bp15_two_sweeps_at_once_fire_each_escalation_exactly_once(
    desk,
    escalations,
    globex,
    settings,
):
    """120 escalations in two organizations, two sweeps started together in small batches
    (so they interleave on the same rows): one ledger row, one history row and one mail per
    escalation, and the sweeps' counts add up."""
    settings.SLA_SWEEP_BATCH = 7
    escalations.level(1)
    escalations.level(2)
    other = Escalations(globex.org, globex.department)
    other.level(1, owner=False, roles=["admin"])
    for _ in range(30):
        escalations.plant(desk.ticket(owner=desk.agent.user), due_at=past(), levels=(1, 2))
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    globex.admin.org = globex.org
    for _ in range(60):
        ticket = ticket_create(
            actor=globex.admin,
            data=TicketInput(subject="Globex", department=globex.department),
            ip=None,
        )
        other.plant(ticket, due_at=past())
    results = _run_at_once(lambda: sla_sweep.sweep(wake=False), lambda: sla_sweep.sweep(wake=False))
    assert sum(r.fired for r in results) == 120
    assert all(r.fired > 0 for r in results), "both sweeps took a share"
    assert EscalationFired.objects.count() == 120
    keys = Counter(m.extra_headers["X-Madoguchi-Escalation"] for m in escalation_mails())
    assert len(keys) == 120 and set(keys.values()) == {1}
    assert not ClockDue.objects.filter(fired_at__isnull=True).exists()
    from helpdesk.tickets.models import TicketHistory

    assert TicketHistory.objects.filter(action="escalated").count() == 120


@pytest.mark.django_db(transaction=True)
def test_bp15_a_rewritten_due_row_of_a_fired_level_does_not_fire_again(
    desk,
    escalations,
):
    """The ledger's unique key is the last wall: a due row of a level that already fired
    (a re-plan wrote it again) is confirmed without a second firing or mail."""
    escalations.level(1)
    ticket = desk.ticket(owner=desk.agent.user)
    escalations.plant(ticket, due_at=past())
    assert sla_sweep.sweep(wake=False).fired == 1
    assert len(escalation_mails()) == 1
    ClockDue.objects.update(fired_at=None, claimed_at=None, claim_token=None)
    again = sla_sweep.sweep(wake=False)
    assert (again.fired, again.handed_off, again.confirmed) == (0, 0, 1)
    assert len(escalation_mails()) == 1 and EscalationFired.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_org01_bp15_an_escalation_of_one_organization_never_mails_anothers_people(
    desk,
    escalations,
    globex,
):
    """Charlie is Globex's admin and a deactivated member of Acme; Dana is active in Globex
    only. Acme's level names its admins, Charlie and a team: Acme's mail goes to Acme's active
    members only, and Globex's to Globex's."""
    charlie = globex.admin.user
    Membership.objects.create(
        org=desk.org, user=charlie, desk_role="admin", status=Membership.Status.DEACTIVATED
    )
    dana = UserFactory(email="dana@globex.test")
    Membership.objects.create(org=globex.org, user=dana, desk_role="agent")
    escalations.level(1, users=[charlie], roles=["admin"])
    other = Escalations(globex.org, globex.department)
    other.level(1, owner=False, users=[dana], roles=["admin"])
    escalations.plant(desk.ticket(owner=desk.agent.user), due_at=past())
    from helpdesk.tickets.services.tickets import TicketInput, ticket_create

    globex.admin.org = globex.org
    globex_ticket = ticket_create(
        actor=globex.admin, data=TicketInput(subject="Ours", department=globex.department), ip=None
    )
    other.plant(globex_ticket, due_at=past())
    assert sla_sweep.sweep(wake=False).fired == 2
    sent: dict[str, set[str]] = {}
    for message in escalation_mails():
        sent.setdefault(message.extra_headers["X-Madoguchi-Org"], set()).add(message.to[0])
    assert sent == {
        str(desk.org.id): {"alice@acme.test", "bob@acme.test"},
        str(globex.org.id): {"charlie@globex.test", "dana@globex.test"},
    }
