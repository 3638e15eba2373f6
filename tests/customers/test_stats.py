"""The contact and account statistics (CUS-03, RPT-01): counts, satisfaction, the three average
times and the channel shares on constructed data with known answers; an account's roll-up of
its contacts' tickets; agreement with the ticket list; what an agent of one department sees."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from customers.pages.stats import overview_stats
from helpdesk.tickets.customer_stats import channel_donut, duration_text
from helpdesk.tickets.helpcenter.models import Rating
from helpdesk.tickets.models import StatusKind, Thread, Ticket
from helpdesk.tickets.selectors import ticket_page
from helpdesk.tickets.services.layouts import statuses_for
from helpdesk.tickets.services.threads import reply_figures_update
from tests.factories import DepartmentAgentFactory, DepartmentFactory, UserFactory

from .factories import AccountFactory, ContactFactory, make_ticket

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def ticket(tenant, contact, *, kind: str, channel: str, created: float, **fields) -> Ticket:
    """A ticket of `kind` ("open", "on_hold", "closed") created `created` minutes after T0."""
    department = fields.pop("department", None) or tenant.department
    t = make_ticket(tenant, contact, department=department)
    status = statuses_for(department).filter(kind=kind).first()
    Ticket.objects.for_org(tenant.org).filter(pk=t.pk).update(
        status=status, status_kind=kind, channel=channel, created_at=at(created), **fields
    )
    t.refresh_from_db()
    return t


def thread(t: Ticket, kind: str, minutes: float, author=None, contact=None) -> Thread:
    """A thread entry written `minutes` after T0. Written around the services to set its
    time, so the ticket's kept waits are recounted as the thread service does after a reply."""
    entry = Thread.objects.create(
        org=t.org, ticket=t, kind=kind, author=author, contact=contact, body="<p>x</p>"
    )
    Thread.objects.for_org(t.org).filter(pk=entry.pk).update(created_at=at(minutes))
    reply_figures_update(org_id=t.org_id, ticket_ids=[t.pk])
    return entry


def rate(t: Ticket, value: str, agent=None, minutes: float = 0, comment: str = "") -> Rating:
    return Rating.objects.create(
        org=t.org,
        ticket=t,
        contact=t.contact,
        value=value,
        agent=agent,
        comment=comment,
        rated_at=at(minutes),
    )


@pytest.fixture
def data(acme):
    return build_data(acme)


def build_data(acme) -> dict:
    """Contact A (4 tickets) and B (1) of account X, a ticket of X without a contact, and
    contact C outside X. The answers are worked out in the tests' docstrings."""
    agent = acme.admin.user
    account = AccountFactory(org=acme.org, name="X")
    a = ContactFactory(org=acme.org, last_name="Aoki", account=account)
    b = ContactFactory(org=acme.org, last_name="Baba", account=account)
    c = ContactFactory(org=acme.org, last_name="Chiba")
    now = timezone.now()
    t1 = ticket(acme, a, kind="open", channel="email", created=0, due_at=now - dt.timedelta(days=1))
    thread(t1, "incoming", 0, contact=a)
    thread(t1, "reply", 30, author=agent)  # first response: 30 min
    thread(t1, "incoming", 60, contact=a)
    thread(t1, "incoming", 70, contact=a)  # the same turn: it started at 60
    thread(t1, "reply", 180, author=agent)  # answered after 120 min
    thread(t1, "reply", 200, author=agent)  # a second reply in a row answers no new turn
    t2 = ticket(acme, a, kind="closed", channel="web", created=0, closed_at=at(240))
    thread(t2, "forward", 10, author=agent)  # a forward is no response
    thread(t2, "reply", 60, author=agent)  # first response: 60 min
    thread(t2, "comment", 65, author=agent)
    rate(t2, "good", agent, minutes=300)
    t3 = ticket(
        acme, a, kind="on_hold", channel="phone", created=0, due_at=now + dt.timedelta(days=1)
    )
    rate(t3, "bad", agent, minutes=310, comment="Slow")
    t4 = ticket(acme, a, kind="closed", channel="chat", created=0, closed_at=at(120))
    thread(t4, "reply", 90)  # no author (sent by the system): not an agent's response
    rate(t4, "good", minutes=320)
    t5 = ticket(acme, b, kind="open", channel="email", created=0, account=account)
    thread(t5, "reply", 15, author=agent)  # first response: 15 min
    t6 = ticket(acme, None, kind="open", channel="web", created=0, account=account)
    t7 = ticket(acme, c, kind="closed", channel="email", created=0, closed_at=at(600))
    rate(t7, "bad")
    return {"account": account, "a": a, "b": b, "c": c, "tickets": [t1, t2, t3, t4, t5, t6, t7]}


def test_cus03_contact_counts_open_on_hold_overdue(acme, data):
    """A has t1 (open, overdue), t2 (closed), t3 (on hold, due tomorrow), t4 (closed)."""
    stats = overview_stats(acme.admin, data["a"])
    assert stats.total == 4
    assert stats.open == 2  # not closed: open and on hold
    assert (stats.open_kind, stats.on_hold, stats.closed) == (1, 1, 2)
    assert stats.overdue == 1


def test_cus03_satisfaction_is_the_share_of_good_ratings(acme, data):
    """A's ratings: good (t2), bad (t3), good (t4): 2 of 3 = 67 %, as the satisfaction report
    rounds it; C's bad rating is not A's."""
    stats = overview_stats(acme.admin, data["a"])
    assert (stats.ratings, stats.good, stats.satisfaction) == (3, 2, 67)
    assert overview_stats(acme.admin, data["b"]).satisfaction is None  # no ratings: no figure


