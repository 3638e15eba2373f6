"""CUS-05 the Activities tab of a contact and of an account: the calls, events and tasks of
the record or of its tickets (an account's: also its contacts' and their tickets'), as
Upcoming / All / Spam with counts; create one from the tab (valid, refused in place with 400,
nothing saved); complete and spam from a row; permissions and outsiders.

Bob is an agent of Acme's default department, Rita a restricted agent there."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Contact
from helpdesk.tickets.activities.models import Activity
from helpdesk.tickets.activities.services import ActivityInput, activity_create
from tests.conftest import login
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "tab-panel"}


def tab_url(kind: str, record, **query) -> str:
    url = reverse(
        f"customers:{kind}_activities", kwargs={"portal": "acme", f"{kind}_id": record.pk}
    )
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def subjects(response) -> list[str]:
    """The subjects of the tab's rows, in order."""
    ids = [int(i) for i in re.findall(r'<tr data-activity="(\d+)"', response.content.decode())]
    by_id = dict(Activity.objects.filter(pk__in=ids).values_list("pk", "subject"))
    return [by_id[i] for i in ids]


def counts(response) -> dict[str, int]:
    found = re.findall(r'data-count="(\w+)">(\d+)<', response.content.decode())
    return {key: int(n) for key, n in found}


def make(desk, subject, *, kind="task", when=None, ticket=None, **links) -> Activity:
    data = {"kind": kind, "subject": subject, "owner": desk.agent.user}
    if kind == "task":
        data["due_at"] = when
    else:
        data["starts_at"] = when
        if kind == "call":
            data["direction"] = "outbound"
        else:
            data["ends_at"] = when + dt.timedelta(hours=1)
    if links.pop("done", False):
        data["status"] = "completed"
    return activity_create(actor=desk.admin, data=ActivityInput(**data), ticket=ticket, **links)


@pytest.fixture
def world(desk):
    """Taro (desk.contact) and Hanako in the account Umbrella; Jiro elsewhere."""
    now = timezone.now()
    day = dt.timedelta(days=1)
    hanako = Contact.objects.create(org=desk.org, last_name="Sato", account=desk.account)
    jiro = Contact.objects.create(org=desk.org, last_name="Suzuki")
    ticket = desk.ticket(subject="Taro's printer")  # Taro's, hence Umbrella's
    made = {
        "call taro": make(desk, "call taro", kind="call", when=now + 2 * day, contact=desk.contact),
        "overdue on ticket": make(desk, "overdue on ticket", when=now - 2 * day, ticket=ticket),
        "done on ticket": make(
            desk, "done on ticket", when=now - 5 * day, ticket=ticket, done=True
        ),
        "undated on ticket": make(desk, "undated on ticket", ticket=ticket, contact=jiro),
        "spam call": make(desk, "spam call", kind="call", when=now + day, contact=desk.contact),
        "hanako task": make(desk, "hanako task", when=now + day, contact=hanako),
        "umbrella event": make(
            desk, "umbrella event", kind="event", when=now + day, account=desk.account
        ),
        "jiro task": make(desk, "jiro task", when=now + 3 * day, contact=jiro),
    }
    spam = made["spam call"]
    Activity.objects.for_org(desk.org).filter(pk=spam.pk).update(spam=True)
    return made


