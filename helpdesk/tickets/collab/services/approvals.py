"""Approvals (TKT-04): request from one or more members, approve or reject, withdraw.

The rule: an approval is approved when every approver has approved, and rejected as soon as
one approver rejects (the others' answers are then no longer asked for). The requester may
withdraw it while it is pending. Approvers are active members with Desk access who see the
ticket (Desk admins, agents of its department or of a department it is shared with), not the
requester. Every step writes a history row in its transaction and mails after commit: the
approvers when asked (and when a pending approval is withdrawn or closed by a rejection), the
requester on each answer."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import App, DepartmentAgent, DeskRole, Membership, User
from helpdesk.tenancy.roles import desk_role

from ...models import Ticket
from ...services.access import ensure_ticket_can, ticket_access
from ...services.history import history_record
from ..models import NOTE_MAX, Approval, ApprovalDecision, ApprovalStatus, Decision, TicketShare

MAX_APPROVERS = 10


def approval_candidates(*, ticket: Ticket) -> list[Membership]:
    """Who may be asked to approve on `ticket` (three queries): active members with Desk
    access who see it, by name."""
    org_id = ticket.org_id
    departments = [ticket.department_id, *_shared_department_ids(ticket)]
    agents = set(
        DepartmentAgent.objects.for_org(org_id)
        .filter(department_id__in=departments)
        .values_list("user_id", flat=True)
    )
    members = (
        Membership.objects.for_org(org_id)
        .filter(status=Membership.Status.ACTIVE)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
    return [
        m
        for m in members
        if m.has_app(App.DESK) and (desk_role(m) == DeskRole.ADMIN or m.user_id in agents)
    ]


def _shared_department_ids(ticket: Ticket) -> list[int]:
    return list(
        TicketShare.objects.for_org(ticket.org_id)
        .filter(ticket=ticket)
        .values_list("department_id", flat=True)
    )


def _names(users: Sequence[User]) -> str:
    return ", ".join(u.display_name for u in users)


def _mail(approval: Approval, event: str, user_ids: Sequence[int], decision_id: int | None = None):
    """Mail after commit (one task per event)."""
    if not user_ids:
        return
    from ..tasks import approval_mail_task

    org_id, approval_id, ids = approval.org_id, approval.pk, list(user_ids)
    transaction.on_commit(
        lambda: approval_mail_task.delay(org_id, approval_id, event, ids, decision_id)
    )


@transaction.atomic
def approval_request(
    *,
    actor: Membership,
    ticket: Ticket,
    approvers: Sequence[User],
    note: str,
    ip: str | None = None,
) -> Approval:
    """Ask `approvers` to approve, with a note. Refused (403) for roles that may not edit the
    ticket and on a shared ticket without full access; a ValidationError names each problem
    (no note, no approver, too many, someone who cannot see the ticket, oneself)."""
    ensure_ticket_can(actor, ticket, "approval")
    note = (note or "").strip()
    errors: dict[str, list[str]] = {}
    if not note:
        errors["note"] = [_("Write what should be approved.")]
    elif len(note) > NOTE_MAX:
        errors["note"] = [_("Keep the note under %(max)d characters.") % {"max": NOTE_MAX}]
    unique: list[User] = []
    for user in approvers:
        if user.pk not in {u.pk for u in unique}:
            unique.append(user)
    candidates = {m.user_id for m in approval_candidates(ticket=ticket)}
    problems: list[str] = []
    if not unique:
        problems.append(_("Choose at least one approver."))
    elif len(unique) > MAX_APPROVERS:
        problems.append(_("Choose at most %(max)d approvers.") % {"max": MAX_APPROVERS})
    for user in unique:
        if user.pk == actor.user_id:
            problems.append(_("You cannot approve your own request."))
        elif user.pk not in candidates:
            problems.append(
                _("%(name)s cannot see this ticket, so cannot approve it.")
                % {"name": user.display_name}
            )
    if problems:
        errors["approvers"] = problems
    if errors:
        raise ValidationError(errors)
    approval = Approval(org_id=ticket.org_id, ticket=ticket, requested_by=actor.user, note=note)
    approval.full_clean(exclude=["org", "ticket", "requested_by"])
    approval.save()
    ApprovalDecision.objects.bulk_create(
        ApprovalDecision(org_id=ticket.org_id, approval=approval, approver=user) for user in unique
    )
    history_record(
        ticket=ticket,
        actor=actor.user,
        ip=ip,
        action="approval_requested",
        changes={"approvers": [None, _names(unique)], "note": [None, note]},
    )
    _mail(approval, "requested", [u.pk for u in unique])
    return approval


def _locked(actor: Membership, approval: Approval) -> Approval:
    """The approval re-read under a row lock: two answers at once queue, and each sees the
    other's outcome."""
    ensure_same_org(actor.org, approval)
    locked = (
        Approval.objects.for_org(actor.org)
        .select_for_update(of=("self",))
        .select_related("ticket", "requested_by")
        .filter(pk=approval.pk)
        .first()
    )
    if locked is None:
        raise Http404
    return locked


