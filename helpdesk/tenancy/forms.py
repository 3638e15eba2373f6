"""Forms of sign-up, invitations, the admin panel and department settings.

Every choice of a tenant object is restricted to the organization the form is built for."""

from __future__ import annotations

import datetime as dt
from functools import partial

from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth import password_validation
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .models import (
    TIME_ZONE_CHOICES,
    AdminLevel,
    App,
    ChatRole,
    CrmRole,
    Department,
    DepartmentAgent,
    DeskRole,
    Holiday,
    Membership,
    Organization,
    Plan,
    Team,
    User,
    Weekday,
)
from .services.departments import desk_members, holiday_countries


class PasswordPairMixin(forms.Form):
    password1 = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Confirm password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        p1, p2 = data.get("password1"), data.get("password2")
        if p1 and p2 and p1 != p2:
            self.add_error("password2", _("The two passwords do not match."))
        elif p1:
            user = User(email=data.get("email", ""), full_name=data.get("full_name", ""))
            try:
                password_validation.validate_password(p1, user)
            except forms.ValidationError as exc:
                self.add_error("password1", exc)
        return data


class OrganizationForm(forms.Form):
    org_name = forms.CharField(label=_("Organization name"), max_length=120)
    portal = forms.CharField(
        label=_("Portal name"),
        max_length=30,
        help_text=_("3 to 30 lowercase letters, digits or hyphens. Your desk lives at /<portal>/."),
    )

    def clean_portal(self) -> str:
        return self.cleaned_data["portal"].strip().lower()


class SignupForm(OrganizationForm):
    """A new person's sign-up; the password is chosen on the page the mailed link opens."""

    full_name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Email"))
    field_order = ["org_name", "portal", "full_name", "email"]


