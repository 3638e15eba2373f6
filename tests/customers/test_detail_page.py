"""The contact and account page in three panels (CUS-02): the list panel (search, paging,
moving through it with htmx while the address follows), the record panel (fields, ticket
summary, inline edit) and the related tabs (the open one rendered on the server, the others
by their own fragment URLs).

Alice is Acme's account admin, Bob an agent at Acme."""

from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Contact
from customers.pages.detail import TABS
from tests.conftest import login

from .factories import AccountFactory, ContactFactory, make_ticket


def url(name: str, tenant, **kwargs) -> str:
    return reverse(f"customers:{name}", kwargs={"portal": tenant.org.portal, **kwargs})


def text(response) -> str:
    return html.unescape(response.content.decode())


def listed(response) -> list[int]:
    return [int(pk) for pk in re.findall(r'data-record="(\d+)"', response.content.decode())]


def tab_slugs(response) -> list[str]:
    return re.findall(r'role="tab"[^>]*data-tab="([a-z]+)"', response.content.decode())


HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def bob_client(client, bob):
    return login(client, bob)


@pytest.fixture
def people(acme):
    return [
        ContactFactory(org=acme.org, last_name=name, first_name="", email=f"{name.lower()}@x.test")
        for name in ("Abe", "Baba", "Chiba", "Doi")
    ]


def test_cus02_page_has_list_record_and_tabs(alice_client, acme, people):
    """The three panels: every contact in the list (this one marked current), the record's
    fields, and the tab bar with the open tab's content."""
    response = alice_client.get(url("contact_detail", acme, contact_id=people[1].pk))
    assert response.status_code == 200
    body = text(response)
    assert listed(response) == [p.pk for p in people]
    assert re.search(rf'data-record="{people[1].pk}"[^>]*aria-current="true"', body)
    assert "baba@x.test" in body
    assert 'id="tab-panel"' in body and 'role="tablist"' in body


def test_cus02_every_tab_of_the_spec_is_on_the_page(alice_client, acme, people):
    """Nine tabs on a contact (History for admins), eight on an account (no Happiness)."""
    contact_tabs = tab_slugs(alice_client.get(url("contact_detail", acme, contact_id=people[0].pk)))
    assert contact_tabs == [t.slug for t in TABS]
    assert len(contact_tabs) == 9
    account = AccountFactory(org=acme.org)
    account_tabs = tab_slugs(alice_client.get(url("account_detail", acme, account_id=account.pk)))
    assert account_tabs == [t.slug for t in TABS if t.slug != "happiness"]


def test_cus02_agents_do_not_see_the_history_tab(bob_client, acme, people):
    """CUS-04: the History tab is for administrators; an agent's tab bar leaves it out."""
    slugs = tab_slugs(bob_client.get(url("contact_detail", acme, contact_id=people[0].pk)))
    assert "history" not in slugs and "overview" in slugs


def test_cus02_the_open_tab_follows_the_address(alice_client, acme, people):
    """?tab= opens that tab (rendered on the server, so a reload or shared link shows it);
    an unknown tab falls back to the first."""
    page = url("contact_detail", acme, contact_id=people[0].pk)
    response = alice_client.get(page, {"tab": "tickets"})
    assert 'aria-selected="true" class="active" data-tab="tickets"' in text(response)
    fallback = alice_client.get(page, {"tab": "nonsense"})
    assert 'aria-selected="true" class="active" data-tab="overview"' in text(fallback)


def test_cus02_the_open_tab_loads_after_the_page_unless_the_address_names_it(
    alice_client, acme, people
):
    """The open tab loads after the page (htmx), as every other tab loads when opened; a page
    whose address names its tab (a shared link, a browser without JavaScript following the
    placeholder's link) has it rendered in place."""
    page = url("contact_detail", acme, contact_id=people[0].pk)
    overview = url("contact_overview", acme, contact_id=people[0].pk)
    plain = text(alice_client.get(page))
    assert f'hx-get="{overview}" hx-trigger="load"' in plain
    assert 'data-testid="overview-tab"' not in plain
    assert re.search(r'<a href="[^"]*\?tab=overview">Open Overview</a>', plain)
    named = text(alice_client.get(page, {"tab": "overview"}))
    assert 'data-testid="overview-tab"' in named and 'hx-trigger="load"' not in named
    swapped = text(
        alice_client.get(page, {"tab": "overview"}, HTTP_HX_TARGET="record-area", **HTMX)
    )
    assert f'hx-get="{overview}" hx-trigger="load"' in swapped
    assert 'data-testid="overview-tab"' not in swapped


