"""TKT-04 solutions: one per ticket, rich text sanitised, edited with history, reused as a
department canned response through the canned-response service."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from helpdesk.tenancy.guards import OtherOrganizationError
from helpdesk.tickets.canned.models import CannedResponse
from helpdesk.tickets.collab.models import Solution
from helpdesk.tickets.collab.services.solutions import solution_reuse_as_canned, solution_save
from helpdesk.tickets.models import TicketHistory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(desk):
    return desk.ticket()


def test_tkt04_solution_is_sanitised_edited_and_has_history(desk, ticket):
    solution_save(
        actor=desk.agent,
        ticket=ticket,
        body="<p>Restart <strong>the spooler</strong><script>alert(1)</script></p>",
        body_format="html",
        ip="203.0.113.9",
    )
    solution = Solution.objects.for_org(desk.org).get(ticket=ticket)
    assert "<strong>the spooler</strong>" in solution.body and "script" not in solution.body
    solution_save(actor=desk.admin, ticket=ticket, body="a<b>c & d", body_format="text")
    solution.refresh_from_db()
    assert solution.body == "<p>a&lt;b&gt;c &amp; d</p>" and solution.updated_by == desk.admin.user
    assert Solution.objects.for_org(desk.org).count() == 1  # one per ticket
    rows = list(
        TicketHistory.objects.for_org(desk.org)
        .filter(action__startswith="solution_")
        .order_by("pk")
        .values_list("action", "changes", "ip_address")
    )
    assert rows == [
        ("solution_added", {"solution": [None, "Restart the spooler"]}, "203.0.113.9"),
        ("solution_updated", {"solution": ["Restart the spooler", "a<b>c & d"]}, None),
    ]


def test_tkt04_empty_solution_and_restricted_agent_are_refused(desk, ticket):
    with pytest.raises(ValidationError) as exc:
        solution_save(actor=desk.agent, ticket=ticket, body="<p><br></p>", body_format="html")
    assert exc.value.message_dict == {"body": ["Write the solution."]}
    with pytest.raises(PermissionDenied):
        solution_save(actor=desk.restricted, ticket=ticket, body="x")
    assert not Solution.objects.for_org(desk.org).exists()


def test_tkt04_reuse_as_department_canned_response(desk, ticket):
    solution_save(
        actor=desk.agent, ticket=ticket, body="<p>Restart <em>it</em></p>", body_format="html"
    )
    canned = solution_reuse_as_canned(actor=desk.admin, ticket=ticket, title="Restart")
    assert (canned.department, canned.owner, canned.body) == (desk.department, None, "Restart it")
    assert TicketHistory.objects.for_org(desk.org).filter(action="solution_reused").exists()
    with pytest.raises(ValidationError, match="already has a response with this title"):
        solution_reuse_as_canned(actor=desk.admin, ticket=ticket, title="restart")
    # Department canned responses are the Desk admins' (the canned service refuses agents).
    with pytest.raises(PermissionDenied):
        solution_reuse_as_canned(actor=desk.agent, ticket=ticket, title="Mine")
    assert CannedResponse.objects.for_org(desk.org).count() == 1


def test_tkt04_reuse_needs_a_solution_and_a_title(desk, ticket):
    with pytest.raises(ValidationError, match="no solution"):
        solution_reuse_as_canned(actor=desk.admin, ticket=ticket, title="x")
    solution_save(actor=desk.agent, ticket=ticket, body="Use {{ticket.nope}}")
    with pytest.raises(ValidationError):
        solution_reuse_as_canned(actor=desk.admin, ticket=ticket, title=" ")
    with pytest.raises(ValidationError, match="ticket.nope"):
        solution_reuse_as_canned(actor=desk.admin, ticket=ticket, title="Bad")


def test_tkt04_solution_of_another_organization_is_refused(desk, ticket, globex):
    globex.admin.org = globex.org
    with pytest.raises(OtherOrganizationError):
        solution_save(actor=globex.admin, ticket=ticket, body="x")
    with pytest.raises(OtherOrganizationError):
        solution_reuse_as_canned(actor=globex.admin, ticket=ticket, title="x")
