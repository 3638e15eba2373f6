"""The canned-response form (title and text; the owner or department is set by the view)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import CannedResponse
from .placeholders import PLACEHOLDERS, as_code


class CannedResponseForm(forms.ModelForm):
    class Meta:
        model = CannedResponse
        fields = ["title", "body"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}
        help_texts = {
            "body": _("Placeholders are filled in with the ticket's values when you insert it.")
        }

    @staticmethod
    def placeholders() -> list[tuple[str, str]]:
        return [(as_code(name), str(label)) for name, label in PLACEHOLDERS.items()]
