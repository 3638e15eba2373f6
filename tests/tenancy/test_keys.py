"""ORG-01: composite keys (helpdesk/tenancy/keys.py). Every tenant table's primary key is
(org_id, id) and every reference between tenant tables is (org_id, x_id) -> (org_id, id), so
the schema can be distributed by org_id on Citus and the database itself refuses a row that
points into another organization: the third wall."""

from __future__ import annotations

import pytest
from django.core import checks
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test.utils import isolate_apps

from helpdesk.tenancy import keys
from helpdesk.tenancy.checks import tenant_reference_errors
from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import Department, DepartmentAgent, Membership, TenantModel
from tests.factories import UserFactory


def _database_errors() -> list[str]:
    return [
        e.id
        for e in checks.run_checks(databases=[DEFAULT_DB_ALIAS], tags=[checks.Tags.database])
        if e.id.startswith("tenancy.")
    ]


def test_org01_catalog_check_passes_on_the_migrated_database(db):
    assert keys.problems() == []
    assert _database_errors() == []
    primary = {c.table: c.columns for c in keys.constraints() if c.kind == "p"}
    assert primary["tickets_ticket"] == ("org_id", "id")
    assert primary["customers_contact"] == ("org_id", "id")
    assert primary["tenancy_user"] == ("id",)  # global tables keep theirs


def test_org01_catalog_check_fails_on_tables_built_the_old_way(db):
    keys.unsync()  # id primary keys, no composite references: the schema before this issue
    problems = keys.problems()
    assert "tickets_ticket: primary key ('id',) is not (org_id, id)" in problems
    assert (
        "tickets_ticket: foreign key ('org_id', 'contact_id') -> customers_contact is missing"
        in problems
    )
    assert "tenancy.E005" in _database_errors()


@isolate_apps("helpdesk.tenancy")
def test_org01_model_check_refuses_a_plain_foreign_key_between_tenant_models():
    from django.db import models

    class Widget(TenantModel):
        department = models.ForeignKey(Department, on_delete=models.CASCADE)
        place = TenantForeignKey(Department, on_delete=models.CASCADE, related_name="+")

        class Meta:
            app_label = "tenancy"

    errors = tenant_reference_errors(Widget)
    assert [(e.id, "Widget.department" in e.msg) for e in errors] == [("tenancy.E006", True)]


def test_org01_database_refuses_a_place_for_someone_not_a_member(acme, globex):
    outsider = globex.admin.user
    with pytest.raises(IntegrityError, match="violates foreign key"), transaction.atomic():
        DepartmentAgent.objects.create(org=acme.org, department=acme.department, user=outsider)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    member = UserFactory()
    Membership.objects.create(org=acme.org, user=member)
    with transaction.atomic():
        DepartmentAgent.objects.create(org=acme.org, department=acme.department, user=member)
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


BEFORE = [
    ("tenancy", "0003_row_level_security"),
    ("customers", "0001_initial"),
    ("tickets", "0001_initial"),
]


@pytest.mark.django_db(transaction=True)
def test_org01_migrations_apply_to_an_existing_database_with_rows():
    """From the schema before composite keys, with rows in it, to the latest: the rows stay,
    the keys are composite, and the data satisfied them all along."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    Organization = old.get_model("tenancy", "Organization")
    User = old.get_model("tenancy", "User")
    Dept = old.get_model("tenancy", "Department")
    OldMembership = old.get_model("tenancy", "Membership")
    Agent = old.get_model("tenancy", "DepartmentAgent")
    Status = old.get_model("tickets", "TicketStatus")
    Contact = old.get_model("customers", "Contact")
    Ticket = old.get_model("tickets", "Ticket")
    Thread = old.get_model("tickets", "Thread")

    org = Organization.objects.create(name="Old Co", portal="old-co")
    user = User.objects.create(email="old@old-co.test")
    OldMembership.objects.create(org=org, user=user, status="active")
    dept = Dept.objects.create(org=org, name="Support")
    Agent.objects.create(org=org, department=dept, user=user)
    status = Status.objects.create(org=org, department=dept, name="Open", kind="open", order=0)
    contact = Contact.objects.create(org=org, last_name="Customer", email="c@old-co.test")
    ticket = Ticket.objects.create(
        org=org,
        number=1,
        subject="Before the keys",
        department=dept,
        status=status,
        status_kind="open",
        contact=contact,
    )
    Thread.objects.create(org=org, ticket=ticket, kind="reply", body="Hello")
    assert keys.problems() != []

    call_command("migrate", verbosity=0)  # as a deployment runs it (with its post-migrate sync)
    assert keys.problems() == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.subject, c.email, count(th.id) FROM tickets_ticket t"
            " JOIN customers_contact c ON (c.org_id, c.id) = (t.org_id, t.contact_id)"
            " JOIN tickets_thread th ON (th.org_id, th.ticket_id) = (t.org_id, t.id)"
            " WHERE t.id = %s GROUP BY t.subject, c.email",
            [ticket.id],
        )
        assert cursor.fetchone() == ("Before the keys", "c@old-co.test", 1)


def test_org01_a_members_places_go_with_the_membership(acme):
    """A user's places (department agent, team member, followed tickets, saved views...) are
    keyed to the membership with ON DELETE CASCADE: removing the member never trips over one
    (the database deleted them) and leaves none behind."""
    user = UserFactory()
    membership = Membership.objects.create(org=acme.org, user=user)
    DepartmentAgent.objects.create(org=acme.org, department=acme.department, user=user)
    with transaction.atomic():
        membership.delete()  # Django knows nothing of the place: it references the user
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert not DepartmentAgent.objects.for_org(acme.org).filter(user=user).exists()
    places = [k for k in keys.tenant_keys() if k.target_columns == ("org_id", "user_id")]
    assert places and all(k.cascade for k in places)
