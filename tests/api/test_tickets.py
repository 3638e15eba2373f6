"""Issue 16, item 1: tickets over the API, through the pages' selectors and services."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from helpdesk.tickets.models import Priority, TicketHistory
from helpdesk.tickets.services.layouts import statuses_for
from helpdesk.tickets.services.tickets import TicketInput, ticket_create
from tests.api.conftest import ApiClient, issue
from tests.factories import DepartmentAgentFactory

pytestmark = pytest.mark.django_db

SORTS = ["-created", "created", "-updated", "-activity", "due", "-priority", "-number", "number"]


def _tickets(acme, count: int) -> list:
    acme.admin.org = acme.org
    now = timezone.now()
    priorities = [Priority.LOW, Priority.MEDIUM, Priority.HIGH, Priority.URGENT]
    return [
        ticket_create(
            actor=acme.admin,
            data=TicketInput(
                subject=f"Ticket {n} {'printer' if n % 3 == 0 else 'mail'}",
                department=acme.department,
                priority=priorities[n % 4],
                # Some without a due date, some sharing one: the keyset must handle both.
                due_at=None if n % 4 == 0 else now + dt.timedelta(days=n % 3),
            ),
        )
        for n in range(count)
    ]


def _pages(api, params: dict) -> tuple[list[int], int]:
    numbers, cursor, pages = [], None, 0
    while True:
        query = dict(params, **({"cursor": cursor} if cursor else {}))
        response = api.get("tickets", query)
        assert response.status_code == 200, response.content
        body = response.json()
        numbers += [t["number"] for t in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if not cursor:
            return numbers, pages


@pytest.mark.parametrize("sort", SORTS)
def test_api01_cursor_pages_have_no_duplicates_or_gaps(acme, alice_api, sort):
    from helpdesk.tickets.selectors import SORTS as ORDERS
    from helpdesk.tickets.selectors import ticket_queryset

    _tickets(acme, 13)
    numbers, pages = _pages(alice_api, {"sort": sort, "size": 4})
    acme.admin.org = acme.org
    expected = list(
        ticket_queryset(acme.admin, {}).order_by(*ORDERS[sort]).values_list("number", flat=True)
    )
    assert numbers == expected
    assert len(set(numbers)) == 13 and pages == 4


def test_api01_list_filters_and_search_match_the_list_page(acme, alice_api):
    _tickets(acme, 8)
    high = alice_api.get("tickets", {"priority": "high"}).json()["items"]
    assert {t["priority"] for t in high} == {"high"} and len(high) == 2
    found = alice_api.get("tickets", {"q": "printer"}).json()["items"]
    assert sorted(t["number"] for t in found) == [1, 4, 7]
    open_ = alice_api.get("tickets", {"status": "Open", "view": "open"}).json()["items"]
    assert len(open_) == 8
    assert alice_api.get("tickets", {"owner": "none"}).json()["items"]
    bad = alice_api.get("tickets", {"sort": "sideways", "created_from": "32/13"})
    assert bad.status_code == 422
    assert set(bad.json()["errors"]) == {"sort", "created_from"}
    garbage = alice_api.get("tickets", {"cursor": "not-a-cursor"})
    assert garbage.status_code == 422 and "cursor" in garbage.json()["errors"]
    other_sort = alice_api.get("tickets", {"size": 2}).json()["next_cursor"]
    wrong = alice_api.get("tickets", {"size": 2, "sort": "number", "cursor": other_sort})
    assert wrong.status_code == 422


def test_api01_agents_see_only_their_departments_tickets(acme, bob):
    from tests.factories import DepartmentFactory

    other = DepartmentFactory(org=acme.org)
    DepartmentAgentFactory(org=acme.org, department=acme.department, user=bob.user)
    acme.admin.org = acme.org
    mine = ticket_create(
        actor=acme.admin, data=TicketInput(subject="A", department=acme.department)
    )
    theirs = ticket_create(actor=acme.admin, data=TicketInput(subject="B", department=other))
    api = ApiClient(issue(bob), "acme")
    assert [t["number"] for t in api.get("tickets").json()["items"]] == [mine.number]
    assert api.get(f"tickets/{theirs.number}").status_code == 404


def test_api01_list_queries_do_not_grow_with_page_size(
    acme, alice_api, django_assert_max_num_queries
):
    _tickets(acme, 30)
    with django_assert_max_num_queries(8) as small:
        assert len(alice_api.get("tickets", {"size": 2}).json()["items"]) == 2
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(alice_api.get("tickets", {"size": 30}).json()["items"]) == 30


def test_api01_create_update_reply_comment_write_history_as_the_member(acme, alice_api):
    created = alice_api.post(
        "tickets",
        {
            "subject": "Cannot log in",
            "description": "Since <b>Monday</b>",
            "department_id": acme.department.pk,
            "contact_email": "kim@customer.test",
            "contact_name": "Kim",
            "priority": "high",
        },
    )
    assert created.status_code == 201, created.content
    ticket = created.json()
    number = ticket["number"]
    assert ticket["contact"]["email"] == "kim@customer.test"
    assert ticket["priority"] == "high"

    changed = alice_api.patch(f"tickets/{number}", {"priority": "low", "subject": "Login fails"})
    assert changed.status_code == 200, changed.content
    assert changed.json()["changes"]["priority"] == ["high", "low"]
    assert changed.json()["ticket"]["subject"] == "Login fails"

    reply = alice_api.post_form(f"tickets/{number}/replies", {"body": "We are on it <3"})
    assert reply.status_code == 201, reply.content
    assert reply.json()["body_text"] == "We are on it <3"
    comment = alice_api.post_form(
        f"tickets/{number}/comments",
        {"body": "log attached", "files": [SimpleUploadedFile("log.txt", b"trace")]},
    )
    assert comment.status_code == 201, comment.content
    [attachment] = comment.json()["attachments"]

    history = TicketHistory.objects.for_org(acme.org).filter(ticket__number=number)
    actions = list(history.order_by("pk").values_list("action", "actor_id", "ip_address"))
    assert [a for a, _u, _ip in actions][:4] == ["created", "updated", "reply", "comment"]
    assert {u for _a, u, _ip in actions[:4]} == {acme.admin.user_id}
    assert actions[0][2] == "127.0.0.1"

    detail = alice_api.get(f"tickets/{number}").json()
    assert detail["description_text"] == "Since <b>Monday</b>"  # as typed, stored escaped
    assert [t["kind"] for t in detail["threads"]] == ["reply", "comment"]
    assert detail["threads"][1]["attachments"][0]["name"] == "log.txt"

    files = alice_api.get(f"tickets/{number}/attachments").json()
    assert [f["id"] for f in files] == [attachment["id"]]
    download = alice_api.get(f"tickets/{number}/attachments/{attachment['id']}")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"trace"


def test_api01_service_validation_is_a_422_with_field_errors(acme, alice_api):
    from tests.factories import DepartmentFactory

    response = alice_api.post("tickets", {"subject": "  ", "department_id": acme.department.pk})
    assert response.status_code == 422
    body = response.json()
    assert body["errors"]["subject"] == ["Enter a subject."]
    assert body["type"].endswith("invalid-input") and body["title"]
    other = DepartmentFactory(org=acme.org)
    acme.admin.org = acme.org
    ticket = ticket_create(actor=acme.admin, data=TicketInput(subject="A", department=other))
    status_elsewhere = statuses_for(acme.department).first()
    wrong = alice_api.patch(f"tickets/{ticket.number}", {"status_id": status_elsewhere.pk})
    assert wrong.status_code == 422 and "status" in wrong.json()["errors"]
    empty = alice_api.post_form(f"tickets/{ticket.number}/comments", {"body": ""})
    assert empty.status_code == 422 and empty.json()["errors"]["body"] == ["Write a message."]
    exe = alice_api.post_form(
        f"tickets/{ticket.number}/comments",
        {"body": "x", "files": [SimpleUploadedFile("evil.exe", b"MZ")]},
    )
    assert exe.status_code == 422 and "files" in exe.json()["errors"]


def test_api01_reference_lists(acme, alice_api):
    from customers.models import Product

    Product.objects.create(org=acme.org, name="Widget", department=acme.department)
    departments = alice_api.get("departments").json()
    assert [d["id"] for d in departments] == [acme.department.pk]
    statuses = alice_api.get(f"departments/{acme.department.pk}/statuses").json()
    assert {s["kind"] for s in statuses} >= {"open", "closed"}
    assert [p["name"] for p in alice_api.get("products").json()] == ["Widget"]


def test_api01_ticket_read_queries_do_not_grow_with_the_thread(
    acme, alice_api, django_assert_max_num_queries
):
    from helpdesk.tickets.services.threads import thread_add

    short, long = _tickets(acme, 2)
    for ticket, count in ((short, 1), (long, 8)):
        for n in range(count):
            thread_add(
                actor=acme.admin,
                ticket=ticket,
                kind="comment",
                body=f"note {n}",
                files=[SimpleUploadedFile(f"n{n}.txt", b"x")],
            )
    with django_assert_max_num_queries(10) as few:
        assert len(alice_api.get(f"tickets/{short.number}").json()["threads"]) == 1
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = alice_api.get(f"tickets/{long.number}").json()
    assert len(body["threads"]) == 8 and all(t["attachments"] for t in body["threads"])
