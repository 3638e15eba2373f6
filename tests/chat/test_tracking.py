"""Visitor tracking (CHAT-08; issue 15 item 7): the widget reports the pages a visitor views
(address, title, referrer; a visitor key from the host page's localStorage), cheaply (one SQL
statement) and rate-limited; operators see the live visitors (current page, pages viewed, time
on site, returning or new, where they came from) of their departments only, never another
organization's, and start a chat with one: the visitor's widget gets the invitation on its
next report and reads the operator's message with the token it carries. Old rows are pruned."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from chat.models import ChatDepartment, Conversation, PageView, Visitor
from chat.services import tracking
from chat.services.departments import department_create
from chat.tasks import tracking_prune_task
from tests.conftest import login
from tests.factories import UserFactory

from .visitor_helpers import XSS, default_department, start, visitor_client, visitor_url, widget_url

pytestmark = pytest.mark.django_db
KEY = "k" * 24
SHOP = "https://shop.example"


def report(client, tenant, key=KEY, url=f"{SHOP}/", title="Home", referrer="", **extra):
    return client.post(
        widget_url(tenant, "widget_track", extra.pop("department", None)),
        {"visitor": key, "url": url, "title": title, "referrer": referrer, **extra},
    )


def visitors_page(client, tenant) -> str:
    response = client.get(reverse("chat:visitors", kwargs={"portal": tenant.org.portal}))
    assert response.status_code == 200
    return response.content.decode()


def test_chat08_operators_see_the_pages_a_visitor_views(client, acme):
    visitor = visitor_client()
    first = report(
        visitor, acme, url=f"{SHOP}/", title=f"Shop {XSS}", referrer="https://search.example/?q=tea"
    )
    assert first.status_code == 200 and first.json() == {}
    assert first["Access-Control-Allow-Origin"] == "*"
    report(visitor, acme, url=f"{SHOP}/tea/sencha", title="Sencha", referrer=f"{SHOP}/")

    login(client, acme.admin)
    page = visitors_page(client, acme)
    row = Visitor.objects.for_org(acme.org).get()
    assert f'data-visitor="{row.pk}"' in page
    assert "Sencha" in page and f"{SHOP}/tea/sencha" in page  # the current page
    assert "https://search.example/?q=tea" in page  # where they came from (not the shop)
    assert "New" in page
    assert (row.page_views, row.visits, row.current_title) == (2, 1, "Sencha")
    assert row.ip == "192.0.2.7"

    detail = client.get(
        reverse("chat:visitor", kwargs={"portal": acme.org.portal, "chat_visitor_id": row.pk})
    ).content.decode()
    assert "Sencha" in detail
    assert "Shop &lt;img src=x onerror=alert(1)&gt;" in detail
    assert XSS not in detail and XSS not in page


def test_chat08_a_visitor_back_after_a_while_is_returning(client, acme):
    visitor = visitor_client()
    report(visitor, acme)
    Visitor.objects.for_org(acme.org).update(
        last_seen_at=timezone.now() - dt.timedelta(hours=2),
        visit_started_at=timezone.now() - dt.timedelta(hours=2),
    )
    report(visitor, acme, referrer="https://news.example/")
    row = Visitor.objects.for_org(acme.org).get()
    assert row.visits == 2
    assert row.referrer == "https://news.example/"
    assert timezone.now() - row.visit_started_at < dt.timedelta(minutes=1)
    login(client, acme.admin)
    assert 'data-testid="visitor-returning"' in visitors_page(client, acme)


def test_chat08_the_heartbeat_keeps_the_visitor_online_without_a_page_view(acme):
    visitor = visitor_client()
    report(visitor, acme)
    Visitor.objects.for_org(acme.org).update(last_seen_at=timezone.now() - dt.timedelta(minutes=1))
    assert (
        visitor.post(widget_url(acme, "widget_track"), {"visitor": KEY, "ping": "1"}).status_code
        == 200
    )
    row = Visitor.objects.for_org(acme.org).get()
    assert row.page_views == 1 and PageView.objects.for_org(acme.org).count() == 1
    assert timezone.now() - row.last_seen_at < dt.timedelta(seconds=30)
    assert row.current_title == "Home"


def test_chat08_a_report_is_one_sql_statement(acme, django_assert_num_queries):
    entry = default_department(acme)
    with django_assert_num_queries(1):
        tracking.track(
            org=acme.org,
            embed_key=entry.embed_key,
            key=KEY,
            url=f"{SHOP}/",
            title="Home",
            referrer="",
            ip="192.0.2.7",
            page_view=True,
        )
    assert PageView.objects.for_org(acme.org).count() == 1


def test_chat08_reports_are_validated(acme, billing_private):
    visitor = visitor_client()
    cases = [
        ({"key": "short"}, "visitor"),
        ({"key": "bad key with spaces!!!!"}, "visitor"),
        ({"url": ""}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "/relative"}, "url"),
    ]
    for fields, error in cases:
        response = report(visitor, acme, **fields)
        assert response.status_code == 400, fields
        assert error in response.json()["errors"]
    assert visitor.get(widget_url(acme, "widget_track")).status_code == 405
    # A private department's embed key is a missing one.
    assert report(visitor, acme, department=billing_private).status_code == 404
    assert not Visitor.objects.for_org(acme.org).exists()
    # NUL characters and overlong titles do not break anything.
    assert report(visitor, acme, title="a\x00b" + "x" * 500).status_code == 200
    assert len(Visitor.objects.for_org(acme.org).get().current_title) == 300


@pytest.fixture
def billing_private(acme) -> ChatDepartment:
    acme.admin.org = acme.org
    return department_create(actor=acme.admin, name="Billing", visibility="private")


def test_chat08_reports_are_rate_limited(acme, settings):
    settings.CHAT_RATE_LIMIT_TRACK_PER_MINUTE = 2
    visitor = visitor_client()
    codes = [report(visitor, acme).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    assert PageView.objects.for_org(acme.org).count() == 2


def test_chat08_an_operator_of_another_organization_never_sees_the_visitors(client, acme, globex):
    report(visitor_client(), acme, title="Acme secret page")
    row = Visitor.objects.for_org(acme.org).get()
    login(client, globex.admin)
    assert "Acme secret page" not in visitors_page(client, globex)
    own = reverse("chat:visitor", kwargs={"portal": globex.org.portal, "chat_visitor_id": row.pk})
    assert client.get(own).status_code == 404
    assert client.post(own, {"body": "hi"}).status_code == 404
    theirs = reverse("chat:visitor", kwargs={"portal": acme.org.portal, "chat_visitor_id": row.pk})
    assert client.get(theirs).status_code == 404
    assert not Conversation.objects.for_org(acme.org).exists()


def test_chat08_an_operator_sees_the_visitors_of_their_departments_only(client, acme):
    olga = acme.member(
        user=UserFactory(email="olga@acme.test", full_name="Olga Operator"),
        desk_role="",
        chat_role="operator",
    )
    acme.admin.org = acme.org
    sales = department_create(actor=acme.admin, name="Sales", operators=[olga.user])
    report(visitor_client(), acme, title="On the default site")
    report(
        visitor_client("198.51.100.9"),
        acme,
        key="s" * 24,
        title="On the sales site",
        department=sales,
    )
    login(client, olga)
    page = visitors_page(client, acme)
    assert "On the sales site" in page and "On the default site" not in page
    other = Visitor.objects.for_org(acme.org).get(key=KEY)
    url = reverse("chat:visitor", kwargs={"portal": acme.org.portal, "chat_visitor_id": other.pk})
    assert client.get(url).status_code == 404


def test_chat08_operator_starts_a_chat_and_the_visitor_widget_gets_it(client, acme):
    visitor = visitor_client()
    report(visitor, acme)
    row = Visitor.objects.for_org(acme.org).get()
    login(client, acme.admin)
    url = reverse("chat:visitor", kwargs={"portal": acme.org.portal, "chat_visitor_id": row.pk})
    empty = client.post(url, {"body": "  "})
    assert empty.status_code == 400
    assert "Write a message." in empty.content.decode()
    assert not Conversation.objects.for_org(acme.org).exists()

    response = client.post(url, {"body": f"Can I help you find a tea? {XSS}"})
    assert response.status_code == 302
    chat = Conversation.objects.for_org(acme.org).get()
    assert response["Location"].endswith(f"/chat/conversations/{chat.pk}/")
    assert (chat.state, chat.accepted_by, chat.visitor) == ("live", acme.admin.user, row)

    # The widget's next report (a heartbeat) carries the invitation, once.
    answer = visitor.post(widget_url(acme, "widget_track"), {"visitor": KEY, "ping": "1"}).json()
    assert answer["invite"]["id"] == chat.pk
    assert (
        visitor.post(widget_url(acme, "widget_track"), {"visitor": KEY, "ping": "1"}).json() == {}
    )
    # Another visitor's key gets nothing.
    assert report(visitor, acme, key="o" * 24).json() == {}
    polled = visitor.get(
        visitor_url(acme, "visitor_messages", chat.pk), {"token": answer["invite"]["token"]}
    ).json()
    assert polled["state"] == "live"
    assert polled["messages"][0]["body"] == f"Can I help you find a tea? {XSS}"
    assert polled["messages"][0]["sender"] == "operator"

    # While that chat goes on, a second invitation is refused.
    again = client.post(url, {"body": "Still there?"})
    assert again.status_code == 400
    assert "This visitor is already in a chat." in again.content.decode()
    assert Conversation.objects.for_org(acme.org).count() == 1


def test_chat08_a_chat_the_visitor_starts_joins_their_tracked_record(client, acme):
    visitor = visitor_client()
    report(visitor, acme)
    chat = start(visitor, acme, visitor=KEY)
    row = Visitor.objects.for_org(acme.org).get()
    assert Conversation.objects.for_org(acme.org).get(pk=chat["id"]).visitor == row
    login(client, acme.admin)
    page = client.get(
        reverse(
            "chat:conversation",
            kwargs={"portal": acme.org.portal, "chat_conversation_id": chat["id"]},
        )
    ).content.decode()
    assert f"/chat/visitors/{row.pk}/" in page
    # An unknown or malformed key links nothing and refuses nothing.
    assert start(visitor, acme, visitor="<bad>")["id"]


def test_chat08_old_tracking_rows_are_pruned(acme, globex, settings):
    settings.CHAT_TRACKING_DAYS = 30
    report(visitor_client(), acme)
    report(visitor_client(), acme, key="n" * 24)
    old = timezone.now() - dt.timedelta(days=31)
    Visitor.objects.for_org(acme.org).filter(key=KEY).update(last_seen_at=old)
    PageView.objects.for_org(acme.org).filter(visitor__key=KEY).update(created_at=old)
    assert tracking_prune_task() >= 2
    assert list(Visitor.objects.for_org(acme.org).values_list("key", flat=True)) == ["n" * 24]
    assert PageView.objects.for_org(acme.org).count() == 1
