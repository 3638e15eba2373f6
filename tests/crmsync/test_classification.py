"""CRM-17: tickets are prioritised and routed by what the CRM knows about the customer.

Acme's CRM (Cora, its CRM admin) syncs with Acme's desk. Big Co is a customer with two open
deals worth 1,200,000 in all (and a won one that does not count); Small KK is a prospect with
one small deal. Alice (Acme's admin) writes a workflow rule: "customer type is customer and
open deals are worth at least 1,000,000 → high priority". Globex is the outsider, whose own
CRM and desk know a Big Co too; in the last tests Globex's CRM syncs with Acme's desk instead,
through a key Alice issued."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crmsync import classification
from crmsync.models import CrmAccount, CrmContact, Deal, Integration, SyncLink
from crmsync.services import integration as svc
from crmsync.services import records as crm
from crmsync.tasks import deliver_task
from customers.models import Contact
from helpdesk.tenancy import rls
from helpdesk.tickets.conditions import ConditionError, parse, schema_for, unregister_provider
from helpdesk.tickets.rules.models import WorkflowRule
from helpdesk.tickets.rules.services import rule_save
from helpdesk.tickets.services.tickets import TicketInput, ticket_create
from tests.conftest import login
from tests.factories import UserFactory

BIG_CUSTOMER = {
    "all": [
        {"field": "crm.customer_type", "op": "is", "value": "customer"},
        {"field": "crm.open_deals_value", "op": "gte", "value": 1000000},
    ]
}


def _crm_admin(tenant, email):
    return tenant.member(
        user=UserFactory(email=email, full_name="CRM Admin"), desk_role="", crm_role="admin"
    )


def _connect_own(admin) -> Integration:
    integration = svc.integration_connect_own(actor=admin)
    integration = svc.integration_options(
        actor=admin,
        integration=integration,
        direction=Integration.Direction.TWO_WAY,
        match_secondary_email=False,
        product_department_ids=[],
    )
    return svc.integration_transition(actor=admin, integration=integration, action="enable")


@pytest.fixture
def cora(acme):
    return _crm_admin(acme, "cora@acme.test")


@pytest.fixture
def sync(cora):
    return _connect_own(cora)


def customer(admin, integration, *, name, type, email, deals):
    """A CRM account with a contact and deals [(stage, amount)], delivered to the desk: the
    desk's contact."""
    org = admin.org
    account = crm.account_save(actor=admin, account=CrmAccount(org=org, name=name, type=type))
    contact = crm.contact_save(
        actor=admin,
        contact=CrmContact(org=org, last_name=name, email=email, account=account),
    )
    for n, (stage, amount) in enumerate(deals):
        crm.deal_save(
            actor=admin,
            deal=Deal(org=org, name=f"{name} {n}", account=account, stage=stage, amount=amount),
        )
    deliver_task(org.pk, integration.pk)
    with _scope(integration.desk_org_id, integration.org_id):
        link = SyncLink.objects.for_org(org).get(kind="contact", crm_id=contact.pk)
    return Contact.objects.for_org(integration.desk_org_id).get(pk=link.desk_id)


def _scope(desk_org_id, crm_org_id):
    """Tests read another organization's CRM rows under its scope, as the code does."""
    return rls.tenant_scope(crm_org_id) if desk_org_id != crm_org_id else _nothing()


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.fixture
def big(cora, sync):
    return customer(
        cora,
        sync,
        name="Big Co",
        type="customer",
        email="buyer@big.test",
        deals=[
            ("proposal", Decimal("800000")),
            ("negotiation", Decimal("400000")),
            ("won", Decimal("5000000")),
        ],
    )


@pytest.fixture
def small(cora, sync):
    return customer(
        cora,
        sync,
        name="Small KK",
        type="prospect",
        email="owner@small.test",
        deals=[("qualification", Decimal("50000"))],
    )


def big_customer_rule(tenant, condition=BIG_CUSTOMER) -> WorkflowRule:
    return rule_save(
        actor=tenant.admin,
        rule=WorkflowRule(
            org=tenant.org,
            name="Big customers first",
            trigger="create",
            field_updates={"priority": "high"},
        ),
        condition=condition,
    )


def ticket(tenant, contact, **data):
    data.setdefault("subject", "Invoice question")
    data.setdefault("department", tenant.department)
    data.setdefault("priority", "medium")
    return ticket_create(
        actor=tenant.admin, data=TicketInput(contact=contact, **data), ip="203.0.113.5"
    )


def rules_url(org, name="rules:rules", **kwargs):
    return reverse(name, kwargs={"portal": org.portal, **kwargs})


# --- The rule fires by the CRM's data ----------------------------------------------------------
def test_crm17_rule_on_customer_type_and_open_deals_value_fires_for_the_big_customer(
    acme, big, small
):
    big_customer_rule(acme)
    assert ticket(acme, big).priority == "high"
    assert ticket(acme, small).priority == "medium"
    # A person the CRM does not know, and a ticket without a contact.
    stranger = Contact.objects.create(org=acme.org, last_name="Nobody", email="no@x.test")
    assert ticket(acme, stranger).priority == "medium"
    assert ticket(acme, None).priority == "medium"


