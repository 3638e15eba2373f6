"""ORG-01: row-level security, the second wall between organizations (helpdesk/tenancy/rls.py).

The suite logs in as the tables' owner (so fixtures can build two organizations); requests
and tasks switch to the runtime role. The tests below check the wall itself, under the
runtime role, and once with a real login as that role, as production connects."""

from __future__ import annotations

import pathlib
import re

import psycopg
import pytest
from celery import shared_task
from django.conf import settings
from django.core import checks
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.utils import ProgrammingError

from helpdesk.tenancy import crosstenant, rls
from helpdesk.tenancy.models import Department, Membership
from tests.conftest import login
from tests.factories import MembershipFactory, UserFactory

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _session_state() -> tuple[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, coalesce(current_setting(%s, true), '')", [settings.DB_ORG]
        )
        return cursor.fetchone()


def test_org01_runtime_role_sees_only_the_current_organization(acme, globex):
    with rls.tenant_scope(acme.org.id):
        names = {d.org_id for d in Department.objects.all()}  # deliberately unscoped
        members = set(Membership.objects.values_list("org_id", flat=True))
    assert names == {acme.org.id}
    assert members == {acme.org.id}
    with rls.tenant_scope(globex.org.id):
        assert {d.org_id for d in Department.objects.all()} == {globex.org.id}


def test_org01_no_organization_set_means_no_rows(acme, globex):
    with rls.tenant_scope(None):
        assert Department.objects.count() == 0
        assert not Membership.objects.exists()
    # Outside any scope the owner (this test) sees both again.
    assert Department.objects.filter(org__in=[acme.org, globex.org]).count() == 2


def test_org01_runtime_role_cannot_write_into_another_organization(acme, globex):
    department = Department.objects.for_org(globex.org).get()
    with rls.tenant_scope(acme.org.id):
        # Another organization's row is invisible, so an update touches nothing...
        assert Department.objects.filter(pk=department.pk).update(name="Pwned") == 0
        # ...and a new row for it is refused by the policy's WITH CHECK.
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            Department.objects.create(org=globex.org, name="Smuggled")
    department.refresh_from_db()
    assert department.name != "Pwned"


def test_org01_scopes_nest_and_restore_what_was_there(acme, globex):
    owner = _session_state()
    with rls.tenant_scope(acme.org.id):
        with rls.tenant_scope(globex.org.id):
            assert rls.current_org_id() == globex.org.id
        assert rls.current_org_id() == acme.org.id
        assert _session_state()[0] == settings.DB_RUNTIME_ROLE
    assert _session_state() == owner


def test_org01_request_leaves_no_organization_on_the_connection(client, acme, globex):
    """A pooled connection never carries one request's organization into the next: after each
    request, whatever its outcome, the connection is back to its own role and no org."""
    before = _session_state()
    login(client, acme.admin)
    assert client.get("/acme/desk/").status_code == 200
    assert _session_state() == before
    assert client.get("/acme/desk/tickets/999999/").status_code == 404
    assert _session_state() == before
    assert client.get("/globex/desk/").status_code == 404
    assert _session_state() == before


def test_org01_pool_reset_forgets_role_and_organization(acme):
    """The pool's reset callback: a connection handed back with a request's state is clean."""
    reset = settings.DATABASES["default"]["OPTIONS"]["pool"]["reset"]
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as raw:
        raw.execute(
            "SELECT set_config('role', %s, false), set_config(%s, %s, false)",
            [settings.DB_RUNTIME_ROLE, settings.DB_ORG, str(acme.org.id)],
        )
        reset(raw)
        user, session_user, org = raw.execute(
            "SELECT current_user, session_user, current_setting(%s, true)", [settings.DB_ORG]
        ).fetchone()
    assert user == session_user
    assert org == ""


@shared_task
def _probe_org(org_id: int | None = None) -> int | None:
    return rls.current_org_id()


def test_org01_every_task_runs_in_its_organization(acme):
    assert _probe_org.delay(org_id=acme.org.id).get() == acme.org.id
    assert _probe_org.delay(acme.org.id).get() == acme.org.id
    assert _probe_org.delay().get() is None
    assert rls.current_org_id() is None


def test_org01_every_tenant_table_has_its_policy(db):
    assert rls.tables_without_policy() == []
    errors = checks.run_checks(databases=[DEFAULT_DB_ALIAS], tags=[checks.Tags.database])
    assert [e.id for e in errors if e.id.startswith("tenancy.")] == []


def test_org01_system_check_fails_on_a_table_without_policy(db):
    with connection.cursor() as cursor:
        cursor.execute(f"DROP POLICY {rls.POLICY} ON tenancy_holiday")
    errors = checks.run_checks(databases=[DEFAULT_DB_ALIAS], tags=[checks.Tags.database])
    assert [(e.id, "tenancy_holiday" in e.msg) for e in errors] == [("tenancy.E004", True)]


