"""Forms of the help center (customers), its settings (admins) and the satisfaction report's
filters. Choices come from the organization; the services check again."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.models import Department, Organization, User

from ..forms import CustomFieldsMixin, MultipleFileField
from ..models import CustomField
from .models import HelpCenterSettings, RatingValue
from .theme import is_hex


class SignUpForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=200)
    email = forms.EmailField(label=_("Email"), max_length=254)


class SignInForm(forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254)


class SubmitForm(CustomFieldsMixin, forms.Form):
    """A new ticket in one published department, with its public fields."""

    subject = forms.CharField(label=_("Subject"), max_length=255)
    description = forms.CharField(
        label=_("Describe your question"),
        widget=forms.Textarea(attrs={"rows": 8}),
        max_length=20000,
        strip=False,
    )
    files = MultipleFileField(label=_("Attachments"), required=False)

    def __init__(self, *args, department: Department, fields: list[CustomField], **kwargs):
        super().__init__(*args, **kwargs)
        self.add_custom_fields(department, {}, definitions=fields)

    def clean_description(self) -> str:
        value = self.cleaned_data["description"]
        if not value.strip():
            raise ValidationError(_("Describe your question."))
        return value


class ReplyForm(forms.Form):
    body = forms.CharField(
        label=_("Your reply"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        max_length=20000,
        strip=False,
    )
    files = MultipleFileField(label=_("Attachments"), required=False)


class RatingForm(forms.Form):
    value = forms.ChoiceField(
        label=_("How was our answer?"),
        choices=RatingValue.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose good, okay or bad.")},
    )
    comment = forms.CharField(
        label=_("Comment (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
        max_length=2000,
    )


class SettingsForm(forms.Form):
    enabled = forms.BooleanField(label=_("Help center enabled"), required=False)
    title = forms.CharField(
        label=_("Title"),
        max_length=120,
        required=False,
        help_text=_("Shown at the top of every page; the organization's name when empty."),
    )
    intro = forms.CharField(
        label=_("Welcome text"),
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    logo = forms.FileField(
        label=_("Logo"),
        required=False,
        help_text=_("PNG, JPEG, GIF or WebP, at most 512 KB."),
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/png,image/jpeg,image/gif,image/webp"}
        ),
    )
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    primary_color = forms.CharField(
        label=_("Primary colour"),
        max_length=7,
        help_text=_("# and six hex digits, like #0f766e. Text on it is made readable."),
    )
    departments = forms.MultipleChoiceField(
        label=_("Published departments"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Customers choose one of these when they submit a ticket."),
    )
    public_fields = forms.MultipleChoiceField(
        label=_("Public fields"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Custom fields customers fill in and see; all others stay internal."),
    )
    show_account_tickets = forms.BooleanField(
        label=_("Customers see their account's tickets"),
        required=False,
        help_text=_("Contacts of an account see every ticket of that account, not only their own."),
    )
    rating_mail = forms.BooleanField(
        label=_("Ask for a rating when a ticket is closed"), required=False
    )

    def __init__(self, *args, org: Organization, row: HelpCenterSettings, **kwargs):
        initial = {
            "enabled": row.enabled,
            "title": row.title,
            "intro": row.intro,
            "primary_color": row.primary_color,
            "departments": [str(i) for i in row.department_ids or []],
            "public_fields": [str(i) for i in row.public_field_ids or []],
            "show_account_tickets": row.show_account_tickets,
            "rating_mail": row.rating_mail,
        }
        super().__init__(*args, initial=initial, **kwargs)
        departments = list(Department.objects.for_org(org).order_by("name"))
        names = {d.pk: d.name for d in departments}
        self.fields["departments"].choices = [(str(d.pk), d.name) for d in departments]
        self.fields["public_fields"].choices = [
            (str(f.pk), f"{names.get(f.department_id, '')}: {f.label}")
            for f in CustomField.objects.for_org(org)
            .filter(is_active=True)
            .order_by("department__name", "order", "pk")
        ]

    def clean_primary_color(self) -> str:
        value = self.cleaned_data["primary_color"].strip()
        if not is_hex(value):
            raise ValidationError(_("Enter a colour as # and six hex digits, like #0f766e."))
        return value.lower()


PERIODS = {
    "30": pgettext_lazy("report period", "Last 30 days"),
    "90": pgettext_lazy("report period", "Last 90 days"),
    "365": pgettext_lazy("report period", "Last 12 months"),
    "custom": pgettext_lazy("report period", "From – to"),
}


class ReportFilterForm(forms.Form):
    department = forms.ChoiceField(label=_("Department"), required=False)
    agent = forms.ChoiceField(label=_("Agent"), required=False)
    period = forms.ChoiceField(
        label=_("Period"), choices=list(PERIODS.items()), required=False, initial="30"
    )
    date_from = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, departments: list[Department], agents: list[User], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].choices = [("", _("All departments"))] + [
            (str(d.pk), d.name) for d in departments
        ]
        self.fields["agent"].choices = [("", _("All agents"))] + [
            (str(u.pk), u.display_name) for u in agents
        ]

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if data.get("period") == "custom":
            if start is None or end is None:
                raise ValidationError(_("Give both dates of the period."))
            if start > end:
                raise ValidationError(_("The period's start is after its end."))
            if (end - start) > dt.timedelta(days=3660):
                raise ValidationError(_("Choose a period of at most ten years."))
        return data