def test_crm17_open_deals_count_only_deals_not_closed_and_route_to_an_owner(acme, big, small):
    from helpdesk.tenancy.models import DepartmentAgent

    bob = acme.member(user=UserFactory(email="bob@acme.test", full_name="Bob"))
    DepartmentAgent.objects.create(org=acme.org, department=acme.department, user=bob.user)
    rule_save(
        actor=acme.admin,
        rule=WorkflowRule(
            org=acme.org,
            name="Two open deals to Bob",
            trigger="create",
            department=acme.department,
            field_updates={"owner": bob.user_id},
        ),
        condition={"field": "crm.open_deals", "op": "is", "value": 2},
    )
    assert ticket(acme, big).owner_id == bob.user_id  # the won deal does not count
    assert ticket(acme, small).owner_id != bob.user_id


def test_crm17_a_contact_without_an_account_is_classified_by_its_own_deals(acme, cora, sync):
    contact = crm.contact_save(
        actor=cora, contact=CrmContact(org=acme.org, last_name="Solo", email="solo@x.test")
    )
    deal = Deal(org=acme.org, name="Solo deal", stage="proposal", amount=Decimal("2000000"))
    crm.deal_save(actor=cora, deal=deal, contacts=[contact])
    deliver_task(acme.org.pk, sync.pk)
    desk_contact = Contact.objects.for_org(acme.org).get(email="solo@x.test")
    big_customer_rule(
        acme, {"field": "crm.open_deals_value", "op": "between", "value": [1000000, 3000000]}
    )
    assert ticket(acme, desk_contact).priority == "high"
    # No account: no customer type.
    facts = classification.facts(ticket(acme, desk_contact))
    assert facts["crm.customer_type"] is None and facts["crm.has_record"] is True


# --- When the integration goes -----------------------------------------------------------------
@pytest.mark.parametrize("how", ["remove", "deactivate"])
def test_crm17_removing_the_integration_stops_the_rule_and_the_rules_page_says_why(
    client, acme, cora, sync, big, how
):
    rule = big_customer_rule(acme)
    assert ticket(acme, big).priority == "high"
    if how == "remove":
        svc.integration_remove(actor=cora, integration=sync)
    else:
        svc.integration_transition(actor=cora, integration=sync, action="deactivate")

    assert ticket(acme, big).priority == "medium"
    assert "crm.customer_type" not in schema_for(acme.org).all_fields()
    login(client, acme.admin)
    home = client.get(rules_url(acme.org))
    assert home.status_code == 200
    page = home.content.decode()
    assert "Criteria unavailable" in page and "no CRM integration syncs with this desk" in page
    edit = client.get(rules_url(acme.org, "rules:workflow_edit", workflow_rule_id=rule.pk))
    assert edit.status_code == 200
    assert "Criteria unavailable" in edit.content.decode()
    assert "crm.customer_type" in edit.content.decode()  # the stored criteria are kept


def test_crm17_a_condition_on_a_crm_field_is_false_whatever_its_operator_once_gone(
    acme, cora, sync, big
):
    """A schema read while the CRM synced (a blueprint keeps its parsed criteria): the CRM's
    fields stay in it, but a negative condition on them does not become true."""
    condition = parse(
        {"field": "crm.customer_type", "op": "is_not", "value": "vendor"},
        schema=schema_for(acme.org),
        org=acme.org,
    )
    from django.utils import timezone

    from helpdesk.tickets.conditions import matches

    made = ticket(acme, big)
    assert matches(condition, made, now=timezone.now())
    svc.integration_remove(actor=cora, integration=sync)
    assert not matches(condition, made, now=timezone.now())


# --- Who has the fields ------------------------------------------------------------------------
def test_crm17_no_crm_fields_without_a_crm_and_none_in_a_schema_for_sql(acme, globex, sync):
    assert "crm.customer_type" not in schema_for(globex.org).all_fields()
    with pytest.raises(ConditionError) as refused:
        parse(BIG_CUSTOMER, schema=schema_for(globex.org), org=globex.org)
    assert "not available" in refused.value.messages[0]
    # Lists of tickets select in SQL: the CRM fields are not offered there.
    assert "crm.customer_type" in schema_for(acme.org).all_fields()
    with pytest.raises(ConditionError, match="one ticket at a time"):
        parse(BIG_CUSTOMER, schema=schema_for(acme.org, sql=True), org=acme.org)


