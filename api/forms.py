from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from .models import Scope

EXPIRY_CHOICES = [
    ("30", _("In 30 days")),
    ("90", _("In 90 days")),
    ("365", _("In a year")),
    ("", _("Never")),
]
SCOPE_CHOICES = [
    (Scope.READ, _("Read only")),
    (Scope.WRITE, _("Read and write")),
]


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        label=_("Token name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “Nightly report script”."),
    )
    scope = forms.ChoiceField(
        label=_("Access"), choices=SCOPE_CHOICES, initial=Scope.READ, widget=forms.RadioSelect
    )
    expires = forms.ChoiceField(
        label=_("Expires"), choices=EXPIRY_CHOICES, initial="90", required=False
    )
