"""Canned responses and signatures: save, delete, search, render; the signature of a reply.

Department responses are changed by Desk admins (the app's settings, ORG-04); personal ones by
their owner, any member with Desk access. Offered on a ticket: the member's own and those of
the ticket's department."""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, Department, DepartmentAgent, Membership
from helpdesk.tenancy.permissions import ensure_app, ensure_app_admin

from ..html import html_to_text, text_to_html
from ..models import Ticket
from . import placeholders
from .models import CannedResponse

SEARCH_LIMIT = 10


def _ensure_may_change(actor: Membership, canned: CannedResponse) -> None:
    ensure_same_org(actor.org, canned)
    ensure_app(actor, App.DESK)
    if canned.department_id is not None:
        ensure_app_admin(actor, App.DESK)
    elif canned.owner_id != actor.user_id:
        raise PermissionDenied(_("You can change only your own canned responses."))


@transaction.atomic
def canned_response_save(*, actor: Membership, canned: CannedResponse) -> CannedResponse:
    """Create or change a canned response. Its text is checked for unknown placeholders (a
    ValidationError naming them); the department must be the actor's organization's."""
    if canned.department_id is not None:
        ensure_same_org(actor.org, canned.department)
    _ensure_may_change(actor, canned)
    canned.full_clean()
    canned.save()
    return canned


@transaction.atomic
def canned_response_delete(*, actor: Membership, canned: CannedResponse) -> None:
    _ensure_may_change(actor, canned)
    canned.delete()


def canned_personal(*, member: Membership) -> QuerySet[CannedResponse]:
    return CannedResponse.objects.for_org(member.org).filter(owner_id=member.user_id)


def canned_for_ticket(
    *, member: Membership, ticket: Ticket, query: str = "", limit: int = SEARCH_LIMIT
) -> list[CannedResponse]:
    """What the reply box offers on `ticket` (which the caller has checked `member` may see):
    the member's own responses first, then the ticket's department's, matching every word of
    `query` in the title or text."""
    ensure_same_org(member.org, ticket)
    qs = CannedResponse.objects.for_org(member.org).filter(
        Q(owner_id=member.user_id) | Q(department_id=ticket.department_id)
    )
    for word in query.split()[:5]:
        qs = qs.filter(Q(title__icontains=word) | Q(body__icontains=word))
    mine_first = Case(
        When(owner_id=member.user_id, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return list(qs.order_by(mine_first, "title", "pk")[:limit])


def canned_for_member(
    *, member: Membership, query: str = "", limit: int = 50
) -> list[CannedResponse]:
    """What a reply box without a ticket offers (the chat console): the member's own
    responses first, then those of the desk departments they are an agent of."""
    agent_of = DepartmentAgent.objects.for_org(member.org).filter(user_id=member.user_id)
    qs = CannedResponse.objects.for_org(member.org).filter(
        Q(owner_id=member.user_id) | Q(department_id__in=agent_of.values("department_id"))
    )
    for word in query.split()[:5]:
        qs = qs.filter(Q(title__icontains=word) | Q(body__icontains=word))
    mine_first = Case(
        When(owner_id=member.user_id, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return list(qs.order_by(mine_first, "title", "pk")[:limit])


def canned_fill(*, member: Membership, canned: CannedResponse, values: dict[str, str]) -> str:
    """A canned response's text with the given placeholder values (plain text; the others
    empty), for a reply box without a ticket."""
    ensure_same_org(member.org, canned)
    return placeholders.render(canned.body, values)


def placeholder_values(*, ticket: Ticket, agent: Membership) -> dict[str, str]:
    """The values of every placeholder on `ticket` for `agent`, as plain text."""
    contact = ticket.contact
    return {
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "contact.name": contact.name if contact is not None else "",
        "agent.name": agent.user.display_name,
        "department.name": ticket.department.name,
    }


@dataclass(frozen=True)
class Rendered:
    """A canned response filled in for one ticket: plain text for a textarea, and the same as
    escaped HTML paragraphs for a rich-text editor."""

    text: str
    html: str


def canned_render(
    *,
    canned: CannedResponse,
    ticket: Ticket,
    agent: Membership,
    values: dict[str, str] | None = None,
) -> Rendered:
    ensure_same_org(ticket.org, canned)
    text = placeholders.render(
        canned.body, values or placeholder_values(ticket=ticket, agent=agent)
    )
    return Rendered(text=text, html=text_to_html(text))


# --- Signatures --------------------------------------------------------------------------------
SIGNATURE_SEPARATOR = "-- "


def reply_signature(*, author: Membership, department: Department) -> str:
    """The signature text of a reply: the agent's, then the department's; either may be empty."""
    ensure_same_org(author.org, department)
    parts = [s.strip() for s in (author.signature, department.signature) if s and s.strip()]
    return "\n\n".join(parts)


def _words(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()


def signature_append(*, body_html: str, author: Membership, department: Department) -> str:
    """The reply's sanitised HTML with the signature added after a "-- " line, once: a body
    that already ends with the signature (typed or pasted by the agent) is left as it is."""
    signature = reply_signature(author=author, department=department)
    if not signature:
        return body_html
    if _words(html_to_text(body_html)).endswith(_words(signature)):
        return body_html
    return body_html + text_to_html(f"{SIGNATURE_SEPARATOR}\n{signature}")
