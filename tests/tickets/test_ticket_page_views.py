"""The ticket page's panels as people use them (TKT-01, TKT-05, TKT-06, CUS-10): tags,
followers, merge, presence, previous/next and the customer panel; each with an outsider."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from django.urls import reverse

from helpdesk.tickets.models import TicketFollower, TicketTag
from helpdesk.tickets.services.tags import ticket_tag_add
from tests.conftest import login


def url(name: str, portal: str = "acme", **kwargs) -> str:
    return reverse(f"desk:{name}", kwargs={"portal": portal, **kwargs})


@pytest.fixture
def agent_client(client, desk):
    return login(client, desk.agent)


def test_tkt01_ticket_page_links_the_customer_and_lists_their_other_tickets(agent_client, desk):
    older = desk.ticket(subject="Toner low")
    ticket = desk.ticket(subject="Printer on fire")
    page = agent_client.get(url("ticket_detail", number=ticket.number)).content.decode()
    assert (
        reverse(
            "customers:contact_detail", kwargs={"portal": "acme", "contact_id": desk.contact.pk}
        )
        in page
    )
    assert (
        reverse(
            "customers:account_detail", kwargs={"portal": "acme", "account_id": desk.account.pk}
        )
        in page
    )
    assert f"#{older.number} Toner low" in page


def test_tkt01_tags_are_added_suggested_removed_and_filter_the_list(agent_client, desk):
    ticket = desk.ticket()
    response = agent_client.post(
        url("ticket_tag_add", number=ticket.number), {"tag": "Refund, vip"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert "Refund" in response.content.decode() and "vip" in response.content.decode()
    suggestions = agent_client.get(url("tag_suggest"), {"tag": "re"}).content.decode()
    assert '<option value="Refund">' in suggestions and "vip" not in suggestions
    listed = agent_client.get(url("home"), {"tag": "refund"})
    assert [t.number for t in listed.context["page"].tickets] == [ticket.number]
    tag = TicketTag.objects.for_org(desk.org).get(tag__name="vip").tag
    response = agent_client.post(url("ticket_tag_remove", number=ticket.number), {"tag": tag.pk})
    assert response.status_code == 302
    assert not TicketTag.objects.for_org(desk.org).filter(tag=tag).exists()
    bad = agent_client.post(
        url("ticket_tag_add", number=ticket.number), {"tag": "x" * 60}, HTTP_HX_REQUEST="true"
    )
    assert "at most 50 characters" in bad.content.decode()


def test_tkt01_follow_and_unfollow(agent_client, desk):
    ticket = desk.ticket()
    response = agent_client.post(url("ticket_follow", number=ticket.number), {"action": "follow"})
    assert response.status_code == 302
    # The followers panel loads after the ticket page (htmx), from the page's link.
    page = agent_client.get(url("ticket_detail", number=ticket.number)).content.decode()
    assert f'hx-get="{url("ticket_more_panels", number=ticket.number)}"' in page
    more = url("ticket_more_panels", number=ticket.number)
    panels = agent_client.get(more, HTTP_HX_REQUEST="true").content.decode()
    assert "Stop following" in panels and "Bob" in panels
    # Without JavaScript, the link opens the same panels as a page.
    plain = agent_client.get(url("ticket_more_panels", number=ticket.number)).content.decode()
    assert "<!doctype html>" in plain and "Stop following" in plain
    agent_client.post(url("ticket_follow", number=ticket.number), {"action": "unfollow"})
    assert not TicketFollower.objects.for_org(desk.org).exists()


def test_tkt01_merge_is_confirmed_then_the_source_leads_to_the_target(client, desk):
    login(client, desk.admin)
    source, target = desk.ticket(subject="Dup"), desk.ticket(subject="Main")
    ask = client.get(url("ticket_merge", number=source.number), {"target": target.number})
    assert ask.status_code == 200 and "Main" in ask.content.decode()
    self_merge = client.get(url("ticket_merge", number=source.number), {"target": source.number})
    assert self_merge.status_code == 400
    done = client.post(
        url("ticket_merge", number=source.number), {"target": target.number, "confirm": "1"}
    )
    assert done.status_code == 302
    assert done["Location"] == url("ticket_detail", number=target.number)
    again = client.get(url("ticket_detail", number=source.number))
    assert again.status_code == 302 and again["Location"].startswith(
        url("ticket_detail", number=target.number)
    )


def test_tkt01_restricted_agents_cannot_merge_or_tag(client, desk):
    login(client, desk.restricted)
    source, target = desk.ticket(), desk.ticket()
    assert (
        client.post(
            url("ticket_merge", number=source.number), {"target": target.number, "confirm": "1"}
        ).status_code
        == 403
    )
    assert client.post(url("ticket_tag_add", number=source.number), {"tag": "x"}).status_code == 403


def test_tkt01_presence_shows_who_else_is_viewing_or_writing(client, desk):
    ticket = desk.ticket()
    presence = url("ticket_presence", number=ticket.number)
    login(client, desk.admin)
    assert client.post(presence, {"writing": "1"}).content.decode().strip() == ""
    login(client, desk.agent)
    seen = client.post(presence, {"writing": "0"}).content.decode()
    assert "Acme Admin is writing a reply" in seen
    login(client, desk.admin)
    assert "Bob is viewing" in client.post(presence, {"writing": "1"}).content.decode()
    assert client.get(presence).status_code == 405


def test_tkt06_previous_and_next_keep_the_list(agent_client, desk):
    t1, t2, t3 = desk.ticket(subject="A"), desk.ticket(subject="B"), desk.ticket(subject="C")
    query = "view=open&sort=-created"
    page = agent_client.get(url("ticket_detail", number=t2.number), {"list": query})
    html = page.content.decode()
    carried = "?list=" + quote(query, safe="")
    assert f"{url('ticket_detail', number=t3.number)}{carried}" in html.replace("&amp;", "&")
    assert f"{url('ticket_detail', number=t1.number)}{carried}" in html.replace("&amp;", "&")


def test_tkt01_ticket_page_queries_do_not_grow_with_tags_and_followers(
    agent_client, desk, django_assert_max_num_queries
):
    ticket = desk.ticket()
    agent_client.get(url("ticket_detail", number=ticket.number))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        agent_client.get(url("ticket_detail", number=ticket.number), {"list": "view=all"})
    for n in range(5):
        ticket_tag_add(actor=desk.agent, ticket=ticket, name=f"tag{n}")
        desk.ticket(subject=f"other {n}")
    TicketFollower.objects.create(org=desk.org, ticket=ticket, user=desk.agent.user)
    TicketFollower.objects.create(org=desk.org, ticket=ticket, user=desk.admin.user)
    with django_assert_max_num_queries(len(few.captured_queries)):
        agent_client.get(url("ticket_detail", number=ticket.number), {"list": "view=all"})


def test_org01_outsider_gets_404_from_every_panel(client, desk, globex):
    ticket = desk.ticket()
    ticket_tag_add(actor=desk.agent, ticket=ticket, name="secret-tag")
    login(client, globex.admin)
    for name in (
        "ticket_tag_add",
        "ticket_tag_remove",
        "ticket_follow",
        "ticket_merge",
        "ticket_presence",
    ):
        assert client.post(url(name, number=ticket.number)).status_code == 404
    assert client.get(url("tag_suggest"), {"tag": "sec"}).status_code == 404
    # In their own portal they see none of Acme's tags.
    theirs = client.get(url("tag_suggest", portal="globex"), {"tag": "sec"})
    assert theirs.status_code == 200 and "secret-tag" not in theirs.content.decode()


def test_tkt01_agent_of_another_department_cannot_reach_the_ticket(client, desk):
    ticket = desk.ticket()
    login(client, desk.other_agent)
    for name in ("ticket_tag_add", "ticket_follow", "ticket_merge", "ticket_presence"):
        assert client.post(url(name, number=ticket.number)).status_code == 404


def _history_actions(html: str) -> list[str]:
    return [line for line in html.split('data-testid="history-action">')[1:]]


def test_tkt05_the_ticket_page_shows_the_newest_changes_and_links_the_whole_history(
    agent_client, desk, globex, django_assert_max_num_queries
):
    """A ticket changed hundreds of times keeps a light page: the newest HISTORY_ON_PAGE
    changes, and a link to the history page, which pages through every change (newest
    first, HISTORY_PAGE_SIZE a page). An outsider gets a 404."""
    from helpdesk.tickets.services.tickets import TicketInput, ticket_update
    from helpdesk.tickets.views.ticket import HISTORY_ON_PAGE, HISTORY_PAGE_SIZE

    ticket = desk.ticket()
    short = desk.ticket(subject="Quiet one")
    for n in range(HISTORY_PAGE_SIZE + 10):
        ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(subject=f"Subject {n}"))
    # The ticket page loads its history panel after it renders (htmx): the newest changes.
    page = agent_client.get(url("ticket_detail", number=ticket.number)).content.decode()
    assert f'hx-get="{url("ticket_history", number=ticket.number)}"' in page
    assert not _history_actions(page)
    panel = agent_client.get(url("ticket_history", number=ticket.number), HTTP_HX_REQUEST="true")
    html = panel.content.decode()
    assert "<!doctype" not in html and len(_history_actions(html)) == HISTORY_ON_PAGE
    assert f"Subject {HISTORY_PAGE_SIZE + 9}" in html  # the newest change
    assert 'data-testid="history-all"' in html
    quiet = agent_client.get(url("ticket_history", number=short.number), HTTP_HX_REQUEST="true")
    html = quiet.content.decode()
    assert len(_history_actions(html)) == 1 and 'data-testid="history-all"' not in html

    first = agent_client.get(url("ticket_history", number=ticket.number))
    html = first.content.decode()
    assert first.status_code == 200 and len(_history_actions(html)) == HISTORY_PAGE_SIZE
    total = HISTORY_PAGE_SIZE + 11  # the updates and the creation
    assert f'data-count="{total}"' in html and 'rel="next"' in html
    second = agent_client.get(url("ticket_history", number=ticket.number) + "?page=2")
    html = second.content.decode()
    assert len(_history_actions(html)) == 11 and "Created" in html
    assert "Subject 0" in html and 'rel="prev"' in html
    # A page out of range shows the last one; a word is the first.
    assert (
        agent_client.get(url("ticket_history", number=ticket.number) + "?page=x").status_code == 200
    )

    login(agent_client, globex.admin)
    assert agent_client.get(url("ticket_history", number=ticket.number)).status_code == 404
