"""Issue 16: schemathesis against the served OpenAPI schema, on a bounded budget. Every
operation is called with generated input (valid and not): no answer is a 5xx, and every
answer matches the schema (status documented, body and content type as described)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from customers.models import Account, Contact, Product
from helpdesk.tickets.services.threads import thread_add
from helpdesk.tickets.services.tickets import TicketInput, ticket_create
from tests.api.conftest import issue
from tests.conftest import login

pytestmark = pytest.mark.django_db

# No 5xx, and every answer as the schema describes it. Not "schema-valid input is accepted":
# input the schema allows may still be refused by a service (a 422 with the form's errors,
# e.g. a subject of spaces, an unknown cursor), which is the point of the services.
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 15  # per operation: the budget bin/test can afford on every run


@contextmanager
def wsgi_app():
    """Django's WSGI application inside the test's transaction: like Django's test client,
    it must not close the connection at each request's start and end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def test_api_schemathesis_no_server_error_and_responses_match_schema(client, acme, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 0  # fuzzing is not throttled
    acme.admin.org = acme.org
    account = Account.objects.create(org=acme.org, name="Initech")
    contact = Contact.objects.create(org=acme.org, last_name="Kim", email="kim@x.test")
    Product.objects.create(org=acme.org, name="Widget", department=acme.department)
    ticket = ticket_create(
        actor=acme.admin,
        data=TicketInput(subject="Printer", department=acme.department, contact=contact),
    )
    thread_add(actor=acme.admin, ticket=ticket, kind="comment", body="note")
    assert account.pk and ticket.number == 1

    login(client, acme.admin)
    raw = client.get("/acme/api/v1/openapi.json").json()  # the schema as served
    schema = schemathesis.openapi.from_dict(raw)
    token = issue(acme.admin)
    headers = {"Authorization": f"Bearer {token}"}

    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 17
    strategies = [
        operation.as_strategy(mode)
        for operation in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    ]
    with wsgi_app() as app:
        for strategy in strategies:

            @given(case=strategy)
            @hypothesis_settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
                derandomize=True,
            )
            def run(case):
                case.call_and_validate(app=app, headers=headers, checks=CHECKS)

            run()
