"""TKT-04 the activities list per user in the desk: mine by default, filters (type, status,
overdue, today, owner for admins), sorting, pages, overdue marked, times in the user's time
zone, and a fixed number of queries."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.urls import reverse
from django.utils import timezone

from helpdesk.tickets.activities.models import Activity
from helpdesk.tickets.activities.selectors import PAGE_SIZE
from helpdesk.tickets.activities.services import ActivityInput, activity_create
from tests.conftest import login

pytestmark = pytest.mark.django_db
LIST = reverse("desk:activity_list", kwargs={"portal": "acme"})


def make(desk, subject, *, owner=None, kind="task", ticket=None, **kwargs):
    data = {"kind": kind, "subject": subject, "owner": owner or desk.agent.user, **kwargs}
    if kind != "task":
        start = kwargs.get("due_at") or timezone.now() + dt.timedelta(days=1)
        data.pop("due_at", None)
        data.update(starts_at=start)
        if kind == "call":
            data.setdefault("direction", "inbound")
        else:
            data.setdefault("ends_at", start + dt.timedelta(hours=1))
    return activity_create(
        actor=desk.admin, data=ActivityInput(**data), ticket=ticket or desk.ticket()
    )


def rows(response) -> list[str]:
    return [a.subject for a in response.context["page"]]


@pytest.fixture
def agent_client(client, desk):
    return login(client, desk.agent)


def test_tkt04_list_shows_my_open_activities_by_due_time(agent_client, desk):
    now = timezone.now()
    ticket = desk.ticket()
    make(desk, "later", due_at=now + dt.timedelta(days=3), ticket=ticket)
    make(desk, "sooner", due_at=now + dt.timedelta(hours=3), ticket=ticket)
    make(desk, "someone else's", owner=desk.admin.user, ticket=ticket)
    done = make(desk, "done", ticket=ticket, status="completed")
    assert done.done
    response = agent_client.get(LIST)
    assert response.status_code == 200
    assert rows(response) == ["sooner", "later"]
    assert rows(agent_client.get(LIST, {"sort": "-due"})) == ["later", "sooner"]
    assert rows(agent_client.get(LIST, {"status": "done"})) == ["done"]
    # A non-admin cannot list another member's activities.
    assert "someone else's" not in rows(agent_client.get(LIST, {"owner": "all"}))
    assert 'name="owner"' not in response.content.decode()


def test_tkt04_list_filters_type_overdue_today_and_spam(agent_client, desk, settings):
    now = timezone.now()
    ticket = desk.ticket()
    make(desk, "overdue task", due_at=now - dt.timedelta(days=2), ticket=ticket)
    make(desk, "call today", kind="call", due_at=now + dt.timedelta(minutes=1), ticket=ticket)
    make(desk, "event next week", kind="event", due_at=now + dt.timedelta(days=7), ticket=ticket)
    spam = make(desk, "spammy", ticket=ticket)
    Activity.objects.for_org(desk.org).filter(pk=spam.pk).update(spam=True)
    assert rows(agent_client.get(LIST, {"kind": "call"})) == ["call today"]
    response = agent_client.get(LIST, {"when": "overdue"})
    assert rows(response) == ["overdue task"]
    html = response.content.decode()
    assert 'class="is-overdue"' in html and "Overdue" in html and 'class="overdue"' in html
    assert rows(agent_client.get(LIST, {"when": "upcoming"})) == ["call today", "event next week"]
    assert rows(agent_client.get(LIST, {"status": "spam"})) == ["spammy"]
    assert "spammy" not in rows(agent_client.get(LIST, {"status": "all"}))
    # Nonsense in the query string is ignored, not an error.
    response = agent_client.get(
        LIST, {"kind": "meeting", "when": "never", "sort": "x", "page": "z"}
    )
    assert response.status_code == 200


def test_tkt04_today_is_the_users_day_and_times_show_in_their_zone(agent_client, desk):
    user = desk.agent.user
    user.time_zone = "Asia/Tokyo"
    user.save(update_fields=["time_zone"])
    tokyo = zoneinfo.ZoneInfo("Asia/Tokyo")
    today = timezone.now().astimezone(tokyo).date()
    start_of_day = dt.datetime.combine(today, dt.time(0, 30), tzinfo=tokyo)
    make(desk, "early in Tokyo", due_at=start_of_day)
    make(desk, "tomorrow in Tokyo", due_at=start_of_day + dt.timedelta(days=1))
    response = agent_client.get(LIST, {"when": "today", "status": "all"})
    assert rows(response) == ["early in Tokyo"]
    assert f"{today:%Y-%m-%d} 00:30" in response.content.decode()


def test_tkt04_admin_filters_by_owner(client, desk):
    ticket = desk.ticket()
    make(desk, "bob's", owner=desk.agent.user, ticket=ticket)
    make(desk, "alice's", owner=desk.admin.user, ticket=ticket)
    login(client, desk.admin)
    assert rows(client.get(LIST)) == ["alice's"]  # mine by default
    assert rows(client.get(LIST, {"owner": str(desk.agent.user.pk)})) == ["bob's"]
    assert sorted(rows(client.get(LIST, {"owner": "all"}))) == ["alice's", "bob's"]


def test_tkt04_list_sorts_by_priority_and_pages(agent_client, desk):
    ticket = desk.ticket()
    for n in range(PAGE_SIZE + 2):
        make(desk, f"task {n:02d}", ticket=ticket, priority="low")
    make(desk, "urgent one", ticket=ticket, priority="urgent")
    assert rows(agent_client.get(LIST, {"sort": "priority"}))[0] == "urgent one"
    first = agent_client.get(LIST, {"sort": "subject"})
    assert len(rows(first)) == PAGE_SIZE
    html = first.content.decode()
    assert "sort=subject&amp;page=2" in html and "28 activities" in html
    second = agent_client.get(LIST, {"sort": "subject", "page": "2"})
    assert rows(second) == ["task 25", "task 26", "urgent one"]


def test_tkt04_list_queries_are_fixed(client, desk, django_assert_max_num_queries):
    """5 rows or 50 rows (linked to tickets, contacts and accounts): the same queries."""
    login(client, desk.admin)
    ticket = desk.ticket()

    def fill(n):
        for i in range(n):
            make(desk, f"a{i}", owner=desk.admin.user, ticket=ticket if i % 2 else desk.ticket())

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fill(5)
    client.get(LIST, {"owner": "all"})
    with CaptureQueriesContext(connection) as few:
        client.get(LIST, {"owner": "all", "status": "all"})
    few_queries = len(few.captured_queries)
    fill(45)
    with django_assert_max_num_queries(few_queries):
        response = client.get(LIST, {"owner": "all", "status": "all"})
    assert len(rows(response)) == PAGE_SIZE


def test_tkt04_list_actions_without_javascript_return_to_the_list(agent_client, desk):
    activity = make(desk, "finish me")
    here = LIST + "?kind=task"
    response = agent_client.post(
        reverse("desk:activity_done", kwargs={"portal": "acme", "activity_id": activity.pk}),
        {"next": here},
    )
    assert response.status_code == 302 and response["Location"] == here
    activity.refresh_from_db()
    assert activity.done


def test_tkt04_a_contacts_and_accounts_activities_and_time(desk, globex):
    """Seed 003: a contact's or account's activities (upcoming, all, spam) and the time
    logged on their tickets, for the customers' pages."""
    from customers.models import Contact
    from helpdesk.tenancy.guards import OtherOrganizationError
    from helpdesk.tickets.activities.selectors import customer_activities, customer_time_totals
    from helpdesk.tickets.activities.services import TimeInput, time_entry_create

    ticket = desk.ticket()  # the desk's contact, of the desk's account
    now = timezone.now()
    make(desk, "next week", ticket=ticket, due_at=now + dt.timedelta(days=7))
    make(desk, "last week", ticket=ticket, due_at=now - dt.timedelta(days=7))
    spam = make(desk, "junk", ticket=ticket)
    Activity.objects.for_org(desk.org).filter(pk=spam.pk).update(spam=True)
    subjects = lambda items: [a.subject for a in items]  # noqa: E731
    # Upcoming: not done, the overdue first (CUS-05); all: the latest first.
    assert subjects(customer_activities(desk.agent, contact=desk.contact, scope="upcoming")) == [
        "last week",
        "next week",
    ]
    assert subjects(customer_activities(desk.agent, account=desk.account)) == [
        "next week",
        "last week",
    ]
    assert subjects(customer_activities(desk.agent, contact=desk.contact, scope="spam")) == ["junk"]
    time_entry_create(
        actor=desk.agent,
        ticket=ticket,
        data=TimeInput(minutes=30, work_date=timezone.localdate(), billed=True),
    )
    totals = customer_time_totals(desk.org, account=desk.account)
    assert (totals.total, totals.billable, totals.billed) == (30, 30, 30)
    assert customer_time_totals(desk.org, contact=desk.contact).total == 30
    theirs = Contact.objects.create(org=globex.org, last_name="Secret")
    with pytest.raises(OtherOrganizationError):
        customer_activities(desk.agent, contact=theirs)