class SignupPasswordForm(PasswordPairMixin):
    """The password of a confirmed sign-up, checked against the person's name and address."""

    def __init__(self, *args, email: str, full_name: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.person = {"email": email, "full_name": full_name}

    def clean(self):
        self.cleaned_data.update(self.person)
        return super().clean()


class LanguageForm(forms.Form):
    language = forms.ChoiceField(choices=User.Language.choices)
    next = forms.CharField(required=False)


class PasswordResetForm(auth_forms.PasswordResetForm):
    """Sends the reset link from a Celery task, in the user's language."""

    def save(self, *args, **kwargs) -> None:
        from .tasks import send_password_reset_email_task

        for user in self.get_users(self.cleaned_data["email"]):
            transaction.on_commit(partial(send_password_reset_email_task.delay, user.pk))


class AcceptInvitationForm(PasswordPairMixin):
    full_name = forms.CharField(label=_("Your name"), max_length=150)
    field_order = ["full_name", "password1", "password2"]


def _role_field(app_label, choices) -> forms.ChoiceField:
    return forms.ChoiceField(
        label=app_label, required=False, choices=[("", _("No access"))] + list(choices)
    )


class RolesForm(forms.Form):
    desk_role = _role_field(_("Desk"), DeskRole.choices)
    crm_role = _role_field(_("CRM"), CrmRole.choices)
    chat_role = _role_field(_("Chat"), ChatRole.choices)

    def roles(self) -> dict[str, str]:
        return {app: self.cleaned_data.get(f"{app}_role", "") for app in App.values}


class InviteForm(RolesForm):
    email = forms.EmailField(label=_("Email"))
    full_name = forms.CharField(label=_("Name"), max_length=150, required=False)
    field_order = ["email", "full_name", "desk_role", "crm_role", "chat_role"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["desk_role"].initial = DeskRole.AGENT


class MemberAccessForm(RolesForm):
    admin_level = forms.ChoiceField(
        label=_("Admin level"),
        required=False,
        choices=[(v, label) for v, label in AdminLevel.choices if v != AdminLevel.ACCOUNT],
    )
    admin_app = forms.ChoiceField(
        label=_("Administered app"), required=False, choices=[("", "—")] + list(App.choices)
    )
    reports_to = forms.ModelChoiceField(
        label=_("Reports to"),
        required=False,
        queryset=Membership.objects.none(),
        empty_label=_("Nobody"),
        help_text=_("Their manager: escalations can notify the ticket owner's manager."),
    )

    def __init__(self, *args, member: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        # Only this organization's other members: another organization's id is "not one of
        # the available choices", whatever a forged form sends.
        field = self.fields["reports_to"]
        field.queryset = (
            Membership.objects.for_org(member.org)
            .exclude(pk=member.pk)
            .select_related("user")
            .order_by("user__full_name", "user__email")
        )
        field.label_from_instance = _member_label
        field.initial = member.reports_to_id


def _member_label(member: Membership) -> str:
    if member.status == Membership.Status.ACTIVE:
        return member.user.display_name
    return f"{member.user.display_name} ({member.get_status_display()})"


class OrganizationDetailsForm(forms.ModelForm):
    website = forms.URLField(label=_("website"), required=False, assume_scheme="https")

    class Meta:
        model = Organization
        fields = ["name", "time_zone", "phone", "website", "address"]
        widgets = {"address": forms.Textarea(attrs={"rows": 3})}


class PortalForm(forms.Form):
    portal = forms.CharField(label=_("New portal name"), max_length=30)


class PlanForm(forms.Form):
    plan = forms.ChoiceField(label=_("Plan"), choices=Plan.choices)


class TransferForm(forms.Form):
    member = forms.ModelChoiceField(
        label=_("New account administrator"), queryset=Membership.objects.none()
    )

    def __init__(self, *args, org: Organization, exclude: Membership, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = (
            Membership.objects.for_org(org)
            .filter(status=Membership.Status.ACTIVE)
            .exclude(pk=exclude.pk)
            .select_related("user")
        )
        self.fields["member"].label_from_instance = lambda m: (
            f"{m.user.display_name} <{m.user.email}>"
        )


# --- Departments -----------------------------------------------------------------------------
class DepartmentForm(forms.ModelForm):
    class Meta:
        model = Department
        fields = ["name", "description", "email", "time_zone", "signature"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 3}),
            "signature": forms.Textarea(attrs={"rows": 4}),
        }


class AgentsForm(forms.Form):
    agents = forms.ModelMultipleChoiceField(
        label=_("Agents"),
        required=False,
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agents"].queryset = desk_members(org)
        self.fields["agents"].label_from_instance = lambda u: f"{u.display_name} <{u.email}>"


class TeamForm(forms.ModelForm):
    members = forms.ModelMultipleChoiceField(
        label=_("Members"),
        required=False,
        queryset=User.objects.none(),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Team
        fields = ["name", "description"]

    def __init__(self, *args, department: Department, **kwargs):
        super().__init__(*args, **kwargs)
        agent_ids = (
            DepartmentAgent.objects.for_org(department.org)
            .filter(department=department)
            .values("user_id")
        )
        self.fields["members"].queryset = User.objects.filter(pk__in=agent_ids).order_by(
            "full_name", "email"
        )
        self.fields["members"].label_from_instance = lambda u: u.display_name


class IntervalForm(forms.Form):
    # The blank first option matters: a browser posts a select's first option, so with
    # "Monday" first every empty extra row would count as changed and fail validation.
    weekday = forms.TypedChoiceField(
        label=_("Day"), choices=[("", "—"), *Weekday.choices], coerce=int
    )
    start = forms.TimeField(label=_("From"), widget=forms.TimeInput(attrs={"type": "time"}))
    end = forms.TimeField(label=_("To"), widget=forms.TimeInput(attrs={"type": "time"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["start"] >= data["end"]:
            self.add_error("end", _("The end must be after the start."))
        return data


IntervalFormSet = forms.formset_factory(
    IntervalForm, extra=2, can_delete=True, max_num=70, validate_max=True
)


class BusinessHoursForm(forms.Form):
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=TIME_ZONE_CHOICES)


class HolidayForm(forms.ModelForm):
    class Meta:
        model = Holiday
        fields = ["date", "name"]
        widgets = {"date": forms.DateInput(attrs={"type": "date"})}


class HolidayImportForm(forms.Form):
    country = forms.ChoiceField(label=_("Country"), choices=())
    year = forms.IntegerField(label=_("Year"), min_value=1950, max_value=2100)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["country"].choices = holiday_countries()
        self.fields["country"].initial = "JP"
        self.fields["year"].initial = dt.date.today().year


# --- My profile (issue 8, item 6) ---------------------------------------------------------------
class ProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Name"), max_length=150)
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        required=False,
        choices=[("", _("The organization's time zone"))] + TIME_ZONE_CHOICES,
    )
    language = forms.ChoiceField(label=_("Language"), choices=User.Language.choices)
    signature = forms.CharField(
        label=_("Signature"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_(
            "Added to your replies in this organization, after a “-- ” line and before the "
            "department's signature."
        ),
    )
    mail_events = forms.MultipleChoiceField(
        label=_("Mail me when"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=(),
    )

    def __init__(self, *args, **kwargs):
        from .notifications import MailEvent

        super().__init__(*args, **kwargs)
        self.fields["mail_events"].choices = MailEvent.choices
