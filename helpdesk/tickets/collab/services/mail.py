"""Approval mail (TKT-04): what `approval_mail_task` does. Each mail claims its (approval,
event, person) in the cache first, so a retried task sends each once; each is written in the
recipient's language, and only to active members (`wants_mail`: an approval is addressed to
the person, so it has no profile switch of its own)."""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.urls import reverse

from helpdesk.tenancy.models import Membership
from helpdesk.tenancy.notifications import wants_mail

from ...services.follower_mail import member_mail_send
from ..models import Approval, ApprovalDecision

EVENTS = ("requested", "decided", "withdrawn", "closed")
# Not a profile preference: an approval request is work addressed to one person.
MAIL_EVENT = "approval"


def approval_mail(
    *, org_id: int, approval_id: int, event: str, user_ids: Sequence[int], decision_id: int | None
) -> int:
    """Mail `event` of the approval to each of `user_ids`; returns how many were sent now."""
    if event not in EVENTS:
        return 0
    approval = (
        Approval.objects.for_org(org_id)
        .filter(pk=approval_id)
        .select_related("ticket", "ticket__department", "requested_by")
        .first()
    )
    if approval is None:
        return 0
    decision = None
    if decision_id is not None:
        decision = (
            ApprovalDecision.objects.for_org(org_id)
            .filter(pk=decision_id, approval=approval)
            .select_related("approver")
            .first()
        )
    members = (
        Membership.objects.for_org(org_id)
        .filter(user_id__in=list(user_ids), status=Membership.Status.ACTIVE)
        .select_related("user", "org")
        .order_by("pk")
    )
    sent = 0
    for member in members:
        if not wants_mail(user=member.user, org=member.org, event=MAIL_EVENT):
            continue
        key = (
            f"approval-mail:{org_id}:{approval.pk}:{approval.created_at.timestamp()}:{event}:"
            f"{decision_id or 0}:{member.user_id}"
        )
        ticket = approval.ticket
        pending_url = settings.SITE_URL.rstrip("/") + reverse(
            "desk:collab_pending_approvals", kwargs={"portal": member.org.portal}
        )
        if member_mail_send(
            key=key,
            template="tickets/collab/emails/approval",
            membership=member,
            ticket=ticket,
            context={
                "approval": approval,
                "event": event,
                "decision": decision,
                "pending_url": pending_url,
            },
        ):
            sent += 1
    return sent
