"""The Desk's home page (TKT-06, issue 8 item 5): my open, overdue and due-today tickets; the
team's open tickets by status, priority and department; created against closed over 30 days
as an SVG chart with a table; every number links to the list that shows exactly those
tickets; a fixed number of queries; each member sees only what they may see."""

from __future__ import annotations

import datetime as dt
import html
import re
import zoneinfo
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from helpdesk.tickets.models import Ticket
from tests.conftest import login

TOKYO = zoneinfo.ZoneInfo("Asia/Tokyo")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def dashboard_url(org) -> str:
    return reverse("desk:dashboard", kwargs={"portal": org.portal})


def figure_links(response, figure: str) -> list[tuple[str, int]]:
    """(href, number) of each link marked data-figure=`figure`."""
    body = response.content.decode()
    found = []
    for href, inner in re.findall(
        rf'<a[^>]*href="([^"]+)"[^>]*data-figure="{figure}"[^>]*>(.*?)</a>', body, re.S
    ):
        number = re.search(r'(?:stat-value|dash-count)">(\d+)<', inner)
        found.append((html.unescape(href), int(number.group(1)) if number else -1))
    return found


def list_count(client, href: str) -> int:
    """How many tickets the list counts at this link."""
    parts = urlsplit(href)
    response = client.get(f"{parts.path}?{parts.query}&size=100")
    assert response.status_code == 200
    return response.context["page"].count


@pytest.fixture
def board(desk):
    """Tickets of both departments in every state, some mine, some due today or overdue."""
    now = timezone.now()
    late_today = dt.datetime.combine(timezone.localdate(now, TOKYO), dt.time(23, 59), TOKYO)
    agent = desk.agent.user
    made = [
        desk.ticket(
            subject="mine overdue",
            owner=agent,
            priority="high",
            due_at=now - dt.timedelta(hours=26),
        ),
        desk.ticket(subject="mine due today", owner=agent, priority="urgent", due_at=late_today),
        desk.ticket(subject="mine later", owner=agent, due_at=now + dt.timedelta(days=3)),
        desk.ticket(subject="mine on hold", owner=agent, status=desk.status("On Hold")),
        desk.ticket(subject="mine closed", owner=agent, status=desk.status("Closed")),
        desk.ticket(subject="unassigned", priority="low"),
        desk.ticket(subject="billing", department=desk.other_department, priority="urgent"),
        desk.ticket(
            subject="billing closed",
            department=desk.other_department,
            status=desk.status("Closed", desk.other_department),
        ),
    ]
    # One ticket created and closed 10 days ago, for the chart.
    old = made[4]
    ten_days = now - dt.timedelta(days=10)
    Ticket.objects.filter(pk=old.pk).update(created_at=ten_days, closed_at=ten_days)
    return desk, made


def test_tkt06_portal_and_desk_entry_open_on_the_dashboard(client, board):
    desk, _ = board
    login(client, desk.agent)
    response = client.get(f"/{desk.org.portal}/", follow=True)
    assert response.request["PATH_INFO"] == dashboard_url(desk.org)
    assert f'href="{dashboard_url(desk.org)}"' in response.content.decode()  # the Desk entry


@pytest.mark.parametrize("who", ["agent", "admin"])
def test_tkt06_every_dashboard_number_matches_the_list_it_links_to(client, board, who):
    desk, _ = board
    member = getattr(desk, who)
    login(client, member)
    response = client.get(dashboard_url(desk.org))
    assert response.status_code == 200
    figures = ["mine_open", "mine_overdue", "mine_due_today", "team_open", "team_on_hold"]
    figures += ["team_overdue", "team_unassigned", "status", "priority", "department"]
    checked = 0
    for figure in figures:
        for href, number in figure_links(response, figure):
            assert number == list_count(client, href), (figure, href)
            checked += 1
    assert checked >= 14


def test_tkt06_my_figures_for_the_agent(client, board):
    desk, _ = board
    login(client, desk.agent)
    response = client.get(dashboard_url(desk.org))
    mine = {
        f: figure_links(response, f)[0][1] for f in ("mine_open", "mine_overdue", "mine_due_today")
    }
    # Open means not closed (on hold included), as in the list's "My open tickets".
    assert mine == {"mine_open": 4, "mine_overdue": 1, "mine_due_today": 1}


