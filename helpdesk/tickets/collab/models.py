"""Approvals, solutions and department sharing of a ticket (TKT-04).

- An `Approval` asks one or more members to approve something about a ticket; each approver
  has an `ApprovalDecision` row. Rule: approved when every approver approved, rejected as soon
  as one rejects; the requester may withdraw it while it is pending.
- A ticket has at most one `Solution` (sanitised rich text), editable, reusable as a
  department canned response.
- A `TicketShare` lets another department's agents see a ticket, with full, restricted
  (comments only) or read-only access; what each level allows is enforced by
  `helpdesk.tickets.services.access`.

People are referenced as users (like a thread's author), so a person who leaves keeps their
name on old approvals."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import Department, TenantModel

from ..models import Ticket

NOTE_MAX = 2000


class ShareLevel(models.IntegerChoices):
    """Ordered from the narrowest to the widest: a member in two departments a ticket is shared
    with gets the widest of the two levels."""

    READ_ONLY = 1, _("Read only")
    RESTRICTED = 2, _("Restricted (private comments only)")
    FULL = 3, _("Full access")


class TicketShare(TenantModel):
    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    department = TenantForeignKey(
        Department, on_delete=models.CASCADE, related_name="+", verbose_name=_("department")
    )
    level = models.PositiveSmallIntegerField(_("access"), choices=ShareLevel.choices)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("shared department")
        constraints = [
            models.UniqueConstraint(
                fields=["org", "ticket", "department"],
                name="collab_share_ticket_department",
                violation_error_message=_("The ticket is already shared with this department."),
            )
        ]
        indexes = [
            # "Shared with my department": the department's shares, newest first.
            models.Index(fields=["org", "department", "ticket"], name="collab_share_department"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.department_id} ({self.level})"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", pgettext_lazy("approval", "Pending")
    APPROVED = "approved", pgettext_lazy("approval", "Approved")
    REJECTED = "rejected", pgettext_lazy("approval", "Rejected")
    WITHDRAWN = "withdrawn", pgettext_lazy("approval", "Withdrawn")


class Approval(TenantModel):
    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    note = models.TextField(_("note"), max_length=NOTE_MAX)
    status = models.CharField(
        max_length=12, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("approval")
        indexes = [
            models.Index(fields=["org", "ticket", "-created_at"], name="collab_approval_ticket"),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}: {self.status}"

    @property
    def is_pending(self) -> bool:
        return self.status == ApprovalStatus.PENDING


class Decision(models.TextChoices):
    PENDING = "pending", pgettext_lazy("approval", "Pending")
    APPROVED = "approved", pgettext_lazy("approval", "Approved")
    REJECTED = "rejected", pgettext_lazy("approval", "Rejected")


class ApprovalDecision(TenantModel):
    """One approver's answer to an approval."""

    approval = TenantForeignKey(Approval, on_delete=models.CASCADE, related_name="decisions")
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    decision = models.CharField(max_length=10, choices=Decision.choices, default=Decision.PENDING)
    comment = models.TextField(_("comment"), max_length=NOTE_MAX, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "approval", "approver"], name="collab_decision_approver"
            )
        ]
        indexes = [
            # An approver's pending approvals (the Desk's list and the dashboard's count).
            models.Index(fields=["org", "approver", "decision"], name="collab_decision_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.approval_id}/{self.approver_id}: {self.decision}"


class Solution(TenantModel):
    """The ticket's solution: rich text from the editor, sanitised (TKT-02)."""

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    body = models.TextField(_("solution"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("solution")
        constraints = [
            models.UniqueConstraint(fields=["org", "ticket"], name="collab_solution_ticket")
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id}"
