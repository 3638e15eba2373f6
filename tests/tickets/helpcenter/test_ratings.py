"""TKT-04 ratings and RPT-01: the closing mail carries signed links; the contact rates good /
okay / bad with a comment through the link (no sign-in) or in the help center; one rating per
ticket, changeable; a history row each time; the rating shows on the ticket page; the
satisfaction report counts them by department, agent and period."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core import mail
from django.utils import timezone

from customers.models import Contact
from helpdesk.tenancy.models import Membership
from helpdesk.tickets.helpcenter.mails import rating_token
from helpdesk.tickets.helpcenter.models import Rating
from helpdesk.tickets.helpcenter.ratings import rating_set
from helpdesk.tickets.models import TicketHistory
from helpdesk.tickets.services.tickets import TicketInput, ticket_update
from tests.conftest import login

pytestmark = pytest.mark.django_db
RATE_LINK = re.compile(r"https?://\S+/help/rate/[^/\s]+/\?value=(good|okay|bad)")


def _close(desk, ticket, committed, actor=None):
    committed(
        ticket_update,
        actor=actor or desk.admin,
        ticket=ticket,
        data=TicketInput(status=desk.status("Closed", ticket.department)),
    )
    ticket.refresh_from_db()
    return ticket


def _rating_mail(to):
    return [m for m in mail.outbox if to in m.to and "/help/rate/" in m.body]


def test_tkt04_closing_mails_the_contact_signed_rating_links_once(desk, committed):
    ticket = desk.ticket(owner=desk.agent.user)
    mail.outbox.clear()
    _close(desk, ticket, committed)
    [message] = _rating_mail(desk.contact.email)
    assert f"#{ticket.number}" in message.subject
    assert {m.group(1) for m in RATE_LINK.finditer(message.body)} == {"good", "okay", "bad"}
    # A second save of the closed ticket sends nothing more.
    committed(ticket_update, actor=desk.admin, ticket=ticket, data=TicketInput(priority="high"))
    assert len(_rating_mail(desk.contact.email)) == 1


def test_tkt04_rating_mail_can_be_turned_off(desk, committed):
    from .conftest import open_help_center

    open_help_center(desk.org, [desk.department], rating_mail=False)
    mail.outbox.clear()
    _close(desk, desk.ticket(), committed)
    assert _rating_mail(desk.contact.email) == []


def test_tkt04_rating_through_the_mailed_link_without_signing_in(client, desk, committed):
    ticket = _close(desk, desk.ticket(owner=desk.agent.user), committed)
    url = next(m.group(0) for m in RATE_LINK.finditer(_rating_mail(desk.contact.email)[0].body))
    path = "/" + url.split("/", 3)[3]
    page = client.get(path.replace("value=good", "value=bad"))
    assert page.status_code == 200 and b'value="bad"' in page.content
    assert not Rating.objects.for_org(desk.org).exists()  # opening the link rates nothing
    response = client.post(path.split("?")[0], {"value": "bad", "comment": "Took <too> long"})
    assert response.status_code == 200 and b"Thank you for your rating" in response.content
    rating = Rating.objects.for_org(desk.org).get()
    assert (rating.value, rating.comment, rating.contact) == (
        "bad",
        "Took <too> long",
        desk.contact,
    )
    assert rating.agent == desk.agent.user and rating.department == desk.department
    # Changeable with the same link: still one rating, and a history row each time.
    client.post(path.split("?")[0], {"value": "good", "comment": ""})
    assert Rating.objects.for_org(desk.org).get().value == "good"
    rows = TicketHistory.objects.for_org(desk.org).filter(ticket=ticket, action="rated")
    assert [r.changes["rating"] for r in rows] == [[None, "bad"], ["bad", "good"]]


def test_tkt04_rating_link_refuses_forged_other_portal_and_wrong_contact(
    client, desk, globex, committed
):
    ticket = _close(desk, desk.ticket(), committed)
    token = rating_token(ticket, desk.contact)
    assert client.get(f"/acme/help/rate/{token[:-2]}xx/").status_code == 404
    assert client.get(f"/globex/help/rate/{token}/").status_code == 404
    other = Contact.objects.create(org=desk.org, last_name="Other", email="o@x.test")
    assert (
        client.post(f"/acme/help/rate/{rating_token(ticket, other)}/", {"value": "bad"}).status_code
        == 404
    )
    assert not Rating.objects.for_org(desk.org).exists()


def test_tkt04_open_tickets_cannot_be_rated(customer, desk):
    ticket = desk.ticket()
    response = customer.post(f"/acme/help/tickets/{ticket.number}/rate/", {"value": "good"})
    assert response.status_code == 400
    assert b"once the ticket is closed" in response.content
    assert not Rating.objects.for_org(desk.org).exists()


def test_tkt04_rating_in_the_help_center_one_per_ticket(customer, desk, committed):
    ticket = _close(desk, desk.ticket(), committed)
    page = customer.get(f"/acme/help/tickets/{ticket.number}/")
    assert b"Rate our answer" in page.content
    assert (
        customer.post(
            f"/acme/help/tickets/{ticket.number}/rate/", {"value": "okay", "comment": "Fine"}
        ).status_code
        == 302
    )
    assert (
        customer.post(
            f"/acme/help/tickets/{ticket.number}/rate/", {"value": "good", "comment": "Great"}
        ).status_code
        == 302
    )
    assert list(Rating.objects.for_org(desk.org).values_list("value", "comment")) == [
        ("good", "Great")
    ]
    bad = customer.post(f"/acme/help/tickets/{ticket.number}/rate/", {"value": "superb"})
    assert bad.status_code == 400 and b"Select a valid choice." in bad.content


def test_tkt04_rating_shows_on_the_ticket_page_at_a_fixed_query_count(
    client, desk, committed, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    """The rating panel is among the side panels the ticket page loads after it renders."""
    ticket = _close(desk, desk.ticket(), committed)
    login(client, desk.admin)
    page = client.get(f"/acme/desk/tickets/{ticket.number}/")
    url = f"/acme/desk/tickets/{ticket.number}/more/"
    assert f'hx-get="{url}"'.encode() in page.content
    with CaptureQueriesContext(connection) as before:
        page = client.get(url, HTTP_HX_REQUEST="true")
    assert b"Not rated yet." in page.content
    rating_set(ticket=ticket, contact=desk.contact, value="bad", comment="Slow <reply>")
    with django_assert_max_num_queries(len(before.captured_queries)):
        page = client.get(url, HTTP_HX_REQUEST="true")
    assert b'data-rating="bad"' in page.content
    assert b"Slow &lt;reply&gt;" in page.content


def _rated(desk, committed, owner, value, comment="", department=None, days_ago=0):
    ticket = desk.ticket(owner=owner.user, department=department or desk.department)
    _close(desk, ticket, committed)
    rating = rating_set(ticket=ticket, contact=desk.contact, value=value, comment=comment)
    if days_ago:
        Rating.objects.for_org(desk.org).filter(pk=rating.pk).update(
            rated_at=timezone.now() - dt.timedelta(days=days_ago)
        )
    return ticket


def test_rpt01_report_counts_by_department_agent_and_period(
    client, desk, committed, django_assert_max_num_queries
):
    _rated(desk, committed, desk.agent, "good", "Quick and kind")
    _rated(desk, committed, desk.agent, "good")
    _rated(desk, committed, desk.agent, "bad", "Never again")
    billing = _rated(desk, committed, desk.other_agent, "okay", department=desk.other_department)
    _rated(desk, committed, desk.agent, "bad", "Old news", days_ago=200)
    login(client, desk.admin)
    page = client.get("/acme/desk/reports/satisfaction/")
    assert page.status_code == 200
    report = page.context["report"]
    assert report.overall.counts == {"good": 2, "okay": 1, "bad": 1}
    assert report.overall.percent("good") == 50
    by_dept = {r.name: r.counts for r in report.departments}
    assert by_dept == {
        "acme": {"good": 2, "okay": 0, "bad": 1},
        "Billing": {"good": 0, "okay": 1, "bad": 0},
    }
    by_agent = {r.name: r.total for r in report.agents}
    assert by_agent == {"Bob": 3, "Ada": 1}
    assert [c.comment for c in report.comments] == ["Never again", "Quick and kind"]
    content = page.content.decode()
    assert "<svg" in content and "<title" in content and 'data-chart="satisfaction"' in content
    assert f"/acme/desk/tickets/{billing.number}/" not in content  # no comment on it
    # Filters: one agent, one department, a longer period.
    assert (
        client.get(f"/acme/desk/reports/satisfaction/?agent={desk.other_agent.user.pk}")
        .context["report"]
        .overall.total
        == 1
    )
    dept = client.get(
        f"/acme/desk/reports/satisfaction/?department={desk.department.pk}&period=365"
    )
    assert dept.context["report"].overall.counts == {"good": 2, "okay": 0, "bad": 2}
    # The query count does not grow with the data.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/acme/desk/reports/satisfaction/")
    for _ in range(3):
        _rated(desk, committed, desk.other_agent, "okay", "more", department=desk.other_department)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get("/acme/desk/reports/satisfaction/")


def test_rpt01_report_filters_answer_bad_input(client, desk):
    login(client, desk.admin)
    response = client.get(
        "/acme/desk/reports/satisfaction/?period=custom&date_from=2026-05-01&date_to=2026-01-01"
    )
    assert response.status_code == 400
    assert b"The period&#x27;s start is after its end." in response.content
    assert client.get("/acme/desk/reports/satisfaction/?agent=abc").status_code == 400


def test_rpt01_report_is_for_desk_admins_and_supervisors(client, desk, committed):
    _rated(desk, committed, desk.agent, "good")
    _rated(desk, committed, desk.other_agent, "bad", department=desk.other_department)
    login(client, desk.agent)
    assert client.get("/acme/desk/reports/satisfaction/").status_code == 403
    # Bob supervises Rita: he sees the report, for his own department only.
    Membership.objects.for_org(desk.org).filter(pk=desk.restricted.pk).update(reports_to=desk.agent)
    page = client.get("/acme/desk/reports/satisfaction/")
    assert page.status_code == 200
    assert page.context["report"].overall.counts == {"good": 1, "okay": 0, "bad": 0}
    assert b"Billing" not in page.content