def test_tkt06_agent_sees_only_their_departments(client, board):
    desk, _ = board
    login(client, desk.agent)
    response = client.get(dashboard_url(desk.org))
    departments = [html.unescape(h) for h, _n in figure_links(response, "department")]
    assert len(departments) == 1 and f"department={desk.department.pk}" in departments[0]
    assert "Billing" not in response.content.decode()
    urgent = [n for h, n in figure_links(response, "priority") if "priority=urgent" in h]
    assert urgent == [1]  # Billing's urgent ticket is not the agent's to see

    login(client, desk.admin)
    cache.clear()
    response = client.get(dashboard_url(desk.org))
    assert len(figure_links(response, "department")) == 2
    urgent = [n for h, n in figure_links(response, "priority") if "priority=urgent" in h]
    assert urgent == [2]


def test_tkt06_chart_is_an_accessible_svg_with_a_table_of_links(client, board):
    desk, made = board
    login(client, desk.admin)
    response = client.get(dashboard_url(desk.org))
    body = response.content.decode()
    svg = re.search(r"<svg[^>]*data-chart=\"created-closed\".*?</svg>", body, re.S).group(0)
    assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
    assert len(re.findall(r"<rect ", svg)) == 60  # 30 days, two series
    assert "<script" not in body.split("<main", 1)[1]  # no script needed for the chart
    ten_days_ago = (timezone.localdate() - dt.timedelta(days=10)).isoformat()
    row = re.search(rf'<tr data-day="{ten_days_ago}">(.*?)</tr>', body, re.S).group(1)
    created, closed = re.findall(r'<a href="([^"]+)">(\d+)</a>', row)
    assert created[1] == "1" and closed[1] == "1"
    assert list_count(client, html.unescape(created[0])) == 1
    assert list_count(client, html.unescape(closed[0])) == 1
    today = timezone.localdate().isoformat()
    row = re.search(rf'<tr data-day="{today}">(.*?)</tr>', body, re.S).group(1)
    assert re.findall(r">(\d+)</a>", row) == [
        str(len(made) - 1),
        "1",
    ]  # one closed ticket moved back 10 days


def test_tkt06_due_today_follows_the_users_time_zone(client, desk):
    """A ticket due at 23:30 UTC is due "tomorrow" in Tokyo (UTC+9) but today in UTC."""
    now = timezone.now()
    utc_today = now.astimezone(dt.UTC).date()
    due = dt.datetime.combine(utc_today, dt.time(23, 30), dt.UTC)
    if due <= now:
        pytest.skip("too close to midnight UTC")
    desk.ticket(subject="late", owner=desk.agent.user, due_at=due)
    user = desk.agent.user
    login(client, desk.agent)
    counts = {}
    for zone in ("UTC", "Asia/Tokyo"):
        user.time_zone = zone
        user.save(update_fields=["time_zone"])
        cache.clear()
        response = client.get(dashboard_url(desk.org))
        counts[zone] = figure_links(response, "mine_due_today")[0][1]
    tokyo_today = now.astimezone(TOKYO).date()
    assert counts["UTC"] == 1
    assert counts["Asia/Tokyo"] == (1 if due.astimezone(TOKYO).date() == tokyo_today else 0)


def test_tkt06_dashboard_queries_do_not_grow_with_the_data(client, desk, django_assert_num_queries):
    login(client, desk.agent)
    client.get(dashboard_url(desk.org))  # warm the session and the layouts

    def measure() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        cache.clear()
        with CaptureQueriesContext(connection) as queries:
            assert client.get(dashboard_url(desk.org)).status_code == 200
        return len(queries)

    small = measure()
    for n in range(25):
        desk.ticket(
            subject=f"more {n}",
            owner=desk.agent.user if n % 2 else None,
            priority=("low", "medium", "high", "urgent")[n % 4],
            status=desk.status(("Open", "On Hold", "Closed")[n % 3]),
            due_at=timezone.now() + dt.timedelta(hours=n - 12),
        )
    with django_assert_num_queries(small):
        cache.clear()
        assert client.get(dashboard_url(desk.org)).status_code == 200


def test_tkt06_restricted_agent_sees_the_dashboard_without_new_ticket(client, board):
    desk, _ = board
    login(client, desk.restricted)
    response = client.get(dashboard_url(desk.org))
    assert response.status_code == 200
    assert reverse("desk:ticket_create", kwargs={"portal": desk.org.portal}) not in (
        response.content.decode()
    )


def test_tkt06_member_without_desk_is_refused(client, acme):
    member = acme.member(desk_role="")
    login(client, member)
    assert client.get(dashboard_url(acme.org)).status_code == 403


def test_tkt06_outsider_gets_404_and_learns_nothing(client, board, globex):
    desk, _ = board
    login(client, globex.admin)
    response = client.get(dashboard_url(desk.org))
    assert response.status_code == 404
    assert "mine overdue" not in response.content.decode()
