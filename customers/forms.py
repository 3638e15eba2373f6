"""Forms of the customers pages (CUS-01). Every choice of a tenant record is restricted to the
organization the form is built for; the services check the same again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from helpdesk.customvalues import FieldType, form_field
from helpdesk.tenancy.models import Department, Organization, User

from .models import Account, Contact, CustomerField, Product, RecordKind
from .selectors import desk_users
from .services import CF_PREFIX, TAG_MAX_LENGTH, TAGS_PER_RECORD, customer_fields


def _owner_choices(org: Organization, current_id: int | None):
    """Desk users of the organization, plus the current owner should they have lost access
    (so that saving another field does not fail on the owner)."""
    allowed = Q(pk__in=desk_users(org).values("pk"))
    if current_id:
        allowed |= Q(pk=current_id)
    return User.objects.filter(allowed).order_by("full_name", "email")


def _user_label(user: User) -> str:
    return f"{user.display_name} <{user.email}>" if user.full_name else user.email


class TagsInput(forms.TextInput):
    """A text box of comma-separated tags with its list of suggestions (a datalist filled by
    htmx from `customers:tag_suggest`, as the ticket page's tag box)."""

    def render(self, name, value, attrs=None, renderer=None):
        box = super().render(name, value, attrs, renderer)
        return format_html('{}<datalist id="{}"></datalist>', box, self.attrs["list"])


class RecordExtrasMixin:
    """The tags box and the organization's custom fields of contacts or accounts (CUS-01),
    added to a record's ModelForm; `service_values()` gives what the save service takes."""

    kind: str

    def add_extras(self, org: Organization) -> None:
        record = self.instance
        self.fields["tags"] = forms.CharField(
            label=_("Tags"),
            required=False,
            max_length=TAGS_PER_RECORD * (TAG_MAX_LENGTH + 2),
            help_text=_("Separate tags with commas."),
            initial=", ".join(record.tag_list) if record.pk else "",
            widget=TagsInput(
                attrs={
                    "autocomplete": "off",
                    "list": f"{self.kind}-tag-suggestions",
                    "hx-get": reverse("customers:tag_suggest", kwargs={"portal": org.portal}),
                    "hx-trigger": "input changed delay:200ms, focus once",
                    "hx-target": f"#{self.kind}-tag-suggestions",
                    "hx-swap": "innerHTML",
                    "hx-sync": "this:replace",
                }
            ),
        )
        values = record.custom_fields or {}
        self.custom_field_defs: list[CustomerField] = list(customer_fields(org, self.kind))
        for definition in self.custom_field_defs:
            name = CF_PREFIX + definition.key
            self.fields[name] = form_field(definition, values.get(definition.key))
            if definition.required:
                self.fields[name].widget.attrs["aria-required"] = "true"

    def custom_values(self) -> dict[str, Any]:
        """Raw values by key, checked by the service (one place for the rules)."""
        values: dict[str, Any] = {}
        for definition in self.custom_field_defs:
            raw = self.cleaned_data.get(CF_PREFIX + definition.key)
            if definition.type == FieldType.CHECKBOX:
                values[definition.key] = bool(raw)
            elif raw not in (None, ""):
                values[definition.key] = raw
        return values

    @property
    def custom_bound_fields(self):
        return [self[CF_PREFIX + d.key] for d in self.custom_field_defs]

    def service_values(self) -> dict[str, Any]:
        """The tags and custom values for `contact_save` / `account_save`."""
        return {"tags": self.cleaned_data.get("tags", ""), "custom_fields": self.custom_values()}


class ContactForm(RecordExtrasMixin, forms.ModelForm):
    kind = RecordKind.CONTACT

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
        self.add_extras(org)


class AccountForm(RecordExtrasMixin, forms.ModelForm):
    kind = RecordKind.ACCOUNT

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
        self.add_extras(org)


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


class CustomerFieldForm(forms.ModelForm):
    """A contact or account field's definition (Setup of the customers' fields)."""

    choices_text = forms.CharField(
        label=_("Pick list values"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One value per line (pick lists only)."),
    )

    class Meta:
        model = CustomerField
        fields = ["module", "label", "key", "type", "required"]
        widgets = {"module": forms.HiddenInput}
        help_texts = {
            "key": _(
                "Letters, digits, hyphens and underscores; made from the label when left blank. "
                "It cannot change later."
            )
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["key"].required = False
        if self.instance.pk:
            del self.fields["key"]
            self.fields["module"].disabled = True
            self.fields["choices_text"].initial = "\n".join(self.instance.choices or [])

    def save_values(self) -> CustomerField:
        field = self.instance
        field.choices = [
            line.strip()
            for line in self.cleaned_data.get("choices_text", "").splitlines()
            if line.strip()
        ]
        return field