def test_cus02_each_tab_link_loads_its_fragment_and_pushes_the_page_address(
    alice_client, acme, people
):
    response = alice_client.get(url("contact_detail", acme, contact_id=people[0].pk))
    body = response.content.decode()
    tickets_url = url("contact_tickets", acme, contact_id=people[0].pk)
    assert f'hx-get="{tickets_url}"' in body
    assert "tab=tickets" in body  # hx-push-url and the plain link carry the tab


def test_cus02_moving_through_the_list_swaps_only_the_record(alice_client, acme, people):
    """An htmx request aimed at the record area gets the record and tabs, not the page."""
    response = alice_client.get(
        url("contact_detail", acme, contact_id=people[2].pk),
        {"tab": "overview"},
        HTTP_HX_TARGET="record-area",
        **HTMX,
    )
    body = text(response)
    assert body.lstrip().startswith('<div id="record-area"')
    assert "chiba@x.test" in body
    assert "<html" not in body and 'id="record-list"' not in body


def test_cus02_list_search_swaps_only_the_list(alice_client, acme, people):
    response = alice_client.get(
        url("contact_detail", acme, contact_id=people[0].pk),
        {"q": "chi"},
        HTTP_HX_TARGET="record-list",
        **HTMX,
    )
    assert listed(response) == [people[2].pk]
    assert 'id="record-area"' not in response.content.decode()
    # The links keep the search, so moving to another record keeps the list as it is.
    assert "q=chi" in response.content.decode()


def test_cus02_list_pages_through_many_records(alice_client, acme):
    for n in range(30):
        ContactFactory(org=acme.org, last_name=f"Many{n:02d}")
    first = Contact.objects.for_org(acme.org).order_by("last_name").first()
    page = url("contact_detail", acme, contact_id=first.pk)
    assert len(listed(alice_client.get(page))) == 25
    assert len(listed(alice_client.get(page, {"page": 2}))) == 5


def test_cus02_ticket_summary_counts_total_open_and_overdue(alice_client, acme, people):
    contact = people[0]
    make_ticket(acme, contact, due_at=timezone.now() - timedelta(hours=1))
    make_ticket(acme, contact)
    make_ticket(acme, people[1])  # someone else's
    body = alice_client.get(url("contact_detail", acme, contact_id=contact.pk)).content.decode()
    assert re.search(r'data-summary="total">2<', body)
    assert re.search(r'data-summary="open">2<', body)
    assert re.search(r'data-summary="overdue"[^>]*>1<', body)


def test_cus02_inline_edit_shows_the_form_then_saves_in_place(bob_client, acme, people):
    contact = people[0]
    page = url("contact_detail", acme, contact_id=contact.pk)
    form = bob_client.get(page, {"edit": "1"}, HTTP_HX_TARGET="record-area", **HTMX)
    assert 'name="last_name"' in form.content.decode()
    response = bob_client.post(
        page,
        {"last_name": "Abe", "first_name": "Taro", "email": "abe@x.test", "phone": "03-0000"},
        HTTP_HX_TARGET="record-area",
        **HTMX,
    )
    assert response.status_code == 200
    body = text(response)
    assert body.lstrip().startswith('<div id="record-area"')
    assert "Abe Taro" in body and "03-0000" in body
    assert 'name="last_name"' not in body  # back to reading
    contact.refresh_from_db()
    assert (contact.first_name, contact.phone) == ("Taro", "03-0000")


