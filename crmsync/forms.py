"""Forms of the CRM pages. Every choice of a tenant record is restricted to the organization
the form is built for; the services check the same again."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import DeskRole, Membership, Organization, User

from .models import (
    CrmAccount,
    CrmContact,
    CrmProduct,
    Currency,
    Deal,
    DealContact,
    Integration,
    TicketModule,
)
from .selectors import crm_users


def _owner_choices(org: Organization, current_id: int | None):
    """CRM users of the organization, plus the current owner should they have lost access."""
    allowed = Q(pk__in=crm_users(org).values("pk"))
    if current_id:
        allowed |= Q(pk=current_id)
    return User.objects.filter(allowed).order_by("full_name", "email", "pk")


def _user_label(user: User) -> str:
    return f"{user.display_name} <{user.email}>" if user.full_name else user.email


class _OwnedForm(forms.ModelForm):
    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _owner_choices(org, self.instance.owner_id)
        self.fields["owner"].label_from_instance = _user_label
        self.fields["owner"].empty_label = _("Me (when creating)")


class AccountForm(_OwnedForm):
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")

    class Meta:
        model = CrmAccount
        fields = ["name", "type", "industry", "website", "phone", "owner", "description"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "phone": forms.TextInput(attrs={"inputmode": "tel"}),
        }


class ContactForm(_OwnedForm):
    class Meta:
        model = CrmContact
        fields = [
            "last_name",
            "first_name",
            "email",
            "secondary_email",
            "phone",
            "mobile",
            "title",
            "account",
            "owner",
            "description",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "mobile": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
            "email": forms.EmailInput(attrs={"autocomplete": "off"}),
            "secondary_email": forms.EmailInput(attrs={"autocomplete": "off"}),
        }

    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, org=org, **kwargs)
        self.fields["account"].queryset = CrmAccount.objects.for_org(org).order_by("name", "pk")


class DealForm(_OwnedForm):
    contact_ids = forms.ModelMultipleChoiceField(
        label=_("Contacts"),
        queryset=CrmContact.objects.none(),
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 6}),
    )

    class Meta:
        model = Deal
        fields = [
            "name",
            "account",
            "stage",
            "amount",
            "expected_close",
            "probability",
            "owner",
            "description",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "expected_close": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "amount": forms.NumberInput(attrs={"min": "0", "step": "0.01"}),
            "probability": forms.NumberInput(attrs={"min": "0", "max": "100"}),
        }

    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, org=org, **kwargs)
        self.fields["account"].queryset = CrmAccount.objects.for_org(org).order_by("name", "pk")
        contacts = self.fields["contact_ids"]
        contacts.queryset = (
            CrmContact.objects.for_org(org)
            .select_related("account")
            .order_by("last_name", "first_name", "pk")
        )
        contacts.label_from_instance = lambda c: (
            f"{c.name} ({c.account.name})" if c.account_id else c.name
        )
        if self.instance.pk and not self.is_bound:
            self.initial["contact_ids"] = list(
                DealContact.objects.for_org(org)
                .filter(deal=self.instance)
                .values_list("contact_id", flat=True)
            )
        # Keep the order fields are read in: contacts after the account.
        order = ["name", "account", "contact_ids"]
        self.order_fields(order + [f for f in self.fields if f not in order])


class ProductForm(forms.ModelForm):
    class Meta:
        model = CrmProduct
        fields = ["name", "code", "unit_price", "is_active", "description"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "unit_price": forms.NumberInput(attrs={"min": "0", "step": "0.01"}),
        }

    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, **kwargs)


# --- Setup -----------------------------------------------------------------------------------
class ConnectOtherForm(forms.Form):
    portal = forms.CharField(
        label=_("Portal name of the desk"),
        max_length=30,
        help_text=_("The name in that desk's address: /<portal>/"),
    )
    admin_email = forms.EmailField(label=_("Email of an admin of that desk"))
    key = forms.CharField(
        label=_("Integration key"),
        max_length=100,
        help_text=_("Issued in that desk's Setup → CRM integration keys."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class ReauthoriseForm(forms.Form):
    admin_email = forms.EmailField(label=_("Email of an admin of that desk"), required=False)
    key = forms.CharField(
        label=_("New integration key"),
        max_length=100,
        required=False,
        help_text=_("Only needed when the current key was revoked."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class OptionsForm(forms.Form):
    direction = forms.ChoiceField(
        label=_("Sync direction"),
        choices=Integration.Direction.choices,
        widget=forms.RadioSelect,
    )
    match_secondary_email = forms.BooleanField(
        label=_("Also match contacts by secondary email"),
        required=False,
        help_text=Integration._meta.get_field("match_secondary_email").help_text,
    )
    departments = forms.TypedMultipleChoiceField(
        label=_("Sync products of these departments"),
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, departments: list[tuple[int, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["departments"].choices = departments


class InviteForm(forms.Form):
    member = forms.ModelChoiceField(label=_("CRM user"), queryset=Membership.objects.none())
    desk_role = forms.ChoiceField(label=_("Desk role"), choices=DeskRole.choices)

    def __init__(self, *args, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["member"].queryset = candidates
        self.fields["member"].label_from_instance = lambda m: _user_label(m.user)
        self.fields["desk_role"].initial = DeskRole.AGENT


class SettingsForm(forms.Form):
    currency = forms.ChoiceField(label=_("Currency of deal amounts"), choices=Currency.choices)
    desk_tab = forms.BooleanField(
        label=_("Show the Desk tab"),
        required=False,
        help_text=_("A Desk tab in the CRM for users who also have a desk account."),
    )
    # CRM-08: which modules' records show a related list of their desk tickets.
    ticket_modules = forms.MultipleChoiceField(
        label=_("Related lists of desk tickets"),
        choices=TicketModule.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("The records of these modules show their desk tickets."),
    )


class KeyIssueForm(forms.Form):
    label = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("Which CRM will use it, e.g. “Globex sales”."),
    )
