"""`helpdesk.compiledreads`: a read compiled once returns what the ORM's own read returns,
related objects included, for any arguments, and never another organization's row."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Account, Contact
from helpdesk.compiledreads import CompiledRead
from helpdesk.tickets.models import Ticket
from helpdesk.tickets.services.tickets import TicketInput, ticket_create

READ = CompiledRead(
    lambda org_id, pk: (
        Ticket.objects.filter(org_id=org_id, pk=pk)
        .select_related("status", "department", "contact", "account", "owner")
        .defer("search_vector")
    )
)


@pytest.fixture
def tickets(acme, globex):
    account = Account.objects.create(org=acme.org, name="Umbrella")
    contact = Contact.objects.create(
        org=acme.org, last_name="Yamada", email="taro@umbrella.test", account=account
    )
    mine = [
        ticket_create(
            actor=acme.admin,
            data=TicketInput(subject=subject, department=acme.department, contact=contact),
        )
        for subject in ("Printer", "Scanner")
    ]
    theirs = ticket_create(
        actor=globex.admin, data=TicketInput(subject="Globex's", department=globex.department)
    )
    return mine, theirs


def test_tkt05_a_compiled_read_equals_the_orms_with_its_related_objects(acme, tickets):
    mine, _theirs = tickets
    for ticket in mine:  # the second call runs the first call's SQL with new values
        orm = (
            Ticket.objects.for_org(acme.org)
            .select_related("status", "department", "contact", "account", "owner")
            .get(pk=ticket.pk)
        )
        with CaptureQueriesContext(connection) as queries:
            read = READ(org_id=acme.org.pk, pk=ticket.pk)
            assert (read.subject, read.status.name, read.department.name) == (
                orm.subject,
                orm.status.name,
                orm.department.name,
            )
            assert read.contact.email == "taro@umbrella.test"
            assert read.account.name == "Umbrella"
            assert read.owner == orm.owner
            assert read.custom_fields == orm.custom_fields
            assert read.created_at == orm.created_at
        assert len(queries) == 1  # the related objects came with it


def test_tkt05_a_compiled_read_finds_nothing_across_organizations(acme, tickets):
    _mine, theirs = tickets
    assert READ(org_id=acme.org.pk, pk=theirs.pk) is None
    assert READ(org_id=theirs.org_id, pk=theirs.pk).subject == "Globex's"


def test_tkt05_an_id_no_bigint_holds_finds_nothing_without_asking_the_database(acme, tickets):
    """An address typed by hand may carry any number: none, as the ORM's lookup answers."""
    mine, _theirs = tickets
    READ(org_id=acme.org.pk, pk=mine[0].pk)  # compiled
    with CaptureQueriesContext(connection) as queries:
        assert READ(org_id=acme.org.pk, pk=2**63) is None
        assert READ(org_id=-(2**63) - 1, pk=mine[0].pk) is None
        assert READ.all(org_id=acme.org.pk, pk=10**30) == []
    assert len(queries) == 0
    assert READ(org_id=acme.org.pk, pk=mine[0].pk).subject == "Printer"


def test_a_compiled_read_refuses_an_argument_its_query_does_not_use(db):
    unused = CompiledRead(lambda org_id, pk: Ticket.objects.filter(pk=pk))
    with pytest.raises(ValueError, match="every argument"):
        unused(org_id=1, pk=1)


def test_org01_a_compiled_read_takes_names_as_they_are(acme, globex):
    """A string argument (a portal's name) is compared exactly: another portal, a prefix or a
    name with SQL in it finds nothing."""
    from helpdesk.tenancy.models import Organization

    by_portal = CompiledRead(lambda portal: Organization.objects.filter(portal=portal))
    assert by_portal(portal=acme.org.portal) == acme.org
    assert by_portal(portal=globex.org.portal) == globex.org
    assert by_portal(portal=acme.org.portal[:-1]) is None
    assert by_portal(portal="x' OR '1'='1") is None


def test_tkt01_a_compiled_read_lists_every_row_in_order(acme, tickets):
    """`.all()` returns every matching instance in the queryset's order, for any arguments."""
    mine, _theirs = tickets
    newest_first = CompiledRead(
        lambda org_id, department_id: (
            Ticket.objects.filter(org_id=org_id, department_id=department_id)
            .select_related("status")
            .order_by("-pk")
        )
    )
    found = newest_first.all(org_id=acme.org.pk, department_id=acme.department.pk)
    assert [t.pk for t in found] == sorted((t.pk for t in mine), reverse=True)
    assert {t.status.name for t in found} == {mine[0].status.name}
    assert newest_first.all(org_id=acme.org.pk, department_id=-1) == []
