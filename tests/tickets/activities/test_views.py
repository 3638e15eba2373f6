"""TKT-04 activities and time on the ticket page: the panels (htmx and without JavaScript),
validation errors shown where they belong, the timer, and the outsider's 404."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from helpdesk.tickets.activities.models import Activity, RunningTimer, TimeEntry
from helpdesk.tickets.activities.services import ActivityInput, activity_create
from helpdesk.tickets.models import TicketHistory
from tests.conftest import login

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def url(name: str, **kwargs) -> str:
    return reverse(f"desk:{name}", kwargs={"portal": "acme", **kwargs})


@pytest.fixture
def agent_client(client, desk):
    return login(client, desk.agent)


def test_tkt04_ticket_page_lazy_loads_both_panels_with_a_no_js_link(agent_client, desk):
    ticket = desk.ticket()
    html = agent_client.get(url("ticket_detail", number=ticket.number)).content.decode()
    panel = url("ticket_activities", number=ticket.number)
    time = url("ticket_time", number=ticket.number)
    assert f'hx-get="{panel}"' in html and f'href="{panel}"' in html
    assert f'hx-get="{time}"' in html and f'href="{time}"' in html
    assert "js/timer.js" in html


def test_tkt04_ticket_page_queries_do_not_grow_with_activities_and_time(
    agent_client, desk, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ticket = desk.ticket()
    agent_client.get(url("ticket_detail", number=ticket.number))
    with CaptureQueriesContext(connection) as few:
        agent_client.get(url("ticket_detail", number=ticket.number))
    few_queries = len(few.captured_queries)  # read now: each request resets the query log
    for n in range(5):
        agent_client.post(
            url("ticket_activities", number=ticket.number),
            {"kind": "task", "subject": f"t{n}", "status": "open", "priority": "low"},
        )
        agent_client.post(
            url("ticket_time", number=ticket.number),
            {"minutes": "10", "work_date": timezone.localdate().isoformat(), "billable": "on"},
        )
    with django_assert_max_num_queries(few_queries):
        agent_client.get(url("ticket_detail", number=ticket.number))


def test_tkt04_create_a_task_from_the_panel_htmx(agent_client, desk):
    ticket = desk.ticket()
    due = (timezone.localtime() + dt.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    response = agent_client.post(
        url("ticket_activities", number=ticket.number),
        {
            "kind": "task",
            "subject": "Send <the> invoice",
            "owner": str(desk.agent.user.pk),
            "status": "open",
            "priority": "high",
            "due_at": due,
        },
        **HTMX,
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="activities-panel"' in html and "<html" not in html
    assert "Send &lt;the&gt; invoice" in html  # escaped, shown as typed
    activity = Activity.objects.for_org(desk.org).get()
    assert activity.ticket == ticket and activity.contact == desk.contact
    assert activity.account == desk.account  # the ticket's customer sees it too


def test_tkt04_activity_errors_show_in_the_panel_and_nothing_is_saved(agent_client, desk):
    ticket = desk.ticket()
    panel = url("ticket_activities", number=ticket.number)
    response = agent_client.post(
        panel, {"kind": "event", "subject": "", "status": "open", "priority": "low"}, **HTMX
    )
    assert response.status_code == 200  # htmx swaps it: the errors show in place
    html = response.content.decode()
    assert "This field is required." in html and 'id="activities-panel"' in html
    response = agent_client.post(
        panel,
        {
            "kind": "event",
            "subject": "Visit",
            "status": "open",
            "priority": "low",
            "starts_at": "2030-01-02T10:00",
            "ends_at": "2030-01-02T09:00",
        },
    )
    assert response.status_code == 400  # without JavaScript: the panel's page, with errors
    assert "The event cannot end before it starts." in response.content.decode()
    response = agent_client.post(
        panel, {"kind": "call", "subject": "x", "status": "open", "priority": "low"}
    )
    assert "Enter when the call is or was." in response.content.decode()
    assert "Choose inbound or outbound." in response.content.decode()
    assert not Activity.objects.for_org(desk.org).exists()


def test_tkt04_complete_spam_and_delete_from_the_panel(agent_client, desk):
    ticket = desk.ticket()
    activity = activity_create(
        actor=desk.agent, data=ActivityInput(kind="task", subject="Check"), ticket=ticket
    )
    headers = {**HTMX, "HTTP_HX_TARGET": "activities-panel"}
    response = agent_client.post(url("activity_done", activity_id=activity.pk), **headers)
    assert response.status_code == 200 and "Reopen" in response.content.decode()
    response = agent_client.post(url("activity_spam", activity_id=activity.pk), **headers)
    assert "1 marked as spam" in response.content.decode()
    # Without JavaScript: back to where the form came from.
    back = url("ticket_detail", number=ticket.number)
    response = agent_client.post(url("activity_delete", activity_id=activity.pk), {"next": back})
    assert response.status_code == 302 and response["Location"] == back
    assert not Activity.objects.for_org(desk.org).exists()
    actions = list(
        TicketHistory.objects.for_org(desk.org)
        .filter(ticket=ticket)
        .values_list("action", flat=True)
        .order_by("pk")
    )
    assert actions[-3:] == ["activity_completed", "activity_spam", "activity_deleted"]
    # An outside `next` is not followed.
    other = activity_create(
        actor=desk.agent, data=ActivityInput(kind="task", subject="x"), ticket=ticket
    )
    response = agent_client.post(
        url("activity_done", activity_id=other.pk), {"next": "https://evil.test/"}
    )
    assert response["Location"] == url("activity_list")


def test_tkt04_edit_an_activity_page(agent_client, desk):
    ticket = desk.ticket()
    activity = activity_create(
        actor=desk.agent, data=ActivityInput(kind="task", subject="Old"), ticket=ticket
    )
    page = url("activity_edit", activity_id=activity.pk)
    assert agent_client.get(page).status_code == 200
    response = agent_client.post(
        page,
        {
            "kind": "call",
            "subject": "New",
            "status": "open",
            "priority": "low",
            "direction": "sideways",
            "starts_at": "2030-01-01T10:00",
        },
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    response = agent_client.post(
        page,
        {
            "kind": "call",
            "subject": "New",
            "status": "completed",
            "priority": "low",
            "direction": "inbound",
            "starts_at": "2030-01-01T10:00",
            "call_minutes": "7",
            "next": url("ticket_detail", number=ticket.number),
        },
    )
    assert response.status_code == 302
    activity.refresh_from_db()
    assert (activity.kind, activity.subject, activity.done, activity.call_minutes) == (
        "call",
        "New",
        True,
        7,
    )


def test_tkt04_time_entry_form_errors_and_totals(agent_client, desk):
    ticket = desk.ticket()
    panel = url("ticket_time", number=ticket.number)
    today = timezone.localdate().isoformat()
    for data, message in [
        ({"minutes": "0", "work_date": today}, "The duration must be more than zero."),
        ({"minutes": "soon", "work_date": today}, "Enter a duration such as 1:30"),
        ({"minutes": "25:00", "work_date": today}, "One entry is at most 24 hours"),
        (
            {"minutes": "1:00", "work_date": today, "billed": "on"},
            "Only billable time can be billed.",
        ),
        (
            {"minutes": "1:00", "work_date": "2100-01-01", "billable": "on"},
            "cannot be in the future",
        ),
    ]:
        response = agent_client.post(panel, data)
        assert response.status_code == 400, data
        assert message in response.content.decode(), data
    assert not TimeEntry.objects.for_org(desk.org).exists()
    response = agent_client.post(
        panel, {"minutes": "1:30", "work_date": today, "billable": "on", "note": "<b>x</b>"}, **HTMX
    )
    html = response.content.decode()
    assert response.status_code == 200 and "&lt;b&gt;x&lt;/b&gt;" in html
    assert 'data-total="total">1:30<' in html and 'data-total="billable">1:30<' in html
    entry = TimeEntry.objects.for_org(desk.org).get()
    edit = url("time_entry_edit", number=ticket.number, time_entry_id=entry.pk)
    response = agent_client.post(
        edit, {"minutes": "2h", "work_date": today, "billable": "on", "billed": "on"}
    )
    assert response.status_code == 302
    html = agent_client.get(panel).content.decode()
    assert 'data-total="billed">2:00<' in html
    agent_client.post(url("time_entry_delete", number=ticket.number, time_entry_id=entry.pk))
    assert not TimeEntry.objects.for_org(desk.org).exists()


def test_tkt04_timer_without_javascript(agent_client, desk):
    ticket = desk.ticket()
    timer_url = url("ticket_timer", number=ticket.number)
    response = agent_client.post(timer_url, {"action": "start"})
    assert response.status_code == 302
    html = agent_client.get(url("ticket_time", number=ticket.number)).content.decode()
    assert "running" in html and 'data-running="1"' in html
    RunningTimer.objects.for_org(desk.org).update(
        started_at=timezone.now() - dt.timedelta(minutes=42, seconds=10)
    )
    response = agent_client.post(timer_url, {"action": "stop"})
    time_page = url("ticket_time", number=ticket.number)
    assert response.status_code == 302 and response["Location"] == time_page + "?log=1"
    html = agent_client.get(response["Location"]).content.decode()  # a reload shows it again
    assert 'name="from_timer" value="1"' in html and 'value="0:43"' in html
    # The entry is checked (and changed) before it is saved; the timer ends with it.
    agent_client.post(
        url("ticket_time", number=ticket.number),
        {
            "minutes": "0:40",
            "work_date": timezone.localdate().isoformat(),
            "billable": "on",
            "from_timer": "1",
        },
    )
    assert TimeEntry.objects.for_org(desk.org).get().minutes == 40
    assert not RunningTimer.objects.for_org(desk.org).exists()
    assert agent_client.post(timer_url, {"action": "explode"}).status_code == 400


def test_tkt04_restricted_agent_may_log_time(client, desk):
    ticket = desk.ticket()
    login(client, desk.restricted)
    response = client.post(
        url("ticket_time", number=ticket.number),
        {"minutes": "15", "work_date": timezone.localdate().isoformat()},
    )
    assert response.status_code == 302
    assert TimeEntry.objects.for_org(desk.org).get().user == desk.restricted.user


def test_tkt04_other_department_and_outsider_get_404(client, desk, globex):
    ticket = desk.ticket()
    activity = activity_create(
        actor=desk.agent, data=ActivityInput(kind="task", subject="Secret"), ticket=ticket
    )
    for member in (desk.other_agent, globex.admin):
        login(client, member)
        for name in ("ticket_activities", "ticket_time", "ticket_timer"):
            assert client.post(url(name, number=ticket.number)).status_code == 404
        assert client.get(url("ticket_activities", number=ticket.number)).status_code == 404
        for name in ("activity_edit", "activity_done", "activity_spam", "activity_delete"):
            assert client.post(url(name, activity_id=activity.pk)).status_code == 404
    assert Activity.objects.for_org(desk.org).get().done is False
