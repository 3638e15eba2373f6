"""TKT-06: the list's columns, saved views, last activity and the contact/account filters."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse

from helpdesk.tickets.models import ListPreference, SavedView, Ticket
from helpdesk.tickets.selectors import DEFAULT_COLUMNS, saved_views_for
from helpdesk.tickets.services.listviews import saved_view_create
from helpdesk.tickets.services.threads import thread_add
from tests.conftest import login


def url(name: str = "home", portal: str = "acme", **kwargs) -> str:
    return reverse(f"desk:{name}", kwargs={"portal": portal, **kwargs})


def headers(response) -> list[str]:
    html = response.content.decode()
    return re.findall(r'<th scope="col" class="col-(\w+)">', html)


def numbers(response) -> list[int]:
    return [t.number for t in response.context["page"].tickets]


# --- Columns -------------------------------------------------------------------------------------
def test_tkt06_columns_are_saved_per_member_and_applied_in_their_order(client, desk):
    desk.ticket(subject="Printer on fire")
    login(client, desk.agent)
    response = client.post(
        url("list_columns"),
        {
            "order": ["activity", "subject", "number", "status", "account"],
            "columns": ["activity", "subject", "number", "account"],
            "next": "view=open&sort=-activity",
        },
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/acme/desk/?view=open&sort=-activity")
    page = client.get(url())
    assert headers(page) == ["activity", "subject", "number", "account"]
    assert "Umbrella" in page.content.decode()  # the account column's value
    # Another member keeps the default columns.
    login(client, desk.admin)
    assert headers(client.get(url())) == list(DEFAULT_COLUMNS)


def test_tkt06_columns_move_up_and_keep_the_subject(client, desk):
    login(client, desk.agent)
    order = list(DEFAULT_COLUMNS)
    client.post(
        url("list_columns"),
        {"order": order, "columns": ["number", "contact", "owner"], "move": "up:owner"},
    )
    # The subject (the row's link) cannot be hidden.
    prefs = ListPreference.objects.get(org=desk.org, user=desk.agent.user)
    assert prefs.columns == ["number", "subject", "owner", "contact"]
    client.post(url("list_columns"), {"reset": "1"})
    assert headers(client.get(url())) == list(DEFAULT_COLUMNS)


def test_tkt06_unknown_columns_are_ignored(client, desk):
    login(client, desk.agent)
    client.post(url("list_columns"), {"order": ["password", "subject"], "columns": ["password"]})
    assert headers(client.get(url())) == ["subject"]


# --- Saved views ---------------------------------------------------------------------------------
def test_tkt06_saved_view_keeps_filters_sort_search_and_columns(client, desk):
    desk.ticket(subject="Invoice missing", priority="high")
    desk.ticket(subject="Invoice again", priority="low")
    login(client, desk.agent)
    client.post(url("list_columns"), {"order": ["number", "subject"], "columns": ["subject"]})
    response = client.post(
        url("saved_view_new"),
        {"name": "High invoices", "next": "q=invoice&priority=high&sort=number&page=3"},
    )
    view = SavedView.objects.get(org=desk.org, name="High invoices")
    assert view.params == {"q": "invoice", "priority": "high", "sort": "number"}
    assert view.columns == ["subject"]
    assert response.status_code == 302 and f"saved={view.pk}" in response["Location"]
    # Other columns chosen afterwards do not change the saved view's.
    client.post(url("list_columns"), {"order": list(DEFAULT_COLUMNS), "columns": ["status"]})
    page = client.get(response["Location"])
    assert page.context["saved"] == view
    assert headers(page) == ["subject"]
    assert [t.subject for t in page.context["page"].tickets] == ["Invoice missing"]
    html = page.content.decode()
    assert "<h1>High invoices</h1>" in html
    assert f'data-saved-view="{view.pk}"' in html  # listed in the sidebar


def test_tkt06_saved_view_without_a_name_is_refused(client, desk):
    login(client, desk.agent)
    response = client.post(url("saved_view_new"), {"name": "  ", "next": "view=open"}, follow=True)
    assert "Name the view." in response.content.decode()
    assert not SavedView.objects.filter(org=desk.org).exists()


def test_tkt06_personal_view_is_seen_only_by_its_owner(client, desk):
    view = saved_view_create(actor=desk.agent, name="Mine only", params={}, columns=[])
    assert saved_views_for(desk.agent) == [view]
    for other in (desk.admin, desk.restricted, desk.other_agent):
        assert saved_views_for(other) == []
    login(client, desk.restricted)
    assert "Mine only" not in client.get(url()).content.decode()
    # Opening it by id shows the plain list, not the view.
    assert client.get(url(), {"saved": view.pk}).context["saved"] is None


def test_tkt06_department_view_is_seen_by_that_departments_agents(client, desk):
    login(client, desk.agent)
    client.post(
        url("saved_view_new"),
        {"name": "Team queue", "department": desk.department.pk, "next": "view=open"},
    )
    view = SavedView.objects.get(org=desk.org, name="Team queue")
    assert view.department == desk.department
    assert saved_views_for(desk.restricted) == [view]  # same department
    assert saved_views_for(desk.admin) == [view]  # admins see every department
    assert saved_views_for(desk.other_agent) == []  # another department
    login(client, desk.other_agent)
    assert f'data-saved-view="{view.pk}"' not in client.get(url()).content.decode()
    # Only the owner (or a Desk admin) deletes it.
    login(client, desk.restricted)
    assert client.post(url("saved_view_delete", saved_view_id=view.pk)).status_code == 404
    login(client, desk.admin)
    assert client.post(url("saved_view_delete", saved_view_id=view.pk)).status_code == 302
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_tkt06_view_cannot_be_shared_with_a_department_one_does_not_work_in(client, desk):
    login(client, desk.other_agent)
    response = client.post(
        url("saved_view_new"),
        {"name": "Sneaky", "department": desk.department.pk, "next": ""},
    )
    assert response.status_code == 404
    assert not SavedView.objects.filter(org=desk.org).exists()


def test_tkt06_owner_deletes_a_personal_view(client, desk):
    view = saved_view_create(actor=desk.agent, name="Old", params={"view": "open"}, columns=[])
    login(client, desk.admin)  # an admin may not delete someone's personal view: not visible
    assert client.post(url("saved_view_delete", saved_view_id=view.pk)).status_code == 404
    login(client, desk.agent)
    page = client.get(url(), {"saved": view.pk, "view": "open"})
    assert "Delete this view" in page.content.decode()
    client.post(url("saved_view_delete", saved_view_id=view.pk))
    assert not SavedView.objects.filter(pk=view.pk).exists()


def test_tkt06_outsider_neither_sees_nor_deletes_saved_views(client, desk, globex):
    view = saved_view_create(
        actor=desk.agent, name="Acme queue", params={}, columns=[], department=desk.department
    )
    login(client, globex.admin)
    assert client.get(url()).status_code == 404
    assert client.post(url("saved_view_delete", saved_view_id=view.pk)).status_code == 404
    globex_url = url("saved_view_delete", portal=globex.org.portal, saved_view_id=view.pk)
    assert client.post(globex_url).status_code == 404
    assert SavedView.objects.filter(pk=view.pk).exists()
    assert "Acme queue" not in client.get(url(portal=globex.org.portal)).content.decode()


# --- Last activity -------------------------------------------------------------------------------
def test_tkt06_last_activity_follows_replies_comments_and_changes(client, desk):
    old = desk.ticket(subject="Old but busy")
    new = desk.ticket(subject="New and quiet")
    past = old.last_activity_at - dt.timedelta(days=3)
    Ticket.objects.filter(pk__in=[old.pk, new.pk]).update(last_activity_at=past)
    login(client, desk.admin)
    thread_add(actor=desk.admin, ticket=old, kind="comment", body="Still looking")
    old.refresh_from_db()
    assert old.last_activity_at > past
    response = client.get(url(), {"sort": "-activity"})
    assert numbers(response)[:2] == [old.number, new.number]
    assert numbers(client.get(url()))[:2] == [new.number, old.number]  # newest first


def test_tkt06_last_activity_column_shows_local_time(client, desk):
    desk.ticket(subject="Timed")
    login(client, desk.agent)
    client.post(url("list_columns"), {"order": ["subject", "activity"], "columns": ["activity"]})
    html = client.get(url()).content.decode()
    assert headers(client.get(url())) == ["subject", "activity"]
    day, clock = r"\d{4}-\d\d-\d\d", r"\d\d:\d\d"
    assert re.search(
        rf'<time datetime="[^"]+"><span>{day}</span> <span>{clock}</span></time>', html
    )


# --- Contact and account filters -----------------------------------------------------------------
def test_tkt06_contact_and_account_lookups_offer_the_organizations_records(client, desk, globex):
    from customers.models import Account, Contact

    Contact.objects.create(org=globex.org, last_name="Yamamoto", email="y@globex.test")
    Account.objects.create(org=globex.org, name="Umbrella Globex")
    login(client, desk.agent)
    html = client.get(url("lookup_contacts"), {"term": "yama"}).content.decode()
    assert (
        f'<option value="{desk.contact.pk}">Yamada Taro &lt;taro@umbrella.test&gt;</option>' in html
    )
    assert "Yamamoto" not in html
    html = client.get(url("lookup_accounts"), {"term": "umbr"}).content.decode()
    assert f'<option value="{desk.account.pk}">Umbrella</option>' in html
    assert "Globex" not in html
    # The chosen one stays chosen, whatever is typed.
    html = client.get(
        url("lookup_contacts"), {"term": "zzz", "contact": desk.contact.pk}
    ).content.decode()
    assert f'<option value="{desk.contact.pk}" selected>' in html
    # Another organization's contact id is not named.
    theirs = Contact.objects.get(org=globex.org)
    html = client.get(url("lookup_contacts"), {"contact": theirs.pk}).content.decode()
    assert "Yamamoto" not in html
    login(client, globex.admin)
    assert client.get(url("lookup_contacts"), {"term": "yama"}).status_code == 404


def test_tkt06_list_shows_the_chosen_contact_and_account_in_the_filters(client, desk):
    from customers.models import Contact

    other = Contact.objects.create(org=desk.org, last_name="Suzuki", email="s@example.test")
    mine = desk.ticket(subject="Taro's")
    desk.ticket(subject="Suzuki's", contact=other)
    login(client, desk.agent)
    response = client.get(url(), {"contact": desk.contact.pk})
    assert numbers(response) == [mine.number]
    html = response.content.decode()
    assert f'<option value="{desk.contact.pk}" selected>Yamada Taro' in html
    assert '<details class="more-filters" open>' in html
    response = client.get(url(), {"account": desk.account.pk})
    assert numbers(response) == [mine.number]
    assert (
        f'<option value="{desk.account.pk}" selected>Umbrella</option>' in response.content.decode()
    )


# --- Query counts --------------------------------------------------------------------------------
@pytest.mark.parametrize("columns", [list(DEFAULT_COLUMNS), ["activity", "subject", "account"]])
def test_tkt06_list_query_count_is_the_same_at_25_and_100_rows(
    client, desk, columns, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(110):
        desk.ticket(subject=f"ticket {n}", owner=desk.agent.user)
    saved_view_create(actor=desk.agent, name="Mine", params={}, columns=columns)
    saved_view_create(
        actor=desk.admin, name="Shared", params={}, columns=[], department=desk.department
    )
    login(client, desk.agent)
    client.post(url("list_columns"), {"order": columns, "columns": columns})
    with CaptureQueriesContext(connection) as first:
        response = client.get(url(), {"size": 25, "contact": desk.contact.pk})
    assert len(numbers(response)) == 25
    with django_assert_num_queries(len(first)):
        response = client.get(url(), {"size": 100, "contact": desk.contact.pk})
    assert len(numbers(response)) == 100
    assert headers(response) == columns


# --- Tag filter -------------------------------------------------------------------------------
def test_tkt06_tag_filter_control_keeps_the_chosen_tag(client, desk):
    from helpdesk.tickets.services.tags import ticket_tag_add

    tagged = desk.ticket(subject="Tagged")
    desk.ticket(subject="Plain")
    ticket_tag_add(actor=desk.admin, ticket=tagged, name="VIP")
    login(client, desk.agent)
    response = client.get(url(), {"tag": "vip"})
    assert numbers(response) == [tagged.number]
    html = response.content.decode()
    assert 'name="tag" id="id_tag" value="vip"' in html
    assert url("tag_suggest") in html  # suggestions come from the tags' endpoint
