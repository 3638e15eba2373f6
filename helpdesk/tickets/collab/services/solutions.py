"""A ticket's solution (TKT-04): one per ticket, rich text from the editor (sanitised like
every message, TKT-02), editable with history, reusable as a department canned response."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from helpdesk.tenancy.models import Membership

from ...canned.models import CannedResponse
from ...canned.services import canned_response_save
from ...html import TEXT, BodyFormat, body_to_html, html_to_text, is_blank
from ...models import Ticket
from ...services.access import ensure_ticket_can
from ...services.history import history_record
from ..models import Solution

MAX_LENGTH = 50_000
HISTORY_TEXT = 1000  # history keeps readable text, as for the description


def ticket_solution(*, ticket: Ticket) -> Solution | None:
    return Solution.objects.for_org(ticket.org_id).filter(ticket=ticket).first()


@transaction.atomic
def solution_save(
    *,
    actor: Membership,
    ticket: Ticket,
    body: str,
    body_format: BodyFormat = TEXT,
    ip: str | None = None,
) -> Solution:
    """Write or change the ticket's solution. Refused (403) for roles that may not edit and on
    a shared ticket without full access; an empty or oversized text is a ValidationError.
    The row is locked while it changes, so two editors queue and each sees the other's text
    in the history's "before"."""
    ensure_ticket_can(actor, ticket, "solution")
    clean = body_to_html(body or "", body_format)
    if is_blank(clean):
        raise ValidationError({"body": [_("Write the solution.")]})
    if len(clean) > MAX_LENGTH:
        raise ValidationError({"body": [_("The solution is too long.")]})
    solution = Solution.objects.for_org(actor.org).select_for_update().filter(ticket=ticket).first()
    before = html_to_text(solution.body)[:HISTORY_TEXT] if solution else None
    if solution is None:
        solution = Solution(org_id=ticket.org_id, ticket=ticket, created_by=actor.user)
        action = "solution_added"
    elif solution.body == clean:
        return solution
    else:
        action = "solution_updated"
    solution.body = clean
    solution.updated_by = actor.user
    try:
        with transaction.atomic():  # two first solutions at once: the second one edits
            solution.save()
    except IntegrityError as exc:
        raise ValidationError(
            _("Someone else has just written this ticket's solution; reload to see it.")
        ) from exc
    history_record(
        ticket=ticket,
        actor=actor.user,
        ip=ip,
        action=action,
        changes={"solution": [before, html_to_text(clean)[:HISTORY_TEXT]]},
    )
    return solution


@transaction.atomic
def solution_reuse_as_canned(
    *, actor: Membership, ticket: Ticket, title: str, ip: str | None = None
) -> CannedResponse:
    """A department canned response with the solution's text (canned responses are plain
    text), for the ticket's department, through the canned-response service: Desk admins
    only (it refuses others with a 403), a title unique in the department, and no text that
    looks like an unknown placeholder (a ValidationError naming it)."""
    ensure_ticket_can(actor, ticket, "view")
    solution = ticket_solution(ticket=ticket)
    if solution is None:
        raise ValidationError(_("This ticket has no solution yet."))
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": [_("Give the canned response a title.")]})
    canned = CannedResponse(
        org=actor.org,
        department=ticket.department,
        title=title,
        body=html_to_text(solution.body),
    )
    canned = canned_response_save(actor=actor, canned=canned)
    history_record(
        ticket=ticket,
        actor=actor.user,
        ip=ip,
        action="solution_reused",
        changes={"canned_response": [None, canned.title]},
    )
    return canned
