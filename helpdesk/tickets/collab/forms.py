"""Forms of the approvals, solution and sharing panels (TKT-04). Choices are limited to the
organization (and the ticket); the services check everything again."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import Department, Membership

from ..forms import editor_textarea, format_field
from .models import NOTE_MAX, ShareLevel


class ApprovalRequestForm(forms.Form):
    approvers = forms.TypedMultipleChoiceField(
        label=_("Approvers"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("Choose at least one approver."),
            "invalid_choice": _("Choose approvers from the list."),
        },
    )
    note = forms.CharField(
        label=_("What should be approved?"),
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write what should be approved.")},
    )

    def __init__(self, *args, candidates: list[Membership], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["approvers"].choices = [(m.user_id, m.user.display_name) for m in candidates]
        self.fields["approvers"].widget.attrs["data-testid"] = "approvers"


class ApprovalDecisionForm(forms.Form):
    decision = forms.ChoiceField(
        choices=[("approve", _("Approve")), ("reject", _("Reject"))],
        error_messages={"required": _("Choose approve or reject.")},
    )
    comment = forms.CharField(
        label=_("Comment"),
        required=False,
        max_length=NOTE_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class SolutionForm(forms.Form):
    body = forms.CharField(
        label=_("Solution"), required=False, widget=editor_textarea(6), strip=False
    )
    body_format = format_field()


class SolutionReuseForm(forms.Form):
    title = forms.CharField(
        label=_("Title of the canned response"),
        max_length=120,
        error_messages={"required": _("Give the canned response a title.")},
    )


class ShareForm(forms.Form):
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.none(),
        error_messages={
            "required": _("Choose a department."),
            "invalid_choice": _("Choose a department from the list."),
        },
    )
    level = forms.TypedChoiceField(
        label=_("Access"),
        coerce=int,
        choices=ShareLevel.choices,
        initial=ShareLevel.READ_ONLY,
        widget=forms.RadioSelect,
        error_messages={"invalid_choice": _("Choose full, restricted or read-only access.")},
    )

    def __init__(self, *args, departments, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = departments
