"""The contact and account tabs (CUS-03, CUS-06..CUS-10): fragments with their figures, lists,
filters and pages; what an agent of one department sees; a fixed number of queries however
many tickets the record has; products linked and unlinked in place.

Alice is Acme's account admin; Bob an agent of one department; Charlie (Globex) the outsider."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse

from customers.models import ContactProduct
from helpdesk.tickets.activities.models import TimeEntry
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services.layouts import statuses_for
from tests.conftest import login
from tests.factories import DepartmentAgentFactory, DepartmentFactory, UserFactory

from .factories import AccountFactory, ContactFactory, ProductFactory, make_ticket
from .test_stats import build_data, rate, thread, ticket

TABS = ["overview", "tickets", "interactions", "time", "happiness", "products"]


def tab_url(tenant, kind: str, tab: str, record_id: int, **query) -> str:
    path = reverse(
        f"customers:{kind}_{tab}", kwargs={"portal": tenant.org.portal, f"{kind}_id": record_id}
    )
    return path + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def text(response) -> str:
    return html.unescape(response.content.decode())


def numbers(response) -> list[int]:
    """Ticket numbers of the rows of a ticket table, in order."""
    return [int(n) for n in re.findall(r'<tr data-number="(\d+)"', response.content.decode())]


@pytest.fixture
def data(acme):
    """The records and tickets of tests/customers/test_stats.py (their answers are there)."""
    return build_data(acme)


@pytest.fixture
def htmx(alice_client):
    alice_client.defaults["HTTP_HX_REQUEST"] = "true"
    return alice_client


# --- Fragments ---------------------------------------------------------------------------------
@pytest.mark.parametrize("tab", TABS)
def test_cus02_every_contact_tab_is_a_fragment_with_a_heading(alice_client, acme, data, tab):
    response = alice_client.get(tab_url(acme, "contact", tab, data["a"].pk))
    assert response.status_code == 200
    body = response.content.decode()
    assert "<html" not in body and "<h2" in body


@pytest.mark.parametrize("tab", [t for t in TABS if t != "happiness"])
def test_cus02_every_account_tab_is_a_fragment_with_a_heading(alice_client, acme, data, tab):
    response = alice_client.get(tab_url(acme, "account", tab, data["account"].pk))
    assert response.status_code == 200
    assert "<h2" in response.content.decode()


def test_cus09_accounts_have_no_happiness_tab(alice_client, acme, data):
    with pytest.raises(NoReverseMatch):
        tab_url(acme, "account", "happiness", data["account"].pk)
    path = f"/{acme.org.portal}/customers/accounts/{data['account'].pk}/tabs/happiness/"
    assert alice_client.get(path).status_code == 404


def test_cus02_outsider_and_other_orgs_records_get_404(client, acme, globex, data):
    login(client, globex.admin)
    for tab in TABS:
        assert client.get(tab_url(acme, "contact", tab, data["a"].pk)).status_code == 404
    their = ContactFactory(org=globex.org)
    login(client, acme.admin)
    assert client.get(tab_url(acme, "contact", "overview", their.pk)).status_code == 404


# --- Overview (CUS-03) -------------------------------------------------------------------------
def test_cus03_overview_shows_the_figures_and_the_donut(alice_client, acme, data):
    response = alice_client.get(tab_url(acme, "contact", "overview", data["a"].pk))
    page = text(response)
    for stat, value in (("total", "4"), ("open", "2"), ("overdue", "1"), ("satisfaction", "67%")):
        assert re.search(rf'data-stat="{stat}"[^>]*>{value}<', page), stat
    assert '<dd data-time="first_response">45 min</dd>' in page
    assert '<dd data-time="response">1 h 10 min</dd>' in page
    assert '<dd data-time="resolution">3 h 00 min</dd>' in page
    assert 'role="img"' in page and '<title id="cus-donut-title">Tickets by channel' in page
    assert page.count('class="cus-ch cus-ch-') == 4
    assert re.search(
        r'<tr data-channel="email">.*?<td class="num">1</td><td class="num">25.0%', page
    )
    # The ticket list "All": all four, newest first; "On hold": t3 only.
    assert sorted(numbers(response)) == sorted(t.number for t in data["tickets"][:4])
    on_hold = alice_client.get(tab_url(acme, "contact", "overview", data["a"].pk, list="on_hold"))
    assert numbers(on_hold) == [data["tickets"][2].number]


def test_cus03_overview_figures_follow_a_change_at_once(alice_client, acme, data):
    """The figures are cached, but under the organization's stamp: a new ticket counts on the
    next view, and so does a rating."""
    url = tab_url(acme, "contact", "overview", data["a"].pk)
    assert 'data-stat="total">4<' in text(alice_client.get(url))
    assert 'data-stat="total">4<' in text(alice_client.get(url))  # from the cache
    make_ticket(acme, data["a"])
    assert 'data-stat="total">5<' in text(alice_client.get(url))
    rate(data["tickets"][0], "good", minutes=10_000)
    assert 'data-stat="satisfaction">75%<' in text(alice_client.get(url))


def test_cus03_overview_links_work_without_javascript(alice_client, acme, data):
    page = text(alice_client.get(tab_url(acme, "contact", "overview", data["a"].pk)))
    detail = reverse(
        "customers:contact_detail", kwargs={"portal": acme.org.portal, "contact_id": data["a"].pk}
    )
    assert f'href="{detail}?tab=overview&list=open"' in page
    fragment = tab_url(acme, "contact", "overview", data["a"].pk)
    assert f'hx-get="{fragment}?list=open" hx-target="#tab-panel"' in page


# --- Tickets (CUS-07) --------------------------------------------------------------------------
def test_cus07_tickets_tab_filters_by_view_and_status(alice_client, acme, data):
    t1, t2, t3, t4 = data["tickets"][:4]
    url = tab_url(acme, "contact", "tickets", data["a"].pk)
    assert sorted(numbers(alice_client.get(url))) == sorted(
        [t1.number, t2.number, t3.number, t4.number]
    )
    assert numbers(alice_client.get(url + "?view=on_hold")) == [t3.number]
    assert sorted(numbers(alice_client.get(url + "?view=closed"))) == sorted([t2.number, t4.number])
    assert numbers(alice_client.get(url + "?view=overdue")) == [t1.number]
    closed_name = t2.status.name
    response = alice_client.get(url + f"?status={closed_name}")
    assert sorted(numbers(response)) == sorted([t2.number, t4.number])
    assert 'data-count="2"' in response.content.decode()
    # An unknown status or view is ignored, not an error.
    assert len(numbers(alice_client.get(url + "?view=nope&status=nope"))) == 4


def test_cus07_account_tickets_include_contacts_tickets_and_account_tickets(
    alice_client, acme, data
):
    response = alice_client.get(tab_url(acme, "account", "tickets", data["account"].pk))
    expected = sorted(t.number for t in data["tickets"][:6])
    assert sorted(numbers(response)) == expected


def test_cus07_tickets_tab_pages_and_sorts(alice_client, acme):
    contact = ContactFactory(org=acme.org)
    tickets = [make_ticket(acme, contact, subject=f"T{n}") for n in range(30)]
    for n, t in enumerate(tickets):
        Ticket.objects.for_org(acme.org).filter(pk=t.pk).update(
            created_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=n)
        )
    url = tab_url(acme, "contact", "tickets", contact.pk)
    first = alice_client.get(url)
    assert numbers(first) == [t.number for t in reversed(tickets)][:25]
    assert 'data-count="30"' in first.content.decode() and 'rel="next"' in first.content.decode()
    second = alice_client.get(url + "?p=2")
    assert numbers(second) == [t.number for t in reversed(tickets)][25:]
    oldest = alice_client.get(url + "?sort=created")
    assert numbers(oldest)[:3] == [t.number for t in tickets[:3]]


def test_cus07_counts_agree_with_the_ticket_list(alice_client, acme, data):
    """The tab's count for each view is what the desk's ticket list shows for the contact."""
    for view in ("all", "open", "on_hold", "closed", "overdue"):
        tab = alice_client.get(tab_url(acme, "contact", "tickets", data["a"].pk, view=view))
        listed = alice_client.get(
            reverse("desk:home", kwargs={"portal": acme.org.portal}),
            {"contact": data["a"].pk, "view": view},
        )
        assert sorted(numbers(tab)) == sorted(numbers(listed)), view


# --- Visibility ---------------------------------------------------------------------------------
@pytest.fixture
def bob_elsewhere(client, acme, data):
    """Bob works in a second department, where t3 (of contact A) was moved."""
    other = DepartmentFactory(org=acme.org)
    bob = acme.member(user=UserFactory(full_name="Bob"))
    DepartmentAgentFactory(org=acme.org, department=other, user=bob.user)
    status = statuses_for(other).filter(kind="on_hold").first()
    t3 = data["tickets"][2]
    Ticket.objects.for_org(acme.org).filter(pk=t3.pk).update(department=other, status=status)
    return login(client, bob)


@pytest.mark.parametrize("tab", ["overview", "tickets", "interactions", "happiness", "time"])
def test_cus07_agent_sees_only_tickets_they_may_open(bob_elsewhere, acme, data, tab):
    t1, t2, t3, t4 = data["tickets"][:4]
    page = text(bob_elsewhere.get(tab_url(acme, "contact", tab, data["a"].pk)))
    for hidden in (t1, t2, t4):
        assert f"/desk/tickets/{hidden.number}/" not in page
    if tab in ("overview", "tickets", "happiness"):
        assert f"/desk/tickets/{t3.number}/" in page


# --- Interactions (CUS-06) ---------------------------------------------------------------------
def test_cus06_interactions_newest_first_with_agent_status_and_contact(alice_client, acme, data):
    response = alice_client.get(tab_url(acme, "contact", "interactions", data["a"].pk))
    rows = re.findall(
        r'<tr data-interaction="(\w+)" data-ticket="(\d+)"', response.content.decode()
    )
    t1, t2, t3, t4 = (t.number for t in data["tickets"][:4])
    # Ratings at 320, 310, 300 min; replies 200, 180 (t1), comment 65 and reply 60 (t2), reply
    # 30 (t1); the authorless reply of t4 (90) is a reply too; no customer message, no forward.
    assert rows == [
        ("rating", str(t4)),
        ("rating", str(t3)),
        ("rating", str(t2)),
        ("reply", str(t1)),
        ("reply", str(t1)),
        ("reply", str(t4)),
        ("comment", str(t2)),
        ("reply", str(t2)),
        ("reply", str(t1)),
    ]
    page = text(response)
    assert "Aoki Pat rated the ticket" in page
    assert "Acme Admin" in page  # the agent
    assert "Slow" in page  # the rating's comment


def test_cus06_a_new_reply_shows_at_once_despite_the_cache(alice_client, acme, data):
    """The tab is cached under the organization's stamp: a reply written through the thread
    service is listed on the next view."""
    from helpdesk.tickets.services.threads import thread_add

    url = tab_url(acme, "contact", "interactions", data["a"].pk)
    before = alice_client.get(url).content.decode().count("<tr data-interaction")
    assert alice_client.get(url).content.decode().count("<tr data-interaction") == before
    thread_add(actor=acme.admin, ticket=data["tickets"][1], kind="comment", body="Called back")
    page = text(alice_client.get(url))
    assert page.count("<tr data-interaction") == before + 1 and "Called back" in page


def test_cus06_interactions_page(alice_client, acme):
    contact = ContactFactory(org=acme.org)
    t = make_ticket(acme, contact)
    for n in range(30):
        thread(t, "comment", n, author=acme.admin.user)
    url = tab_url(acme, "contact", "interactions", contact.pk)
    first = alice_client.get(url)
    assert first.content.decode().count("<tr data-interaction") == 25
    second = alice_client.get(url + "?p=2")
    assert second.content.decode().count("<tr data-interaction") == 5


# --- Time entries (CUS-08) ---------------------------------------------------------------------
@pytest.fixture
def entries(acme, data):
    t1, t2 = data["tickets"][:2]
    bob = acme.member(user=UserFactory(full_name="Bob Timer"))
    rows = [
        (t1, acme.admin.user, dt.date(2026, 3, 2), 60, True, True),  # billed
        (t1, acme.admin.user, dt.date(2026, 3, 3), 30, True, False),  # billable
        (t2, bob.user, dt.date(2026, 3, 4), 45, False, False),  # non-billable
        (data["tickets"][6], bob.user, dt.date(2026, 3, 4), 500, True, False),  # C's: not A's
    ]
    for t, user, day, minutes, billable, billed in rows:
        TimeEntry.objects.create(
            org=acme.org,
            ticket=t,
            user=user,
            work_date=day,
            minutes=minutes,
            billable=billable,
            billed=billed,
        )
    return bob


def totals(response) -> dict[str, str]:
    return dict(re.findall(r'data-total="(\w+)">([\d:]+)<', response.content.decode()))


def test_cus08_time_totals_and_filters(alice_client, acme, data, entries):
    url = tab_url(acme, "contact", "time", data["a"].pk)
    response = alice_client.get(url)
    assert totals(response) == {
        "all": "2:15",
        "billable": "1:30",
        "billed": "1:00",
        "non_billable": "0:45",
    }
    assert response.content.decode().count("<tr data-entry") == 3
    billed = alice_client.get(url + "?billing=billed")
    assert billed.content.decode().count("<tr data-entry") == 1
    assert totals(billed)["all"] == "2:15"  # the billing filter narrows the rows only
    non = alice_client.get(url + "?billing=non_billable")
    assert non.content.decode().count("<tr data-entry") == 1
    period = alice_client.get(url + "?from=2026-03-03&to=2026-03-04")
    assert totals(period) == {
        "all": "1:15",
        "billable": "0:30",
        "billed": "0:00",
        "non_billable": "0:45",
    }
    agent = alice_client.get(url + f"?agent={entries.user.pk}")
    assert totals(agent)["all"] == "0:45" and "Bob Timer" in text(agent)
    account = alice_client.get(tab_url(acme, "account", "time", data["account"].pk))
    assert totals(account)["all"] == "2:15"


def test_cus08_a_change_to_a_time_entry_shows_at_once_despite_the_cache(
    alice_client, acme, data, entries
):
    """The tab's totals and rows are cached (an account's read all its tickets' entries),
    under a stamp that sees every change to a time entry: added, edited and deleted entries
    show on the next view."""
    from helpdesk.tickets.activities.services import (
        TimeInput,
        time_entry_create,
        time_entry_delete,
        time_entry_update,
    )

    url = tab_url(acme, "account", "time", data["account"].pk)
    assert totals(alice_client.get(url))["all"] == "2:15"
    assert totals(alice_client.get(url))["all"] == "2:15"  # from the cache
    t1 = data["tickets"][0]
    added = time_entry_create(
        actor=acme.admin, ticket=t1, data=TimeInput(minutes=15, work_date=dt.date(2026, 3, 5))
    )
    response = alice_client.get(url)
    assert totals(response)["all"] == "2:30" and f'data-entry="{added.pk}"' in text(response)
    time_entry_update(
        actor=acme.admin,
        entry=added,
        data=TimeInput(minutes=45, work_date=dt.date(2026, 3, 5), billable=False),
    )
    assert totals(alice_client.get(url)) == {
        "all": "3:00",
        "billable": "1:30",
        "billed": "1:00",
        "non_billable": "1:30",
    }
    time_entry_delete(actor=acme.admin, entry=added)
    response = alice_client.get(url)
    assert totals(response)["all"] == "2:15" and f'data-entry="{added.pk}"' not in text(response)


# --- Happiness (CUS-09) -------------------------------------------------------------------------
def test_cus09_happiness_lists_each_rating(alice_client, acme, data):
    response = alice_client.get(tab_url(acme, "contact", "happiness", data["a"].pk))
    rows = re.findall(r'<tr data-rating="(\w+)" data-ticket="(\d+)"', response.content.decode())
    t2, t3, t4 = (t.number for t in data["tickets"][1:4])
    assert rows == [("good", str(t4)), ("bad", str(t3)), ("good", str(t2))]
    page = text(response)
    # Shown in the organization's time zone (Tokyo): rated at 14:10 UTC.
    assert "Aoki Pat" in page and "Slow" in page and "2026-03-02 23:10" in page


def test_cus09_a_new_or_changed_rating_shows_at_once_despite_the_cache(alice_client, acme, data):
    """The tab is cached under the organization's stamp: a rating given or changed through
    the rating service is listed as it now is on the next view."""
    from helpdesk.tickets.helpcenter.ratings import rating_set

    def rows():
        page = text(alice_client.get(url))
        return re.findall(r'<tr data-rating="(\w+)" data-ticket="(\d+)"', page)

    url = tab_url(acme, "contact", "happiness", data["a"].pk)
    before = rows()
    assert rows() == before  # from the cache
    t2 = data["tickets"][1]  # closed, rated good
    rating_set(ticket=t2, contact=t2.contact, value="okay", comment="Fine after all")
    assert rows()[0] == ("okay", str(t2.number)) and len(rows()) == len(before)
    fresh = ticket(acme, data["a"], kind="closed", channel="web", created=0)
    rating_set(ticket=fresh, contact=fresh.contact, value="bad", comment="Too slow")
    assert rows()[0] == ("bad", str(fresh.number)) and len(rows()) == len(before) + 1


# --- Products (CUS-10) --------------------------------------------------------------------------
def test_cus10_link_and_unlink_in_place_with_htmx(htmx, acme, data):
    contact = data["a"]
    product = ProductFactory(org=acme.org, name="Router")
    url = tab_url(acme, "contact", "products", contact.pk)
    page = text(htmx.get(url))
    assert "No products linked." in page and 'hx-boost="true"' in page
    response = htmx.post(url, {"action": "link", "link-product": product.pk})
    assert response.status_code == 200
    page = text(response)
    assert "<h2" in page and "<html" not in page
    assert "Router" in page and "linked." in page and 'value="unlink"' in page
    assert list(ContactProduct.objects.for_org(acme.org).values_list("product_id", flat=True)) == [
        product.pk
    ]
    response = htmx.post(url, {"action": "unlink", "unlink-product": product.pk})
    assert response.status_code == 200 and "No products linked." in text(response)
    assert not ContactProduct.objects.for_org(acme.org).exists()


def test_cus10_without_javascript_back_to_the_page_with_the_tab(alice_client, acme, data):
    account = data["account"]
    product = ProductFactory(org=acme.org)
    url = tab_url(acme, "account", "products", account.pk)
    response = alice_client.post(url, {"action": "link", "link-product": product.pk})
    assert response.status_code == 302
    assert response["Location"].endswith(f"/accounts/{account.pk}/?tab=products")
    assert list(account.products.all()) == [product]


def test_cus10_refused_link_is_400_in_place(htmx, acme, globex, data):
    theirs = ProductFactory(org=globex.org)
    response = htmx.post(
        tab_url(acme, "contact", "products", data["a"].pk),
        {"action": "link", "link-product": theirs.pk},
    )
    assert response.status_code == 400
    assert "Select a valid choice." in text(response)
    assert not ContactProduct.objects.exists()


def test_cus10_viewer_without_edit_cannot_link(client, acme, data):
    restricted = acme.member(user=UserFactory(), desk_role="restricted")
    login(client, restricted)
    product = ProductFactory(org=acme.org)
    url = tab_url(acme, "contact", "products", data["a"].pk)
    assert client.get(url).status_code == 200
    assert client.post(url, {"action": "link", "link-product": product.pk}).status_code == 403
    assert not ContactProduct.objects.exists()


# --- Queries do not grow with tickets ------------------------------------------------------------
def _grow(acme, contact, account, n: int) -> None:
    agent = acme.admin.user
    for k in range(n):
        t = ticket(
            acme,
            contact,
            kind=("open", "on_hold", "closed")[k % 3],
            channel=("email", "web", "chat", "phone")[k % 4],
            created=k,
            account=account,
        )
        thread(t, "incoming", k, contact=contact)
        thread(t, "reply", k + 5, author=agent)
        thread(t, "comment", k + 6, author=agent)
        rate(t, ("good", "bad")[k % 2], agent, minutes=k + 10)
        TimeEntry.objects.create(
            org=acme.org, ticket=t, user=agent, work_date=dt.date(2026, 3, 2), minutes=10
        )


@pytest.mark.parametrize(
    "kind,tab",
    [("contact", t) for t in TABS] + [("account", t) for t in TABS if t != "happiness"],
)
def test_cus03_queries_do_not_grow_with_tickets(alice_client, acme, kind, tab):
    measured = []
    for n in (3, 30):
        account = AccountFactory(org=acme.org)
        contact = ContactFactory(org=acme.org, account=account)
        ContactFactory(org=acme.org, account=account)
        _grow(acme, contact, account, n)
        record = contact if kind == "contact" else account
        url = tab_url(acme, kind, tab, record.pk)
        alice_client.get(url)  # the session and the member's first reads
        cache.clear()  # the overview's figures: counted cold
        with CaptureQueriesContext(connection) as queries:
            response = alice_client.get(url)
        assert response.status_code == 200
        measured.append(len(queries))
    assert measured[0] == measured[1], measured
