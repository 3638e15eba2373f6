"""Forms of chat's Setup (CHAT-01, CHAT-03..CHAT-06). Every choice is limited to the
organization: operators are chat members of it."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import Organization, User

from . import selectors
from .models import ChatDepartment, EmailKind, Visibility


class _MemberChoice:
    """Users shown by name and address."""

    @staticmethod
    def label(user: User) -> str:
        return f"{user.display_name} <{user.email}>" if user.full_name else user.email


class OperatorsField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return _MemberChoice.label(obj)


class OperatorField(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return _MemberChoice.label(obj)


def _chat_users(org: Organization):
    return User.objects.filter(pk__in=selectors.chat_members(org).values("user_id")).order_by(
        "full_name", "email"
    )


class DepartmentCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    visibility = forms.ChoiceField(
        label=_("Type"),
        choices=Visibility.choices,
        initial=Visibility.PUBLIC,
        widget=forms.RadioSelect,
        help_text=_(
            "Public departments are shown to visitors and have their own embed code. Private "
            "departments are internal: operators of a public department can transfer a chat "
            "to them."
        ),
    )
    operators = OperatorsField(
        label=_("Operators"),
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, org: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["operators"].queryset = _chat_users(org)


class NameForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)


class DescriptionForm(forms.Form):
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class VisibilityForm(forms.Form):
    visibility = forms.ChoiceField(
        label=_("Type"),
        choices=Visibility.choices,
        widget=forms.RadioSelect,
        help_text=DepartmentCreateForm.base_fields["visibility"].help_text,
    )


class NameRequiredForm(forms.Form):
    name_required = forms.BooleanField(
        label=_("Visitors must give their name"),
        required=False,
        help_text=_("The chat widget asks for it before the chat starts."),
    )


class EmailRequiredForm(forms.Form):
    email_required = forms.BooleanField(
        label=_("Visitors must give their email address"), required=False
    )


class MissedAfterForm(forms.Form):
    missed_after_seconds = forms.IntegerField(
        label=_("Missed after (seconds)"),
        min_value=30,
        max_value=3600,
        help_text=_(
            "A chat nobody accepts within this becomes a missed chat: the visitor can leave a "
            "message, which becomes a ticket."
        ),
    )


# The department's settings that save one at a time (CHAT-05), by the name the page posts.
FIELD_FORMS: dict[str, type[forms.Form]] = {
    "name": NameForm,
    "description": DescriptionForm,
    "visibility": VisibilityForm,
    "name_required": NameRequiredForm,
    "email_required": EmailRequiredForm,
    "missed_after_seconds": MissedAfterForm,
}


def field_form(field: str, department: ChatDepartment, data=None) -> forms.Form:
    form_class = FIELD_FORMS[field]
    return form_class(data, initial={field: getattr(department, field)}, prefix=f"d-{field}")


class OperatorAddForm(forms.Form):
    user = OperatorField(label=_("Add an operator"), queryset=User.objects.none())

    def __init__(self, *args, org: Organization, department: ChatDepartment, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = User.objects.filter(
            pk__in=selectors.operator_candidates(org, department).values("user_id")
        ).order_by("full_name", "email")
        self.fields["user"].empty_label = _("Choose a member")


class OperatorRemoveForm(forms.Form):
    user = forms.IntegerField(min_value=1)


# What each email does (seed 004), shown under its addresses.
EMAIL_HELP = {
    EmailKind.FROM_ADDRESS: _("Replies to visitors are sent from this address. One address."),
    EmailKind.TRANSCRIPT: _("When a chat ends, its transcript is sent to these addresses."),
    EmailKind.IP_BLOCK: _("When an operator blocks a visitor's IP address, these addresses hear."),
    EmailKind.FEEDBACK: _("When a visitor leaves feedback about an operator, it is sent here."),
    EmailKind.MISSED: _("When nobody could answer a visitor's chat, these addresses hear."),
    EmailKind.CC: _("These addresses are added in CC to every email reply to a visitor."),
}


class EmailSettingForm(forms.Form):
    enabled = forms.BooleanField(
        label=_("On"), required=False, widget=forms.CheckboxInput(attrs={"role": "switch"})
    )
    addresses = forms.CharField(label=_("Addresses"), required=False, max_length=5000)

    def __init__(self, *args, kind: str, **kwargs) -> None:
        super().__init__(*args, prefix=f"mail-{kind}", **kwargs)
        self.kind = kind
        label = EmailKind(kind).label
        self.fields["addresses"].label = label
        self.fields["addresses"].help_text = EMAIL_HELP[EmailKind(kind)]
        self.fields["addresses"].widget.attrs.update(
            {
                "aria-describedby": f"id_mail-{kind}-addresses-help",
                "placeholder": "support@example.com"
                if kind == EmailKind.FROM_ADDRESS
                else "a@example.com, b@example.com",
                "autocomplete": "off",
            }
        )
        self.fields["enabled"].widget.attrs["aria-label"] = _("%(setting)s: on or off") % {
            "setting": label
        }


class StatusForm(forms.Form):
    enabled = forms.BooleanField(
        label=_("Enabled"), required=False, widget=forms.CheckboxInput(attrs={"role": "switch"})
    )
