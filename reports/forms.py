"""The blueprint report's filters (BP-26): the period as the other reports read it
(`ReportFilterForm`: last 30/90/365 days or from–to, the end not before the start), and on the
chooser page the blueprint, among those the reader may report on."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from blueprints.models import Blueprint
from helpdesk.tickets.helpcenter.forms import ReportFilterForm

STUCK_CHOICES = [("5", "5"), ("10", "10"), ("25", "25")]


class PeriodForm(ReportFilterForm):
    """The period and how many stuck tickets to list per state."""

    stuck = forms.TypedChoiceField(
        label=_("Stuck tickets per state"),
        choices=STUCK_CHOICES,
        coerce=int,
        required=False,
        empty_value=5,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, departments=[], agents=[], **kwargs)
        del self.fields["department"]
        del self.fields["agent"]


class ChooserForm(PeriodForm):
    """The chooser: a blueprint of the reader's departments, and the period."""

    blueprint = forms.ChoiceField(label=_("Blueprint"))

    field_order = ["blueprint", "period", "date_from", "date_to", "stuck"]

    def __init__(self, *args, blueprints: list[Blueprint], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["blueprint"].choices = [("", _("Choose a blueprint"))] + [
            (str(b.pk), b.name) for b in blueprints
        ]
        self.fields["blueprint"].error_messages["invalid_choice"] = _(
            "Choose one of the blueprints listed: this one does not exist or is not in your "
            "departments."
        )
