"""Forms of the customers pages (CUS-01). Every choice of a tenant record is restricted to the
organization the form is built for; the services check the same again."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import Department, Organization, User

from .models import Account, Contact, Product
from .selectors import desk_users


def _owner_choices(org: Organization, current_id: int | None):
    """Desk users of the organization, plus the current owner should they have lost access
    (so that saving another field does not fail on the owner)."""
    allowed = Q(pk__in=desk_users(org).values("pk"))
    if current_id:
        allowed |= Q(pk=current_id)
    return User.objects.filter(allowed).order_by("full_name", "email")


def _user_label(user: User) -> str:
    return f"{user.display_name} <{user.email}>" if user.full_name else user.email


class ContactForm(forms.ModelForm):
    class Meta:
        model = Contact
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
            "tags",
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
        super().__init__(*args, **kwargs)
        self.fields["account"].queryset = Account.objects.for_org(org).order_by("name")
        self.fields["owner"].queryset = _owner_choices(org, self.instance.owner_id)
        self.fields["owner"].label_from_instance = _user_label


class AccountForm(forms.ModelForm):
    website = forms.URLField(label=_("Website"), required=False, assume_scheme="https")

    class Meta:
        model = Account
        fields = ["name", "email", "phone", "website", "owner", "description"]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "phone": forms.TextInput(attrs={"inputmode": "tel"}),
        }

    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _owner_choices(org, self.instance.owner_id)
        self.fields["owner"].label_from_instance = _user_label


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = ["name", "code", "department", "description", "is_active"]
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.for_org(org).order_by("name")


class ProductLinkForm(forms.Form):
    """Pick one product to link (active products of the organization not linked yet)."""

    product = forms.ModelChoiceField(label=_("Link a product"), queryset=Product.objects.none())

    def __init__(self, *args, org: Organization, linked, **kwargs):
        kwargs.setdefault("prefix", "link")
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = (
            Product.objects.for_org(org)
            .filter(is_active=True)
            .exclude(pk__in=linked)
            .select_related("department")
            .order_by("name")
        )


class ProductUnlinkForm(forms.Form):
    """The product whose link to remove (among the record's linked products)."""

    product = forms.ModelChoiceField(queryset=Product.objects.none())

    def __init__(self, *args, org: Organization, linked, **kwargs):
        kwargs.setdefault("prefix", "unlink")
        super().__init__(*args, **kwargs)
        self.fields["product"].queryset = Product.objects.for_org(org).filter(pk__in=linked)


class MergeForm(forms.Form):
    """One duplicate group: the contacts to merge and which of them is kept."""

    primary = forms.ModelChoiceField(
        label=_("Keep"), queryset=Contact.objects.none(), widget=forms.RadioSelect
    )
    contacts = forms.ModelMultipleChoiceField(
        label=_("Merge"), queryset=Contact.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, org: Organization, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("primary", "contacts"):
            self.fields[name].queryset = Contact.objects.for_org(org)

    def clean(self):
        data = super().clean()
        primary, contacts = data.get("primary"), data.get("contacts")
        if primary is not None and contacts is not None:
            data["duplicates"] = [c for c in contacts if c.pk != primary.pk]
            if not data["duplicates"]:
                raise forms.ValidationError(
                    _("Choose at least one other contact to merge into the one you keep.")
                )
        return data
