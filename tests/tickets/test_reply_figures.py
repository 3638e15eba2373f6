"""CUS-03: the customer's waits kept per ticket by the thread services (first response, the
answered turns and their summed wait), which the contact and account overviews sum. Written
when an agent replies and when a merge moves thread entries; the same figures as a walk over
the thread (helpdesk.tickets.customer_stats)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from helpdesk.tickets.customer_stats import tickets_stats
from helpdesk.tickets.models import Thread, Ticket
from helpdesk.tickets.services.incoming import thread_incoming_add
from helpdesk.tickets.services.merge import ticket_merge
from helpdesk.tickets.services.threads import reply_figures_update, thread_add

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


@pytest.fixture
def clock(monkeypatch):
    """Sets the time the services write (`clock(minutes)`: minutes after T0)."""
    now = [T0]
    monkeypatch.setattr(timezone, "now", lambda: now[0])

    def move(minutes: float) -> None:
        now[0] = T0 + dt.timedelta(minutes=minutes)

    return move


def figures(ticket: Ticket) -> tuple[float | None, int, float | None]:
    """(first response, answered turns, their summed wait), in minutes."""
    row = Ticket.objects.get(pk=ticket.pk)

    def minutes(value: dt.timedelta | None) -> float | None:
        return value.total_seconds() / 60 if value is not None else None

    return minutes(row.first_response), row.answered_turns, minutes(row.answered_wait)


def reply(desk, ticket: Ticket, kind: str = Thread.Kind.REPLY) -> Thread:
    return thread_add(actor=desk.agent, ticket=ticket, kind=kind, body="On it.", to="x@y.test")


def customer(desk, ticket: Ticket) -> Thread:
    return thread_incoming_add(ticket=ticket, contact=desk.contact, body="Any news?")


def test_cus03_agent_replies_keep_the_customers_waits(desk, clock):
    """Created at 0; replies at 30 (first response) and 180; the customer wrote at 60 and 70
    in between (one turn, from 60): turns of 30 and 120 minutes. A customer's message, a
    comment and a forward change nothing."""
    clock(0)
    ticket = desk.ticket()
    assert figures(ticket) == (None, 0, None)
    clock(30)
    reply(desk, ticket)
    assert figures(ticket) == (30, 1, 30)
    clock(60)
    customer(desk, ticket)
    clock(70)
    customer(desk, ticket)
    reply(desk, ticket, Thread.Kind.COMMENT)
    reply(desk, ticket, Thread.Kind.FORWARD)
    assert figures(ticket) == (30, 1, 30)  # the turn from 60 is not answered yet
    clock(180)
    reply(desk, ticket)
    assert figures(ticket) == (30, 2, 150)
    clock(200)
    reply(desk, ticket)  # a second reply in a row answers no new turn
    assert figures(ticket) == (30, 2, 150)


def test_cus03_merge_recounts_both_tickets(desk, clock):
    """The source's thread moves to the target: the target counts the customer's message of
    the source (at 10) as a turn its reply at 50 answered; the source keeps no wait."""
    clock(0)
    target = desk.ticket()
    clock(5)
    source = desk.ticket()
    clock(10)
    customer(desk, source)
    clock(20)
    reply(desk, source)
    assert figures(source) == (15, 1, 15)
    assert figures(target) == (None, 0, None)
    clock(40)
    ticket_merge(actor=desk.admin, source=source, target=target)
    # The target's events: created 0, customer 10, reply 20 (its first response: 20 min).
    assert figures(target) == (20, 1, 20)
    assert figures(source) == (None, 0, None)


def test_cus03_kept_figures_agree_with_the_thread_walk(desk, clock):
    """Entries written in any order (here around the services, as an import would) and then
    recounted give the figures the thread walk computes."""
    agent = desk.agent.user
    tickets = []
    for n in range(4):
        clock(n)
        tickets.append(desk.ticket())
    plan = {  # minutes of (kind, author) per ticket, out of order on purpose
        0: [(50, "reply"), (5, "incoming"), (20, "reply"), (30, "incoming"), (35, "incoming")],
        1: [(7, "incoming")],
        2: [(2, "reply"), (3, "reply"), (9, "incoming"), (12, "reply")],
        3: [(40, "reply_without_author"), (60, "reply")],
    }
    for n, entries in plan.items():
        for minutes, kind in entries:
            entry = Thread.objects.create(
                org=desk.org,
                ticket=tickets[n],
                kind="reply" if kind.startswith("reply") else kind,
                author=agent if kind == "reply" else None,
                body="<p>x</p>",
            )
            Thread.objects.filter(pk=entry.pk).update(created_at=T0 + dt.timedelta(minutes=minutes))
    assert reply_figures_update(org_id=desk.org.pk, ticket_ids=[t.pk for t in tickets]) == 3
    assert figures(tickets[0]) == (20, 2, 20 + 20)
    assert figures(tickets[1]) == (None, 0, None)
    assert figures(tickets[2]) == (0, 2, 0 + 3)
    assert figures(tickets[3]) == (57, 1, 57)
    walked = tickets_stats(desk.org, Ticket.objects.filter(pk__in=[t.pk for t in tickets]))
    assert walked.answered_tickets == 3 and walked.answered_turns == 5
    assert walked.first_response == pytest.approx((20 + 0 + 57) / 3 * 60)
    assert walked.response == pytest.approx((20 + 20 + 0 + 3 + 57) / 5 * 60)
    # A second recount writes nothing.
    assert reply_figures_update(org_id=desk.org.pk, ticket_ids=[t.pk for t in tickets]) == 0


def test_cus03_recount_stays_in_its_organization(desk, globex, clock):
    """Another organization's ticket ids are not touched by a recount of this one's."""
    clock(0)
    ticket = desk.ticket()
    clock(30)
    reply(desk, ticket)
    Ticket.objects.filter(pk=ticket.pk).update(answered_turns=7)
    assert reply_figures_update(org_id=globex.org.pk, ticket_ids=[ticket.pk]) == 0
    assert figures(ticket) == (30, 7, 30)