def test_crm17_rule_editor_offers_the_crm_fields_in_a_crm_group(client, acme, globex, sync):
    login(client, acme.admin)
    page = client.get(rules_url(acme.org, "rules:workflow_create")).content.decode()
    for label in ("Customer type (CRM)", "Open deals (CRM)", "Value of open deals (CRM)"):
        assert label in page
    assert '"group": "CRM"' in page
    assert (
        "Customer type (CRM)"
        in client.get(rules_url(acme.org, "rules:assignment_create")).content.decode()
    )
    # Globex has no CRM: its editor does not offer them.
    login(client, globex.admin)
    page = client.get(rules_url(globex.org, "rules:workflow_create")).content.decode()
    assert "Customer type (CRM)" not in page


def test_crm17_saving_a_rule_on_crm_fields_needs_a_crm(client, globex):
    login(client, globex.admin)
    response = client.post(
        rules_url(globex.org, "rules:workflow_create"),
        {
            "name": "Big",
            "trigger": "create",
            "condition_json": '{"all": [{"field": "crm.open_deals", "op": "gt", "value": 1}]}',
            "set_priority": "high",
        },
    )
    assert response.status_code == 400
    assert "no CRM integration syncs with this desk" in response.content.decode()
    assert not WorkflowRule.objects.for_org(globex.org).exists()


# --- Tenancy -----------------------------------------------------------------------------------
def test_crm17_an_outsiders_crm_never_classifies_our_tickets(acme, globex, sync, small):
    """Globex's CRM syncs with Globex's desk and knows a big customer; one of its links even
    names our contact's id. Our rule reads only the CRM that syncs with our desk."""
    gina = _crm_admin(globex, "gina@globex.test")
    theirs = _connect_own(gina)
    customer(
        gina,
        theirs,
        name="Big Co",
        type="customer",
        email="buyer@big.test",
        deals=[("proposal", Decimal("9000000"))],
    )
    their_contact = CrmContact.objects.for_org(globex.org).get()
    SyncLink.objects.filter(org=globex.org, kind="contact").delete()
    SyncLink.objects.create(
        org=globex.org,
        integration=theirs,
        kind="contact",
        crm_id=their_contact.pk,
        desk_id=small.pk,
    )
    big_customer_rule(acme)
    assert ticket(acme, small).priority == "medium"
    assert classification.facts(ticket(acme, small))["crm.customer_type"] == "prospect"


@pytest.fixture
def globex_crm_to_acme_desk(acme, globex):
    """Globex's CRM syncs with Acme's desk, with a key Alice issued."""
    key_row, key = svc.key_issue(actor=acme.admin, label="Globex sales")
    gina = _crm_admin(globex, "gina@globex.test")
    integration = svc.integration_connect_other(
        actor=gina, portal=acme.org.portal, admin_email="alice@acme.test", key=key
    )
    integration = svc.integration_options(
        actor=gina,
        integration=integration,
        direction=Integration.Direction.TWO_WAY,
        match_secondary_email=False,
        product_department_ids=[],
    )
    integration = svc.integration_transition(actor=gina, integration=integration, action="enable")
    return gina, integration, key_row


def test_crm17_another_organizations_crm_classifies_under_its_scope_until_the_key_is_revoked(
    acme, globex_crm_to_acme_desk
):
    gina, integration, key_row = globex_crm_to_acme_desk
    big = customer(
        gina,
        integration,
        name="Big Co",
        type="customer",
        email="buyer@big.test",
        deals=[("proposal", Decimal("1500000"))],
    )
    big_customer_rule(acme)
    # As a request of Acme's desk runs: under Acme's row-level-security scope.
    with rls.tenant_scope(acme.org.pk):
        assert ticket(acme, big).priority == "high"
    svc.key_revoke(actor=acme.admin, key=key_row)
    with rls.tenant_scope(acme.org.pk):
        assert ticket(acme, big).priority == "medium"


# --- Cost --------------------------------------------------------------------------------------
def _create_queries(tenant, contact) -> int:
    ticket(tenant, contact)  # warm: layouts, the cached CRMs of the desk
    with CaptureQueriesContext(connection) as queries:
        ticket(tenant, contact)
    return len(queries.captured_queries)


def test_crm17_the_registry_costs_nothing_without_a_crm(acme, globex):
    rule_save(
        actor=globex.admin,
        rule=WorkflowRule(
            org=globex.org,
            name="Urgent is high",
            trigger="create",
            field_updates={"priority": "high"},
        ),
        condition={"field": "subject", "op": "contains", "value": "urgent"},
    )
    contact = Contact.objects.create(org=globex.org, last_name="Ito", email="ito@x.test")
    with_registry = _create_queries(globex, contact)
    unregister_provider(classification.PREFIX)
    try:
        without = _create_queries(globex, contact)
    finally:
        classification.register()
    assert with_registry == without


def test_crm17_a_crm_rule_costs_at_most_three_queries_per_ticket(acme, big):
    plain = {"field": "subject", "op": "contains", "value": "invoice"}  # fires as well
    rule = big_customer_rule(acme, plain)
    before = _create_queries(acme, big)
    rule_save(actor=acme.admin, rule=rule, condition=BIG_CUSTOMER)
    assert _create_queries(acme, big) - before <= 3