@transaction.atomic
def approval_decide(
    *,
    actor: Membership,
    approval: Approval,
    approve: bool,
    comment: str = "",
    ip: str | None = None,
) -> Approval:
    """The actor's answer. Only an approver of a pending approval who still sees the ticket
    answers, once; a rejection needs a comment saying why. Approved when all approved,
    rejected at the first rejection."""
    approval = _locked(actor, approval)
    ticket = approval.ticket
    if ticket_access(actor, ticket) is None:
        raise Http404
    decision = (
        ApprovalDecision.objects.for_org(actor.org)
        .filter(approval=approval, approver_id=actor.user_id)
        .first()
    )
    if decision is None:
        raise PermissionDenied(_("You were not asked to approve this."))
    if not approval.is_pending:
        raise ValidationError(
            _("This approval is already %(status)s.")
            % {"status": approval.get_status_display().lower()}
        )
    if decision.decision != Decision.PENDING:
        raise ValidationError(_("You have already answered this approval."))
    comment = (comment or "").strip()
    if not approve and not comment:
        raise ValidationError({"comment": [_("Say why you reject it.")]})
    if len(comment) > NOTE_MAX:
        raise ValidationError(
            {"comment": [_("Keep the comment under %(max)d characters.") % {"max": NOTE_MAX}]}
        )
    now = timezone.now()
    decision.decision = Decision.APPROVED if approve else Decision.REJECTED
    decision.comment = comment
    decision.decided_at = now
    decision.save(update_fields=["decision", "comment", "decided_at"])
    answers = list(
        ApprovalDecision.objects.for_org(actor.org)
        .filter(approval=approval)
        .values_list("approver_id", "decision")
    )
    before = approval.status
    if not approve:
        approval.status = ApprovalStatus.REJECTED
    elif all(d == Decision.APPROVED for _user, d in answers):
        approval.status = ApprovalStatus.APPROVED
    if approval.status != before:
        approval.decided_at = now
        approval.save(update_fields=["status", "decided_at"])
    # Keys, not labels: the history shows them in each reader's language (history_display).
    changes = {"decision": [None, str(decision.decision)]}
    if comment:
        changes["comment"] = [None, comment]
    if approval.status != before:
        changes["approval"] = [str(before), str(approval.status)]
    history_record(
        ticket=ticket,
        actor=actor.user,
        ip=ip,
        action="approval_approved" if approve else "approval_rejected",
        changes=changes,
    )
    if approval.requested_by_id is not None:
        _mail(approval, "decided", [approval.requested_by_id], decision.pk)
    if approval.status == ApprovalStatus.REJECTED:  # the others need not answer any more
        waiting = [u for u, d in answers if d == Decision.PENDING]
        _mail(approval, "closed", waiting)
    return approval


@transaction.atomic
def approval_withdraw(*, actor: Membership, approval: Approval, ip: str | None = None) -> Approval:
    """The requester takes back a pending approval; the approvers who had not answered hear."""
    approval = _locked(actor, approval)
    if ticket_access(actor, approval.ticket) is None:
        raise Http404
    if approval.requested_by_id != actor.user_id:
        raise PermissionDenied(_("Only the person who asked for an approval can withdraw it."))
    if not approval.is_pending:
        raise ValidationError(
            _("This approval is already %(status)s.")
            % {"status": approval.get_status_display().lower()}
        )
    approval.status = ApprovalStatus.WITHDRAWN
    approval.decided_at = timezone.now()
    approval.save(update_fields=["status", "decided_at"])
    history_record(
        ticket=approval.ticket,
        actor=actor.user,
        ip=ip,
        action="approval_withdrawn",
        changes={"approval": [str(ApprovalStatus.PENDING), str(ApprovalStatus.WITHDRAWN)]},
    )
    waiting = list(
        ApprovalDecision.objects.for_org(actor.org)
        .filter(approval=approval, decision=Decision.PENDING)
        .values_list("approver_id", flat=True)
    )
    _mail(approval, "withdrawn", waiting)
    return approval


def ticket_approvals(*, ticket: Ticket) -> list[Approval]:
    """The ticket's approvals, newest first, each with its decisions and people (three
    queries)."""
    approvals = list(
        Approval.objects.for_org(ticket.org_id)
        .filter(ticket=ticket)
        .select_related("requested_by")
        .order_by("-created_at", "-pk")
    )
    by_approval: dict[int, list[ApprovalDecision]] = {}
    for decision in (
        ApprovalDecision.objects.for_org(ticket.org_id)
        .filter(approval__in=[a.pk for a in approvals])
        .select_related("approver")
        .order_by("pk")
    ):
        by_approval.setdefault(decision.approval_id, []).append(decision)
    for approval in approvals:
        approval.decision_list = by_approval.get(approval.pk, [])
    return approvals


def pending_for(*, member: Membership) -> QuerySet[ApprovalDecision]:
    """The member's unanswered requests of pending approvals, oldest first."""
    return (
        ApprovalDecision.objects.for_org(member.org)
        .filter(
            approver_id=member.user_id,
            decision=Decision.PENDING,
            approval__status=ApprovalStatus.PENDING,
        )
        .select_related("approval", "approval__ticket", "approval__requested_by")
        .order_by("approval__created_at", "pk")
    )
