"""Canned responses (issue 8, item 2). Registered with the tickets app by the import at the end
of `helpdesk/tickets/models.py`."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.fields import TenantForeignKey
from helpdesk.tenancy.models import Department, TenantModel

from .placeholders import validate_placeholders


class CannedResponse(TenantModel):
    """A reply an agent inserts from the reply box, with `{{placeholders}}`.

    Either a department's (`department` set: managed by Desk admins in Setup, offered on that
    department's tickets) or personal (`owner` set: managed and seen by its owner only).
    Personal ones reference the user, not the membership: a member's removal leaves them
    unseen, and they come back if the person rejoins."""

    title = models.CharField(_("title"), max_length=120)
    body = models.TextField(_("text"), max_length=10000, validators=[validate_placeholders])
    department = TenantForeignKey(
        Department,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title", "pk"]
        verbose_name = _("canned response")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(department__isnull=True) ^ models.Q(owner__isnull=True),
                name="canned_department_xor_owner",
            ),
            models.UniqueConstraint(
                "org",
                "department",
                Lower("title"),
                condition=models.Q(department__isnull=False),
                name="canned_department_title_uniq",
                violation_error_message=_(
                    "This department already has a response with this title."
                ),
            ),
            models.UniqueConstraint(
                "org",
                "owner",
                Lower("title"),
                condition=models.Q(owner__isnull=False),
                name="canned_owner_title_uniq",
                violation_error_message=_("You already have a response with this title."),
            ),
        ]
        indexes = [
            models.Index(fields=["org", "department"], name="canned_department"),
            models.Index(fields=["org", "owner"], name="canned_owner"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_personal(self) -> bool:
        return self.owner_id is not None