def test_cus05_contact_tab_upcoming_all_and_spam_with_counts(client, desk, world):
    """The contact's own activities and its tickets' (one is linked to another contact but
    sits on Taro's ticket), never another contact's; Upcoming has the overdue first."""
    login(client, desk.agent)
    response = client.get(tab_url("contact", desk.contact), **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and "<h2" in body  # a fragment with its heading
    assert subjects(response) == ["overdue on ticket", "call taro", "undated on ticket"]
    assert counts(response) == {"upcoming": 3, "all": 4, "spam": 1}
    assert "Overdue" in body
    every = client.get(tab_url("contact", desk.contact, view="all"), **HTMX)
    assert subjects(every) == [
        "call taro",
        "overdue on ticket",
        "done on ticket",
        "undated on ticket",
    ]
    assert subjects(client.get(tab_url("contact", desk.contact, view="spam"))) == ["spam call"]
    # Jiro sees his own task and the activity linked to him on Taro's ticket.
    jiro = world["jiro task"].contact
    assert subjects(client.get(tab_url("contact", jiro, view="all"))) == [
        "jiro task",
        "undated on ticket",
    ]


def test_cus05_account_tab_includes_its_contacts_and_their_tickets(client, desk, world):
    login(client, desk.agent)
    response = client.get(tab_url("account", desk.account, view="all"))
    assert response.status_code == 200
    assert subjects(response) == [
        "call taro",
        "umbrella event",
        "hanako task",
        "overdue on ticket",
        "done on ticket",
        "undated on ticket",
    ]
    assert counts(response) == {"upcoming": 5, "all": 6, "spam": 1}
    upcoming = client.get(tab_url("account", desk.account))
    assert subjects(upcoming) == [
        "overdue on ticket",
        "hanako task",
        "umbrella event",
        "call taro",
        "undated on ticket",
    ]


def test_cus05_rows_show_kind_owner_status_and_link(client, desk, world):
    login(client, desk.agent)
    body = html.unescape(client.get(tab_url("contact", desk.contact, view="all")).content.decode())
    ticket = world["overdue on ticket"].ticket
    assert (
        f'href="/acme/desk/tickets/{ticket.number}/">#{ticket.number} Taro\'s printer</a>' in body
    )
    assert "Call" in body and "Task" in body and "Completed" in body
    assert desk.agent.user.display_name in body
    assert f'href="/acme/customers/contacts/{desk.contact.pk}/">{desk.contact.name}</a>' in body
    # Filters and the form target the tab panel and work as plain links too.
    assert 'hx-target="#tab-panel"' in body
    assert f'href="/acme/customers/contacts/{desk.contact.pk}/?tab=activities&view=spam"' in body


def test_cus05_the_list_is_paged_with_a_fixed_number_of_queries(
    client, desk, django_assert_max_num_queries
):
    login(client, desk.agent)
    url = tab_url("contact", desk.contact, view="all")
    for n in range(3):
        make(desk, f"few {n}", contact=desk.contact)
    client.get(url)  # warm the session and the member's caches
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    for n in range(40):
        make(desk, f"many {n}", contact=desk.contact)
    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get(url)
    assert len(subjects(response)) == 25  # one page
    assert counts(response)["all"] == 43
    assert len(many.captured_queries) == len(few.captured_queries)
    second = client.get(tab_url("contact", desk.contact, view="all", apage=2))
    assert len(subjects(second)) == 18


def test_cus05_create_a_call_from_the_contact_tab(client, desk):
    login(client, desk.agent)
    when = (timezone.localtime() + dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    data = {
        "kind": "call",
        "subject": "Call about the renewal",
        "status": "open",
        "priority": "medium",
        "starts_at": when,
        "direction": "outbound",
        "owner": desk.agent.user.pk,
    }
    response = client.post(tab_url("contact", desk.contact), data)
    assert response.status_code == 302
    assert (
        response["Location"]
        == f"/acme/customers/contacts/{desk.contact.pk}/?tab=activities&view=upcoming"
    )
    call = Activity.objects.for_org(desk.org).get(subject="Call about the renewal")
    assert (call.contact, call.account, call.ticket, call.kind) == (
        desk.contact,
        None,
        None,
        "call",
    )
    assert call.created_by == desk.agent.user
    # With htmx: the fresh tab, the new call in it.
    data["subject"] = "Second call"
    response = client.post(tab_url("contact", desk.contact), data, **HTMX)
    assert response.status_code == 200
    assert subjects(response) == ["Call about the renewal", "Second call"]
    assert "“Second call” added." in html.unescape(response.content.decode())


def test_cus05_create_a_task_from_the_account_tab(client, desk):
    login(client, desk.agent)
    data = {"kind": "task", "subject": "Send the quote", "status": "open", "priority": "high"}
    response = client.post(tab_url("account", desk.account), data, **HTMX)
    assert response.status_code == 200
    task = Activity.objects.for_org(desk.org).get(subject="Send the quote")
    assert (task.account, task.contact, task.priority) == (desk.account, None, "high")
    assert subjects(response) == ["Send the quote"]


def test_cus05_refused_form_shown_in_place_with_400_and_nothing_saved(client, desk):
    login(client, desk.agent)
    data = {"kind": "call", "subject": "No time <given>", "status": "open", "priority": "low"}
    response = client.post(tab_url("contact", desk.contact), data, **HTMX)
    assert response.status_code == 400
    body = response.content.decode()
    assert "<html" not in body  # the tab, in place
    assert "Enter when the call is or was." in html.unescape(body)
    assert 'value="No time &lt;given&gt;"' in body  # what was typed is kept, escaped
    assert not Activity.objects.for_org(desk.org).exists()
    # Without JavaScript: a page around the tab, also 400.
    plain = client.post(tab_url("contact", desk.contact), data)
    assert plain.status_code == 400 and "<html" in plain.content.decode()
    assert "Enter when the call is or was." in html.unescape(plain.content.decode())
    bad_kind = client.post(tab_url("contact", desk.contact), {**data, "kind": "shout"}, **HTMX)
    assert bad_kind.status_code == 400
    assert not Activity.objects.for_org(desk.org).exists()


def test_cus05_complete_and_spam_from_a_row(client, desk, world):
    login(client, desk.agent)
    task = world["overdue on ticket"]
    url = reverse(
        "customers:contact_activity_action",
        kwargs={"portal": "acme", "contact_id": desk.contact.pk, "activity_id": task.pk},
    )
    response = client.post(url + "?view=upcoming", {"action": "done"}, **HTMX)
    assert response.status_code == 200
    task.refresh_from_db()
    assert task.done and task.status == "completed"
    assert "overdue on ticket" not in subjects(response)
    response = client.post(url, {"action": "spam"})
    assert response.status_code == 302
    task.refresh_from_db()
    assert task.spam
    assert client.post(url, {"action": "explode"}).status_code == 400
    # An activity that is not this record's: 404, unchanged.
    other = world["jiro task"]
    url = reverse(
        "customers:contact_activity_action",
        kwargs={"portal": "acme", "contact_id": desk.contact.pk, "activity_id": other.pk},
    )
    assert client.post(url, {"action": "done"}).status_code == 404
    other.refresh_from_db()
    assert not other.done


def test_cus05_restricted_agent_reads_but_cannot_create(client, desk, world):
    login(client, desk.restricted)
    response = client.get(tab_url("contact", desk.contact, view="all"))
    assert response.status_code == 200
    assert 'data-testid="activity-form"' not in response.content.decode()
    data = {"kind": "task", "subject": "Sneaky", "status": "open", "priority": "low"}
    assert client.post(tab_url("contact", desk.contact), data).status_code == 403
    assert not Activity.objects.for_org(desk.org).filter(subject="Sneaky").exists()


def test_cus05_hostile_subject_is_escaped(client, desk):
    make(desk, "<script>alert(1)</script>", contact=desk.contact)
    login(client, desk.agent)
    body = client.get(tab_url("contact", desk.contact, view="all")).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_cus05_outsiders_get_404(client, desk, globex):
    login(client, globex.admin)
    assert client.get(tab_url("contact", desk.contact)).status_code == 404
    theirs = Contact.objects.create(org=globex.org, last_name="Secret")
    login(client, desk.agent)
    assert client.get(tab_url("contact", theirs)).status_code == 404
