"""The incoming-mail settings form (Setup)."""

from __future__ import annotations

from django import forms

from helpdesk.tenancy.models import Department, Organization

from .models import MailSettings


class MailSettingsForm(forms.ModelForm):
    class Meta:
        model = MailSettings
        fields = ["default_department"]

    def __init__(self, *args, org: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["default_department"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = Department.objects.for_org(org).filter(is_enabled=True)
