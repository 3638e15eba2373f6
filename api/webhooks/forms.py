from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from ..models import WebhookEvent


class WebhookForm(forms.Form):
    """The fields; the service checks them again (and the URL's addresses)."""

    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What receives the events, e.g. “ERP”.")
    )
    url = forms.CharField(
        label=_("URL"),
        max_length=500,
        help_text=_("An https address that answers 2xx. Private and local addresses are refused."),
        widget=forms.URLInput(attrs={"class": "wide"}),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"), choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple
    )


class WebhookEditForm(WebhookForm):
    is_active = forms.BooleanField(
        label=_("Active"),
        required=False,
        help_text=_("Turning a disabled webhook on again starts its failure count anew."),
    )
