"""Workflow rules' mail notifications (TKT-09): what the task enqueued by a firing rule does.

Each recipient's mail is claimed in the cache under the firing's token before it is sent, so a
task delivered twice, or retried after one recipient failed, sends each mail once. The
subject and text are the rule's, with the canned-response placeholders filled in from the
ticket as it is when the mail goes out (text in, text out: a plain-text mail)."""

from __future__ import annotations

from django.core.cache import cache
from django.core.mail import EmailMessage

from helpdesk.tenancy.models import Membership

from ..canned.placeholders import render
from ..models import Ticket, TicketFollower
from ..services.mail import department_from_address
from .models import WorkflowRule

CLAIM_SECONDS = 7 * 24 * 3600


def placeholder_values(ticket: Ticket) -> dict[str, str]:
    """The placeholders' values for a rule's mail: "agent" is the ticket's owner."""
    return {
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "contact.name": ticket.contact.name if ticket.contact is not None else "",
        "agent.name": ticket.owner.display_name if ticket.owner is not None else "",
        "department.name": ticket.department.name,
    }


def recipients(rule: WorkflowRule, ticket: Ticket) -> list[str]:
    """The addresses the rule mails about `ticket`, each once, in a stable order. Members
    count only while they are active members of the organization."""
    org = ticket.org_id
    user_ids: list[int] = []
    addresses: list[str] = []
    if "owner" in rule.notify and ticket.owner_id:
        user_ids.append(ticket.owner_id)
    if "followers" in rule.notify:
        user_ids += list(
            TicketFollower.objects.for_org(org)
            .filter(ticket=ticket)
            .values_list("user_id", flat=True)
        )
    user_ids += [int(u) for u in rule.notify_users or []]
    members = dict(
        Membership.objects.for_org(org)
        .filter(user_id__in=user_ids, status=Membership.Status.ACTIVE)
        .values_list("user_id", "user__email")
    )
    addresses += [members[u] for u in user_ids if u in members]
    if "contact" in rule.notify and ticket.contact is not None and ticket.contact.email:
        addresses.append(ticket.contact.email)
    addresses += list(rule.notify_addresses or [])
    return list(dict.fromkeys(a.strip().lower() for a in addresses if a and a.strip()))


def workflow_mail_send(*, org_id: int, rule_id: int, ticket_id: int, token: str) -> int:
    """Send the rule's mail for one firing, one message per recipient (recipients never see
    each other's addresses). Returns how many were sent now."""
    rule = WorkflowRule.objects.for_org(org_id).filter(pk=rule_id).first()
    ticket = (
        Ticket.objects.for_org(org_id)
        .filter(pk=ticket_id)
        .select_related("department", "contact", "owner")
        .defer("search_vector")
        .first()
    )
    if rule is None or ticket is None:
        return 0
    values = placeholder_values(ticket)
    subject = " ".join(render(rule.mail_subject, values).splitlines()) or ticket.subject
    body = render(rule.mail_body, values)
    sent = 0
    for address in recipients(rule, ticket):
        key = f"workflow-mail:{org_id}:{token}:{address}"
        if not cache.add(key, 1, CLAIM_SECONDS):
            continue
        message = EmailMessage(
            subject,
            body,
            from_email=department_from_address(ticket.department),
            to=[address],
            headers={"X-Madoguchi-Mailer": "Madoguchi", "Auto-Submitted": "auto-generated"},
        )
        try:
            message.send()
        except Exception:
            cache.delete(key)  # the task's retry sends it
            raise
        sent += 1
    return sent
