"""TKT-01, TKT-05, DEP-02, ORG-04: creating and editing tickets, their history and rights."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from customers.models import Account, Contact
from helpdesk.tenancy.guards import OtherOrganizationError
from helpdesk.tenancy.models import Department
from helpdesk.tickets.models import CustomField, Ticket, TicketHistory, TicketStatus
from helpdesk.tickets.services.layouts import layout_create_defaults, statuses_for
from helpdesk.tickets.services.tickets import (
    BulkResult,
    TicketInput,
    ticket_create,
    ticket_update,
    tickets_bulk_update,
)
from tests.conftest import _signup, login


def url(name: str, **kwargs) -> str:
    return reverse(f"desk:{name}", kwargs={"portal": "acme", **kwargs})


def _field(desk, **kwargs) -> CustomField:
    kwargs.setdefault("department", desk.department)
    return CustomField.objects.create(org=desk.org, **kwargs)


DEFAULT_LAYOUT = [
    ("Open", "open", True),
    ("On Hold", "on_hold", False),
    ("Escalated", "open", False),
    ("Closed", "closed", False),
]


def test_dep02_a_new_department_gets_default_statuses_on_first_use(acme):
    """Tenancy creates departments without calling up into tickets; the department's layout
    is made the first time tickets use it (the new-ticket form, a ticket, the layout page)."""
    department = Department.objects.create(org=acme.org, name="Sales")
    assert not TicketStatus.objects.for_org(acme.org).filter(department=department).exists()
    statuses = statuses_for(department)
    assert [(s.name, s.kind, s.is_default) for s in statuses] == DEFAULT_LAYOUT
    assert layout_create_defaults(department=department) == []  # idempotent


def test_dep02_the_new_ticket_form_shows_a_new_departments_statuses(client, desk):
    department = Department.objects.create(org=desk.org, name="Sales")
    login(client, desk.admin)
    response = client.get(url("ticket_create") + f"?department={department.pk}")
    assert response.status_code == 200
    statuses = TicketStatus.objects.for_org(desk.org).filter(department=department)
    assert [(s.name, s.kind, s.is_default) for s in statuses] == DEFAULT_LAYOUT


@pytest.mark.django_db(transaction=True)
def test_dep02_concurrent_first_uses_make_one_layout():
    """Two first uses of a department at once (two tickets created) make one set of statuses."""
    tenant = _signup("Layout race", "layoutrace", "lr@race.test")
    tenant.admin.org = tenant.org
    department = Department.objects.create(org=tenant.org, name="Fresh")
    start = threading.Barrier(4)
    errors: list[Exception] = []

    def create(n: int) -> None:
        try:
            start.wait(timeout=10)
            with translation.override("en"):  # names follow the active language
                ticket_create(
                    actor=tenant.admin, data=TicketInput(subject=f"t{n}", department=department)
                )
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    statuses = TicketStatus.objects.for_org(tenant.org).filter(department=department)
    assert [(s.name, s.kind, s.is_default) for s in statuses] == DEFAULT_LAYOUT
    assert Ticket.objects.for_org(tenant.org).filter(status__in=statuses).count() == 4


def test_tkt01_numbers_are_sequential_per_organization(desk, globex):
    numbers = [desk.ticket().number for _ in range(3)]
    globex.admin.org = globex.org
    other = ticket_create(
        actor=globex.admin, data=TicketInput(subject="Hi", department=globex.department)
    )
    assert numbers == [1, 2, 3]
    assert other.number == 1


@pytest.mark.django_db(transaction=True)
def test_tkt01_concurrent_creation_gives_unique_numbers():
    tenant = _signup("Race", "race", "race@race.test")
    tenant.admin.org = tenant.org
    department = tenant.department
    errors: list[Exception] = []

    def create(n: int) -> None:
        try:
            for i in range(5):
                ticket_create(
                    actor=tenant.admin, data=TicketInput(subject=f"t{n}-{i}", department=department)
                )
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=create, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    numbers = sorted(Ticket.objects.for_org(tenant.org).values_list("number", flat=True))
    assert numbers == list(range(1, 31))


def test_tkt01_create_from_the_agent_ui_with_every_field(client, desk):
    _field(desk, label="Order number", key="order_number", type="number", required=True)
    _field(desk, label="Plan", key="plan", type="picklist", choices=["Free", "Pro"])
    login(client, desk.agent)
    response = client.post(
        url("ticket_create"),
        {
            "subject": "Cannot log in",
            "department": desk.department.pk,
            "contact_email": "new.person@example.com",
            "contact_name": "Suzuki",
            "description": "It says <b>error</b>",
            "description_format": "html",  # what the rich-text editor posts
            "status": desk.status("Escalated").pk,
            "priority": "high",
            "channel": "phone",
            "owner": desk.agent.user.pk,
            "due_at": "2030-01-02T10:30",
            "cf_order_number": "1234",
            "cf_plan": "Pro",
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    ticket = Ticket.objects.for_org(desk.org).get()
    assert response.url == url("ticket_detail", number=ticket.number)
    assert (ticket.subject, ticket.priority, ticket.channel, ticket.status.name) == (
        "Cannot log in",
        "high",
        "phone",
        "Escalated",
    )
    assert ticket.owner == desk.agent.user
    assert ticket.custom_fields == {"order_number": 1234, "plan": "Pro"}
    assert ticket.contact.email == "new.person@example.com"
    assert ticket.contact.last_name == "Suzuki"
    assert ticket.description == "It says <b>error</b>"  # the editor's markup, sanitised
    assert ticket.due_at.isoformat().startswith("2030-01-02T01:30")  # Tokyo -> UTC
    assert ticket.created_by == desk.agent.user


def test_tkt01_existing_contact_is_reused_and_account_follows_the_contact(desk):
    ticket = desk.ticket()
    assert ticket.contact == desk.contact
    assert ticket.account == desk.account
    assert Contact.objects.for_org(desk.org).count() == 1


def test_tkt01_wrong_type_for_a_custom_field_is_refused_and_nothing_saved(client, desk):
    _field(desk, label="Order number", key="order_number", type="number")
    login(client, desk.agent)
    response = client.post(
        url("ticket_create"),
        {
            "subject": "x",
            "department": desk.department.pk,
            "priority": "medium",
            "channel": "web",
            "cf_order_number": "twelve",
            "contact_email": "z@example.com",
        },
    )
    assert response.status_code == 400
    assert "Enter a number." in response.content.decode()
    assert not Ticket.objects.for_org(desk.org).exists()
    assert not Contact.objects.for_org(desk.org).filter(email="z@example.com").exists()


def test_tkt01_required_custom_field_is_enforced(desk):
    _field(desk, label="Order number", key="order_number", type="number", required=True)
    with pytest.raises(ValidationError) as info:
        desk.ticket()
    assert "cf_order_number" in info.value.message_dict
    assert not Ticket.objects.for_org(desk.org).exists()


def test_tkt01_unknown_status_for_the_department_is_refused(desk):
    foreign_status = desk.status("Open", desk.other_department)
    with pytest.raises(ValidationError) as info:
        desk.ticket(status=foreign_status)
    assert "is not a status of" in str(info.value.message_dict["status"])
    assert not Ticket.objects.for_org(desk.org).exists()


def test_tkt01_status_of_another_department_is_refused_on_the_ticket_page(client, desk):
    ticket = desk.ticket()
    login(client, desk.admin)
    response = client.post(
        url("ticket_properties", number=ticket.number),
        {
            "status": desk.status("Closed", desk.other_department).pk,
            "priority": "low",
            "channel": "web",
        },
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    ticket.refresh_from_db()
    assert (ticket.status.name, ticket.priority) == ("Open", "medium")


@pytest.mark.parametrize("field", ["department", "status", "contact", "account"])
def test_org01_ticket_create_refuses_an_object_of_another_organization(desk, globex, field):
    """ORG-01: the service refuses another organization's department, status, contact or
    account (ensure_same_org), whatever a form let through; nothing is written."""
    theirs = {
        "department": lambda: globex.department,
        "status": lambda: statuses_for(globex.department).first(),
        "contact": lambda: Contact.objects.create(org=globex.org, last_name="O", email="o@g.test"),
        "account": lambda: Account.objects.create(org=globex.org, name="Globex customer"),
    }[field]()
    with pytest.raises(OtherOrganizationError):
        desk.ticket(**{field: theirs})
    assert not Ticket.objects.for_org(desk.org).exists()


@pytest.mark.parametrize("field", ["status", "contact", "account"])
def test_org01_ticket_update_refuses_an_object_of_another_organization(desk, globex, field):
    ticket = desk.ticket()
    theirs = {
        "status": lambda: statuses_for(globex.department).first(),
        "contact": lambda: Contact.objects.create(org=globex.org, last_name="O", email="o@g.test"),
        "account": lambda: Account.objects.create(org=globex.org, name="Globex customer"),
    }[field]()
    with pytest.raises(OtherOrganizationError):
        ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(**{field: theirs}))
    assert not TicketHistory.objects.for_org(desk.org).exclude(action="created").exists()


def test_org01_ticket_update_refuses_a_ticket_of_another_organization(desk, globex):
    globex.admin.org = globex.org
    theirs = ticket_create(
        actor=globex.admin, data=TicketInput(subject="Theirs", department=globex.department)
    )
    with pytest.raises(OtherOrganizationError):
        ticket_update(actor=desk.admin, ticket=theirs, data=TicketInput(priority="urgent"))
    theirs.refresh_from_db()
    assert theirs.priority == "medium"


def test_tkt01_owner_must_be_an_agent_of_the_department(desk):
    with pytest.raises(ValidationError) as info:
        desk.ticket(owner=desk.other_agent.user)
    assert "owner" in info.value.message_dict


def test_tkt01_closing_sets_closed_time_and_reopening_clears_it(desk):
    ticket = desk.ticket()
    ticket_update(actor=desk.agent, ticket=ticket, data=TicketInput(status=desk.status("Closed")))
    ticket.refresh_from_db()
    assert ticket.closed_at is not None and ticket.status_kind == "closed"
    ticket_update(actor=desk.agent, ticket=ticket, data=TicketInput(status=desk.status("Open")))
    ticket.refresh_from_db()
    assert ticket.closed_at is None and ticket.status_kind == "open"


def test_tkt05_history_records_actor_ip_and_field_changes(client, desk):
    ticket = desk.ticket()
    login(client, desk.admin)
    client.post(
        url("ticket_properties", number=ticket.number),
        {
            "status": desk.status("On Hold").pk,
            "priority": "urgent",
            "channel": "web",
            "owner": desk.agent.user.pk,
        },
        REMOTE_ADDR="198.51.100.7",
    )
    rows = list(TicketHistory.objects.for_org(desk.org).filter(ticket=ticket))
    assert [r.action for r in rows] == ["created", "updated"]
    assert rows[0].ip_address == "203.0.113.5"
    update = rows[1]
    assert update.actor == desk.admin.user
    assert update.ip_address == "198.51.100.7"
    assert update.changes["status"] == ["Open", "On Hold"]
    assert update.changes["priority"] == ["medium", "urgent"]
    assert update.changes["owner"][1] == "Bob"
    page = client.get(url("ticket_history", number=ticket.number)).content.decode()
    assert "198.51.100.7" in page and "On Hold" in page


def test_tkt05_history_is_written_in_the_same_transaction(desk, monkeypatch):
    """If writing the history fails, the change is rolled back too."""
    ticket = desk.ticket()
    from helpdesk.tickets.services import tickets as service

    def broken(**kwargs):
        raise RuntimeError("history store down")

    monkeypatch.setattr(service, "history_record", broken)
    with pytest.raises(RuntimeError):
        ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(priority="urgent"))
    ticket.refresh_from_db()
    assert ticket.priority == "medium"


def test_org04_agent_cannot_assign_to_someone_else_but_may_take_a_ticket(desk):
    ticket = desk.ticket()
    colleague = desk.restricted.user
    with pytest.raises(PermissionDenied):
        ticket_update(actor=desk.agent, ticket=ticket, data=TicketInput(owner=colleague))
    ticket_update(actor=desk.agent, ticket=ticket, data=TicketInput(owner=desk.agent.user))
    ticket.refresh_from_db()
    assert ticket.owner == desk.agent.user
    ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(owner=colleague))
    ticket.refresh_from_db()
    assert ticket.owner == colleague


def test_org04_restricted_agent_cannot_edit_or_create(client, desk):
    ticket = desk.ticket()
    with pytest.raises(PermissionDenied):
        ticket_update(actor=desk.restricted, ticket=ticket, data=TicketInput(priority="low"))
    login(client, desk.restricted)
    response = client.post(
        url("ticket_properties", number=ticket.number),
        {"status": desk.status("Closed").pk, "priority": "low", "channel": "web"},
    )
    assert response.status_code == 403
    assert client.get(url("ticket_create")).status_code == 403
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.status.name) == ("medium", "Open")


def test_org04_agents_see_only_their_departments_tickets(client, desk):
    ticket = desk.ticket(department=desk.other_department, contact=None)
    login(client, desk.agent)
    assert client.get(url("ticket_detail", number=ticket.number)).status_code == 404
    login(client, desk.other_agent)
    assert client.get(url("ticket_detail", number=ticket.number)).status_code == 200


def test_dep01_department_with_tickets_cannot_be_deleted(client, desk):
    desk.ticket()
    login(client, desk.admin)
    response = client.post(
        reverse("setup:department_delete", kwargs={"portal": "acme", "dept_id": desk.department.pk})
    )
    assert response.status_code == 400
    assert "still has tickets" in response.content.decode()
    assert (
        desk.department.__class__.objects.for_org(desk.org).filter(pk=desk.department.pk).exists()
    )


def test_tkt01_department_change_reloads_statuses_with_htmx(client, desk):
    _field(desk, label="Serial", key="serial", type="text", department=desk.other_department)
    login(client, desk.admin)
    response = client.post(
        url("ticket_create"),
        {"department": desk.other_department.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="department-dependent",
    )
    html = response.content.decode()
    assert html.strip().startswith('<div id="department-dependent">')
    assert "Serial" in html and "Ada" in html and "Bob" not in html
    assert not Ticket.objects.for_org(desk.org).exists()


def test_tkt01_ticket_page_shows_the_due_date_in_local_time(client, desk):
    import datetime as dt

    ticket = desk.ticket(due_at=dt.datetime(2030, 1, 2, 1, 30, tzinfo=dt.UTC))
    login(client, desk.agent)
    page = client.get(url("ticket_detail", number=ticket.number)).content.decode()
    assert 'name="due_at" id="id_due_at" value="2030-01-02T10:30"' in page  # Asia/Tokyo


def test_tkt01_edit_every_field_of_a_ticket(client, desk):
    _field(desk, label="Seats", key="seats", type="number", department=desk.other_department)
    ticket = desk.ticket(priority="low")
    login(client, desk.admin)
    page = client.get(url("ticket_edit", number=ticket.number)).content.decode()
    assert 'value="Printer on fire"' in page and "taro@umbrella.test" in page
    response = client.post(
        url("ticket_edit", number=ticket.number),
        {
            "subject": "Printer fixed?",
            "department": desk.other_department.pk,
            "contact_email": "someone.else@example.com",
            "contact_name": "Else",
            "description": "Now with toner",
            "status": desk.status("On Hold", desk.other_department).pk,
            "priority": "urgent",
            "channel": "email",
            "owner": desk.other_agent.user.pk,
            "due_at": "2031-05-06T07:08",
            "cf_seats": "4",
        },
        REMOTE_ADDR="192.0.2.9",
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    ticket.refresh_from_db()
    assert (
        ticket.subject,
        ticket.department,
        ticket.status.name,
        ticket.priority,
        ticket.channel,
        ticket.owner,
    ) == (
        "Printer fixed?",
        desk.other_department,
        "On Hold",
        "urgent",
        "email",
        desk.other_agent.user,
    )
    assert ticket.contact.email == "someone.else@example.com"
    assert ticket.custom_fields == {"seats": 4}
    change = TicketHistory.objects.for_org(desk.org).filter(ticket=ticket).last()
    assert change.ip_address == "192.0.2.9"
    assert change.changes["subject"] == ["Printer on fire", "Printer fixed?"]
    assert change.changes["department"] == [desk.department.name, "Billing"]


def test_tkt01_edit_with_bad_input_changes_nothing(client, desk):
    ticket = desk.ticket()
    login(client, desk.agent)
    response = client.post(
        url("ticket_edit", number=ticket.number),
        {
            "subject": "",
            "department": desk.department.pk,
            "priority": "medium",
            "channel": "web",
            "contact_email": "not-an-email",
        },
    )
    assert response.status_code == 400
    ticket.refresh_from_db()
    assert ticket.subject == "Printer on fire"
    login(client, desk.restricted)
    assert client.get(url("ticket_edit", number=ticket.number)).status_code == 403


def test_tkt05_history_shows_choice_labels(client, desk):
    ticket = desk.ticket()
    ticket_update(
        actor=desk.admin, ticket=ticket, data=TicketInput(priority="urgent", channel="chat")
    )
    login(client, desk.admin)
    page = client.get(url("ticket_history", number=ticket.number)).content.decode()
    assert "<del>Medium</del> → <ins>Urgent</ins>" in page
    assert "<ins>Chat</ins>" in page


def test_tkt01_moving_a_ticket_requires_an_owner_of_the_new_department(desk):
    ticket = desk.ticket(owner=desk.agent.user)
    with pytest.raises(ValidationError) as info:
        ticket_update(
            actor=desk.admin, ticket=ticket, data=TicketInput(department=desk.other_department)
        )
    assert "owner" in info.value.message_dict
    ticket.refresh_from_db()
    assert ticket.department == desk.department
    ticket_update(
        actor=desk.admin,
        ticket=ticket,
        data=TicketInput(department=desk.other_department, owner=None),
    )
    ticket.refresh_from_db()
    assert (ticket.department, ticket.owner) == (desk.other_department, None)


def test_org04_agent_may_let_go_of_their_own_ticket_only(desk):
    mine = desk.ticket(owner=desk.agent.user)
    ticket_update(actor=desk.agent, ticket=mine, data=TicketInput(owner=None))
    mine.refresh_from_db()
    assert mine.owner is None
    theirs = desk.ticket(owner=desk.restricted.user)
    with pytest.raises(PermissionDenied):
        ticket_update(actor=desk.agent, ticket=theirs, data=TicketInput(owner=None))


# --- Bulk updates (TKT-06) -------------------------------------------------------------------
def _bulk_queries(desk, numbers, action="close", value=None) -> tuple[BulkResult, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        result = tickets_bulk_update(actor=desk.admin, numbers=numbers, action=action, value=value)
    return result, [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("action,value", [("close", None), ("status", "Escalated")])
def test_tkt06_bulk_update_locks_and_reads_the_tickets_once(desk, action, value):
    """One SELECT ... FOR UPDATE reads every ticket; then a few writes per ticket (savepoint,
    UPDATE, history row, release): the count grows by a constant per ticket, never by a
    second read."""
    for n in range(12):
        desk.ticket(subject=f"bulk {n}")
    small, small_sql = _bulk_queries(desk, range(1, 3), action, value)
    large, large_sql = _bulk_queries(desk, range(3, 13), action, value)
    assert (len(small.changed), len(large.changed)) == (2, 10)
    reads = [sql for sql in large_sql if sql.startswith("SELECT") and '"tickets_ticket"' in sql]
    assert len(reads) == 1 and "FOR UPDATE" in reads[0]
    per_ticket = (len(large_sql) - len(small_sql)) / 8
    assert per_ticket <= 4
    assert len(large_sql) <= 4 * 10 + 6


def test_tkt06_bulk_update_with_django_assert_max_num_queries(desk, django_assert_max_num_queries):
    for n in range(20):
        desk.ticket(subject=f"bulk {n}")
    with django_assert_max_num_queries(4 * 20 + 6):
        result = tickets_bulk_update(actor=desk.admin, numbers=range(1, 21), action="close")
    assert len(result.changed) == 20


def test_org01_bulk_update_never_reaches_another_organizations_tickets(desk, globex):
    globex.admin.org = globex.org
    theirs = ticket_create(
        actor=globex.admin, data=TicketInput(subject="Theirs", department=globex.department)
    )
    result = tickets_bulk_update(actor=desk.admin, numbers=[theirs.number], action="close")
    assert result.failed == [(theirs.number, "Not found.")]
    theirs.refresh_from_db()
    assert theirs.status_kind == "open"


def test_org01_bulk_assign_refuses_a_user_of_another_organization(desk, globex):
    desk.ticket()
    with pytest.raises(ValidationError):
        tickets_bulk_update(
            actor=desk.admin, numbers=[1], action="assign", value=globex.admin.user.pk
        )
