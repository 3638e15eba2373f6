"""An organization's mail templates (BP-11 email notifications, BP-15 escalation mail)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import TenantModel

from .rendering import validate_mail_placeholders

NAME_MAX = 120
SUBJECT_MAX = 255
BODY_MAX = 20000


class MailTemplate(TenantModel):
    """A subject and a plain-text body with `{{placeholders}}` (rendering.PLACEHOLDERS), checked
    at save; sent as text with an escaped HTML alternative."""

    name = models.CharField(_("name"), max_length=NAME_MAX)
    subject = models.CharField(
        _("subject"), max_length=SUBJECT_MAX, validators=[validate_mail_placeholders]
    )
    body = models.TextField(_("body"), max_length=BODY_MAX, validators=[validate_mail_placeholders])
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        verbose_name = _("mail template")
        constraints = [
            models.UniqueConstraint(
                "org",
                Lower("name"),
                name="mailtemplate_name_uniq",
                violation_error_message=_("A mail template with this name already exists."),
            )
        ]

    def __str__(self) -> str:
        return self.name