def test_cus02_inline_edit_refused_keeps_what_was_typed(bob_client, acme, people):
    contact = people[0]
    response = bob_client.post(
        url("contact_detail", acme, contact_id=contact.pk),
        {"last_name": "", "first_name": "<b>Typed</b>", "email": "not-an-email"},
        HTTP_HX_TARGET="record-area",
        **HTMX,
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert 'value="&lt;b&gt;Typed&lt;/b&gt;"' in body
    contact.refresh_from_db()
    assert contact.last_name == "Abe"


def test_cus02_plain_post_redirects_back_keeping_search_and_tab(bob_client, acme, people):
    contact = people[0]
    page = url("contact_detail", acme, contact_id=contact.pk)
    response = bob_client.post(
        f"{page}?q=a&tab=tickets", {"last_name": "Abe", "email": "abe@x.test"}
    )
    assert response.status_code == 302
    assert response["Location"] == f"{page}?q=a&tab=tickets"


def test_cus02_typed_text_is_shown_as_typed(alice_client, acme):
    contact = ContactFactory(
        org=acme.org, last_name="<script>x</script>", description="a<b>c\nx &amp; y 😀 日本語"
    )
    body = alice_client.get(url("contact_detail", acme, contact_id=contact.pk)).content.decode()
    assert "<script>x</script>" not in body
    assert "&lt;script&gt;x&lt;/script&gt;" in body
    assert "a&lt;b&gt;c\nx &amp;amp; y 😀 日本語" in body


def test_cus02_account_page_lists_its_contacts(alice_client, acme):
    account = AccountFactory(org=acme.org, name="Kaisha")
    mine = ContactFactory(org=acme.org, account=account, last_name="Member")
    ContactFactory(org=acme.org, last_name="Outsider")
    body = text(alice_client.get(url("account_detail", acme, account_id=account.pk)))
    assert f'data-contact="{mine.pk}"' in body
    assert "Outsider" not in body.split('id="record-area"')[1]


def test_cus02_viewing_does_not_grow_queries_with_the_list(
    alice_client, acme, people, django_assert_max_num_queries
):
    page = url("contact_detail", acme, contact_id=people[0].pk)
    alice_client.get(page, {"tab": "products"})
    with django_assert_max_num_queries(40) as few:
        alice_client.get(page, {"tab": "products"})
    for n in range(20):
        ContactFactory(org=acme.org, last_name=f"More{n}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        alice_client.get(page, {"tab": "products"})


def test_cus02_record_shows_tags_and_custom_fields(alice_client, acme):
    """Item 7: the record panel shows the contact's tags and its custom fields' values."""
    from customers import services
    from customers.models import CustomerField

    contact = ContactFactory(org=acme.org, last_name="Tagged")
    services.contact_set_tags(actor=acme.admin, contact=contact, names=["VIP", "<b>x</b>"])
    CustomerField.objects.create(
        org=acme.org, module="contact", label="Plan", key="plan", type="text", order=1
    )
    Contact.objects.for_org(acme.org).filter(pk=contact.pk).update(custom_fields={"plan": "Gold"})
    body = alice_client.get(url("contact_detail", acme, contact_id=contact.pk)).content.decode()
    area = body.split('id="record-area"')[1]
    assert '<span class="badge">VIP</span>' in area
    assert "&lt;b&gt;x&lt;/b&gt;" in area
    assert re.search(r"<dt>Plan</dt><dd>Gold</dd>", area)


def test_cus02_list_panel_filters_by_owner_and_tag_and_keeps_them(alice_client, acme, bob):
    """The list panel filters by owner (me, none, a member) and tag; moving to a record keeps
    the filters in the address, so the list stays as filtered."""
    from customers import services

    mine = ContactFactory(org=acme.org, last_name="Mine", owner=acme.admin.user)
    bobs = ContactFactory(org=acme.org, last_name="Bobs", owner=bob.user)
    nobody = ContactFactory(org=acme.org, last_name="Nobody")
    services.contact_set_tags(actor=acme.admin, contact=bobs, names=["VIP"])
    page = url("contact_detail", acme, contact_id=mine.pk)
    assert listed(alice_client.get(page, {"owner": "me"})) == [mine.pk]
    assert listed(alice_client.get(page, {"owner": "none"})) == [nobody.pk]
    assert listed(alice_client.get(page, {"owner": str(bob.user.pk)})) == [bobs.pk]
    response = alice_client.get(page, {"tag": "vip"})
    assert listed(response) == [bobs.pk]
    assert '<span class="badge">VIP</span>' in response.content.decode()
    assert "tag=vip" in response.content.decode()  # the links keep the filter
    # An owner that is not one is ignored: every contact, by family name.
    assert listed(alice_client.get(page, {"owner": "nonsense"})) == [bobs.pk, mine.pk, nobody.pk]


def test_cus02_account_summary_counts_as_its_overview(alice_client, acme):
    """The record panel's summary of an account counts its own tickets and its contacts', as
    the Overview tab does."""
    account = AccountFactory(org=acme.org)
    member = ContactFactory(org=acme.org, account=account)
    make_ticket(acme, member)
    make_ticket(acme, None, account=account)
    make_ticket(acme, ContactFactory(org=acme.org))  # not the account's
    body = alice_client.get(url("account_detail", acme, account_id=account.pk)).content.decode()
    assert re.search(r'data-summary="total">2<', body)