def test_org01_crosstenant_reads_a_persons_own_memberships(acme, globex):
    user = UserFactory()
    MembershipFactory(org=acme.org, user=user)
    MembershipFactory(org=globex.org, user=user)
    with rls.tenant_scope(acme.org.id):  # a request's scope does not narrow it
        mine = crosstenant.memberships_of(user)
        assert rls.current_org_id() == acme.org.id  # and it leaves the scope as it was
    assert sorted(m.org.portal for m in mine) == ["acme", "globex"]


CROSS_TENANT_CALLERS = {
    # module: why it must read across organizations
    "helpdesk/tenancy/views/account.py": "sign-in landing and 'my organizations'",
    "helpdesk/tenancy/services/invitations.py": "the stale-invitation sweep",
    "helpdesk/tenancy/rls.py": "grants the cross-tenant role its tables",
    "sla/sweep.py": "the SLA sweep: which organizations have due escalations",
    "chat/services/missed.py": "the missed-chat sweep: which organizations have due chats",
    "crmsync/connector.py": "a CRM linked to another organization's desk: its key and users",
}


IMPORTS_CROSSTENANT = re.compile(
    r"^\s*(from\s+\S*crosstenant\s+import|from\s+\S+\s+import\s+[^\n]*\bcrosstenant\b"
    r"|import\s+\S*crosstenant)",
    re.MULTILINE,
)


def test_org01_crosstenant_callers_are_allow_listed():
    callers = set()
    for folder in ("helpdesk", "customers", "blueprints", "crmsync", "chat", "sla"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text()
            if IMPORTS_CROSSTENANT.search(text) and path.name != "crosstenant.py":
                callers.add(str(path.relative_to(ROOT)))
    assert callers == set(CROSS_TENANT_CALLERS)


# --- As production connects: a real login as each role ------------------------------------
def _login_as(role: str) -> psycopg.Connection:
    params = connections[DEFAULT_DB_ALIAS].get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    params.update(user=role, password="")
    return psycopg.connect(**params, autocommit=True)


@pytest.mark.django_db(transaction=True)
def test_org01_runtime_login_role_is_walled_in(acme, globex):
    with _login_as(settings.DB_RUNTIME_ROLE) as conn:
        assert conn.execute("SELECT count(*) FROM tenancy_department").fetchone() == (0,)
        conn.execute("SELECT set_config(%s, %s, false)", [settings.DB_ORG, str(acme.org.id)])
        rows = conn.execute("SELECT DISTINCT org_id FROM tenancy_membership").fetchall()
        assert rows == [(acme.org.id,)]
        attrs = conn.execute(
            "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert attrs == (False, False)
        owner = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = 'tenancy_department'"
        ).fetchone()[0]
        assert owner != settings.DB_RUNTIME_ROLE
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("ALTER TABLE tenancy_department DISABLE ROW LEVEL SECURITY")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(f"SET ROLE {settings.DB_CROSS_ROLE}")


@pytest.mark.django_db(transaction=True, databases=["default", "cross"])
def test_org01_crosstenant_uses_its_own_connection_and_role(acme, globex, settings):
    settings.CROSS_TENANT_DATABASE = "cross"
    user = UserFactory()
    MembershipFactory(org=acme.org, user=user)
    MembershipFactory(org=globex.org, user=user)
    assert sorted(m.org.portal for m in crosstenant.memberships_of(user)) == ["acme", "globex"]
    assert connections["cross"].settings_dict["USER"] == settings.DB_CROSS_ROLE
    with _login_as(settings.DB_CROSS_ROLE) as conn:
        # Read-only, and only the tables it was given.
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM tenancy_membership")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT count(*) FROM tenancy_department")


@pytest.mark.django_db(transaction=True)
def test_org01_crosstenant_role_reads_only_the_columns_a_sweep_needs(acme):
    """The missed-chat sweep learns which organizations have due chats from `chat_conversation`,
    whose rows also hold the visitor's name, address and token hash: the cross-tenant role may
    read the sweep's columns and no other."""
    with _login_as(settings.DB_CROSS_ROLE) as conn:
        conn.execute(
            "SELECT org_id, min(due_at) FROM chat_conversation WHERE state = 'waiting'"
            " GROUP BY org_id"
        )
        for column in ("visitor_email", "visitor_name", "visitor_ip", "token_hash"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"SELECT {column} FROM chat_conversation")  # noqa: S608
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("SELECT * FROM chat_conversation")


def test_org01_search_keeps_its_index_under_row_level_security(db):
    """PostgreSQL applies a policy before any condition whose function is not LEAKPROOF, and
    then cannot use an index for it: the full-text match is marked so that the ticket search
    keeps its GIN index under RLS (bench/tickets.py: 1.8 s a page without it)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bool_and(proleakproof) FROM pg_proc WHERE oid = ANY(%s::regprocedure[])",
            [list(rls.LEAKPROOF_FUNCTIONS)],
        )
        assert cursor.fetchone() == (True,)
