"""TKT-09 (issue 10, performance): the rules the pipeline reads on every ticket are kept per
process under the organization's settings version, and every change reaches the next ticket
at once: through the services, through the ORM, rolled back, and made in another process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from helpdesk.tickets.rules import version
from helpdesk.tickets.rules.models import SettingsVersion, WorkflowRule
from helpdesk.tickets.rules.services import rule_delete, rule_enable, rule_save
from helpdesk.tickets.services.tickets import TicketInput, ticket_update


def _token(org):
    return SettingsVersion.objects.filter(org=org).values_list("token", flat=True).first()


def _touch(desk, ticket, subject):
    """An update the "urgent on update" rule answers: the priority the ticket ends with."""
    ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(subject=subject))
    ticket.refresh_from_db()
    return ticket.priority


def _urgent_on_update(make_rule, **fields):
    return make_rule(
        name="Urgent on update",
        trigger="update",
        condition={},
        field_updates={"priority": "urgent"},
        **fields,
    )


@pytest.mark.django_db
def test_tkt09_every_rule_change_renews_the_version_and_reaches_the_next_ticket(desk, make_rule):
    ticket = desk.ticket(priority="low")
    assert _touch(desk, ticket, "Cached: no rule yet") == "low"
    seen = {_token(desk.org)}

    def renewed():
        token = _token(desk.org)
        assert token not in seen
        seen.add(token)

    rule = _urgent_on_update(make_rule, department=desk.department)  # through the ORM
    renewed()
    assert _touch(desk, ticket, "Rule created") == "urgent"

    rule_enable(actor=desk.admin, rule=rule, enabled=False)
    renewed()
    ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(priority="low"))
    assert _touch(desk, ticket, "Rule disabled") == "low"

    rule.is_enabled = True
    rule.department = desk.other_department
    rule_save(actor=desk.admin, rule=rule, condition={})
    renewed()
    assert _touch(desk, ticket, "Rule moved to Billing") == "low"

    rule.department = None
    rule_save(actor=desk.admin, rule=rule, condition={})
    renewed()
    assert _touch(desk, ticket, "Rule for every department") == "urgent"

    rule_delete(actor=desk.admin, rule=rule)
    renewed()
    ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(priority="low"))
    assert _touch(desk, ticket, "Rule deleted") == "low"


@pytest.mark.django_db
def test_tkt09_a_rolled_back_rule_change_leaves_nothing_in_the_cache(desk, make_rule):
    ticket = desk.ticket(priority="low")
    assert _touch(desk, ticket, "Cached") == "low"
    with pytest.raises(RuntimeError), transaction.atomic():
        _urgent_on_update(make_rule)
        assert _touch(desk, ticket, "Inside the admin's transaction") == "urgent"
        raise RuntimeError("the admin's request failed")
    ticket.refresh_from_db()
    ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(priority="low"))
    assert _touch(desk, ticket, "After the rollback") == "low"


@pytest.mark.django_db
def test_tkt09_rules_are_read_once_per_version_not_per_ticket(desk, make_rule):
    _urgent_on_update(make_rule)
    first, second = desk.ticket(priority="low"), desk.ticket(priority="low")
    _touch(desk, first, "Reads the rules")
    with CaptureQueriesContext(connection) as captured:
        _touch(desk, second, "Reads the version only")
    sql = [q["sql"] for q in captured.captured_queries]
    assert not any("rules_workflowrule" in q for q in sql)
    assert sum("rules_settingsversion" in q for q in sql) == 1  # once for the whole pipeline
    second.refresh_from_db()
    assert second.priority == "urgent"


@pytest.mark.django_db(transaction=True)
def test_tkt09_a_rule_changed_in_another_process_reaches_this_one(desk, make_rule):
    """The cache is per process: another process (a web worker of the admin) disables the
    rule; this one, whose cache holds the rule, sees the change at its next ticket."""
    rule = _urgent_on_update(make_rule)
    ticket = desk.ticket(priority="low")
    assert _touch(desk, ticket, "Cached here") == "urgent"
    settings = connection.settings_dict
    url = (
        f"postgres://{settings['USER']}:{settings['PASSWORD']}@{settings['HOST'] or '127.0.0.1'}"
        f":{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    script = textwrap.dedent(
        f"""
        import django
        django.setup()
        from helpdesk.tickets.rules.models import WorkflowRule
        rule = WorkflowRule.objects.get(pk={rule.pk})
        rule.is_enabled = False
        rule.save()
        """
    )
    root = Path(__file__).resolve().parents[3]
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "DB_RUNTIME_ROLE": "",
        "DJANGO_SETTINGS_MODULE": "helpdesk.settings",
    }
    before = _token(desk.org)
    subprocess.run([sys.executable, "-c", script], cwd=root, env=env, check=True, timeout=120)
    assert _token(desk.org) != before  # renewed by the other process
    assert not WorkflowRule.objects.get(pk=rule.pk).is_enabled
    ticket_update(actor=desk.admin, ticket=ticket, data=TicketInput(priority="low"))
    assert _touch(desk, ticket, "Changed elsewhere") == "low"
    version.forget()
