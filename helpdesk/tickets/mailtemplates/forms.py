"""The mail-template form (name, subject, body; the organization is set by the view)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ..canned.placeholders import as_code
from .models import MailTemplate
from .rendering import PLACEHOLDERS


class MailTemplateForm(forms.ModelForm):
    class Meta:
        model = MailTemplate
        fields = ["name", "subject", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 12})}
        help_texts = {
            "body": _(
                "Plain text. Placeholders are filled in with the ticket's values when the mail "
                "is sent."
            )
        }

    @staticmethod
    def placeholders() -> list[tuple[str, str]]:
        return [(as_code(name), str(label)) for name, label in PLACEHOLDERS.items()]