def test_cus03_first_response_response_and_resolution_times(acme, data):
    """First response: t1 30 min, t2 60 min (the forward and the authorless reply of t4 do not
    count) → 45 min over 2 tickets. Response: t1's turns 30 and 120 min, t2's 60 min → 70 min
    over 3 answers. Resolution: t2 4 h, t4 2 h → 3 h over 2 closed tickets."""
    stats = overview_stats(acme.admin, data["a"])
    assert stats.first_response == 45 * 60
    assert stats.answered_tickets == 2
    assert stats.response == 70 * 60
    assert stats.answered_turns == 3
    assert stats.resolution == 3 * 3600
    assert (duration_text(stats.first_response), duration_text(stats.resolution)) == (
        "45 min",
        "3 h 00 min",
    )


def test_cus03_channel_shares_and_donut(acme, data):
    stats = overview_stats(acme.admin, data["a"])
    shares = {s.channel: (s.count, s.percent) for s in stats.channels}
    assert shares == {"email": (1, 25.0), "web": (1, 25.0), "chat": (1, 25.0), "phone": (1, 25.0)}
    donut = channel_donut(stats.channels, stats.total)
    lengths = [float(s.dasharray.split()[0]) for s in donut["segments"]]
    ring = float(donut["segments"][0].dasharray.split()[0]) + float(
        donut["segments"][0].dasharray.split()[1]
    )
    assert sum(lengths) == pytest.approx(ring, abs=0.05)  # the segments close the ring
    # Four equal quarters, each starting where the previous one ended.
    assert [s.dashoffset for s in donut["segments"]] == pytest.approx(
        [0, -ring / 4, -ring / 2, -3 * ring / 4], abs=0.05
    )
    assert donut["segments"][0].title == "Email: 1 (25.0%)"


def test_cus03_account_rolls_up_its_contacts_tickets(acme, data):
    """X: A's 4 tickets, B's t5 and t6 (account set, no contact); not C's t7. Open: t1, t3, t5,
    t6; first response: 30, 60, 15 min → 35 min."""
    stats = overview_stats(acme.admin, data["account"])
    assert stats.total == 6
    assert (stats.open, stats.overdue, stats.closed) == (4, 1, 2)
    assert {s.channel: s.count for s in stats.channels} == {
        "email": 2,
        "web": 2,
        "chat": 1,
        "phone": 1,
    }
    assert stats.first_response == 35 * 60
    assert stats.satisfaction == 67


def test_cus03_contact_who_joined_later_brings_older_tickets(acme, data):
    """A ticket keeps the account its contact had; the account's figures follow the contact."""
    assert all(t.account_id is None for t in data["tickets"][:4])  # created before joining
    late = ContactFactory(org=acme.org, last_name="Late")
    ticket(acme, late, kind="open", channel="email", created=0)
    assert overview_stats(acme.admin, data["account"]).total == 6
    late.account = data["account"]
    late.save()
    assert overview_stats(acme.admin, data["account"]).total == 7


@pytest.mark.parametrize("view", ["all", "open", "on_hold", "closed", "overdue"])
def test_cus03_figures_agree_with_the_ticket_list(acme, data, view):
    """The ticket list filtered by the contact counts what the overview says."""
    stats = overview_stats(acme.admin, data["a"])
    listed = ticket_page(acme.admin, {"contact": data["a"].pk, "view": view}).count
    expected = {
        "all": stats.total,
        "open": stats.open_kind,
        "on_hold": stats.on_hold,
        "closed": stats.closed,
        "overdue": stats.overdue,
    }[view]
    assert listed == expected


def test_cus03_agent_counts_only_the_tickets_they_may_open(acme, data):
    """Bob works in a second department only: of A's tickets he sees the one moved there."""
    other = DepartmentFactory(org=acme.org)
    bob = acme.member(user=UserFactory(full_name="Bob"))
    DepartmentAgentFactory(org=acme.org, department=other, user=bob.user)
    statuses_for(other)
    t3 = data["tickets"][2]
    status = statuses_for(other).filter(kind=StatusKind.ON_HOLD).first()
    Ticket.objects.for_org(acme.org).filter(pk=t3.pk).update(department=other, status=status)
    stats = overview_stats(bob, data["a"])
    assert (stats.total, stats.on_hold, stats.ratings, stats.satisfaction) == (1, 1, 1, 0)
    assert stats.first_response is None and stats.resolution is None
    assert overview_stats(acme.admin, data["a"]).total == 4


def test_cus03_empty_record(acme):
    stats = overview_stats(acme.admin, ContactFactory(org=acme.org))
    assert (stats.total, stats.open, stats.channels, stats.satisfaction) == (0, 0, [], None)
    assert (stats.first_response, stats.response, stats.resolution) == (None, None, None)
    assert channel_donut(stats.channels, 0)["segments"] == []


def test_cus03_duration_text():
    assert duration_text(None) == "—"
    assert duration_text(20) == "under 1 min"
    assert duration_text(90 * 60) == "1 h 30 min"
    assert duration_text(50 * 3600) == "2 d 2 h"


@pytest.mark.parametrize("record", ["a", "b", "account"])
def test_cus03_figures_from_kept_waits_equal_the_thread_walk(acme, data, record):
    """The overview sums each ticket's kept waits; the same tickets walked thread by thread
    (helpdesk.tickets.customer_stats, the CRM's figures) give every figure alike."""
    from helpdesk.tickets.customer_stats import record_scope, tickets_stats

    subject = data[record]
    now = timezone.now()
    walked = tickets_stats(
        acme.org, Ticket.objects.for_org(acme.org).filter(record_scope(acme.org, subject)), now
    )
    assert overview_stats(acme.admin, subject, now) == walked
