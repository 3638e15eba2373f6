"""Ticket forms. Every choice is limited to the member's organization and departments; the
services check again."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from customers.models import Account
from helpdesk.compiledreads import CompiledRead
from helpdesk.tenancy.models import Department, DepartmentAgent, Membership, User

from .fields import form_field
from .html import FORMATS, TEXT
from .models import Channel, CustomField, FieldType, Priority, TicketStatus
from .services.access import departments_for
from .services.layouts import statuses_for
from .services.tickets import UNSET, TicketInput

CF_PREFIX = "cf_"


def format_field() -> forms.ChoiceField:
    """The format of a text box's content (TKT-02): "text" unless the rich-text editor took
    the box over (static/js/editor.js sets "html"). Without JavaScript it stays "text"."""
    return forms.ChoiceField(
        choices=[(f, f) for f in FORMATS], required=False, initial=TEXT, widget=forms.HiddenInput
    )


def editor_textarea(rows: int) -> forms.Textarea:
    """A textarea the rich-text editor takes over when JavaScript runs."""
    return forms.Textarea(attrs={"rows": rows, "data-editor": ""})


class CustomFieldsMixin:
    """Adds the department's custom fields as `cf_<key>` form fields."""

    def add_custom_fields(
        self,
        department: Department | None,
        values: dict[str, Any],
        definitions: list[CustomField] | None = None,
    ):
        """`definitions`: the department's fields when the caller has them already."""
        self.custom_field_defs = []
        if department is None:
            return
        if definitions is None:
            definitions = CustomField.objects.for_org(department.org_id).filter(
                department=department
            )
        for definition in definitions:
            if not definition.is_active:
                continue
            name = CF_PREFIX + definition.key
            self.fields[name] = form_field(definition, values.get(definition.key))
            if definition.required:
                self.fields[name].widget.attrs["aria-required"] = "true"
            self.custom_field_defs.append(definition)

    def custom_values(self) -> dict[str, Any]:
        """Raw values by key, checked by the service's validator (one place for the rules)."""
        values = {}
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


def _owner_choices(org, department: Department | None) -> list[tuple[str, str]]:
    """Active agents of the department (of any department without one), in one query (SQL
    compiled once per process: every ticket page asks)."""
    if department is not None:
        users = _department_agents.all(org_id=org.pk, department_id=department.pk)
    else:
        users = _agents.all(org_id=org.pk)
    # As `User.display_name`: the name, else the address.
    return [("", _("Unassigned"))] + [(str(u.pk), u.full_name or u.email) for u in users]


def _agent_users(org_id, agents):
    active = Membership.objects.for_org(org_id).filter(status=Membership.Status.ACTIVE)
    return (
        User.objects.filter(pk__in=agents.values("user_id"), memberships__in=active)
        .order_by("full_name", "email")
        .only("pk", "full_name", "email")
    )


_department_agents: CompiledRead[User] = CompiledRead(
    lambda org_id, department_id: _agent_users(
        org_id, DepartmentAgent.objects.for_org(org_id).filter(department_id=department_id)
    )
)
_agents: CompiledRead[User] = CompiledRead(
    lambda org_id: _agent_users(org_id, DepartmentAgent.objects.for_org(org_id))
)


class TicketForm(CustomFieldsMixin, forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=255)
    department = forms.ModelChoiceField(
        label=_("Department"), queryset=Department.objects.none(), empty_label=None
    )
    contact_email = forms.EmailField(label=_("Contact email"), required=False)
    contact_name = forms.CharField(
        label=_("Contact name"),
        required=False,
        max_length=100,
        help_text=_("Used when the email is new: a contact is created."),
    )
    account = forms.ModelChoiceField(
        label=_("Account"), queryset=Account.objects.none(), required=False
    )
    description = forms.CharField(
        label=_("Description"), required=False, widget=editor_textarea(6), strip=False
    )
    description_format = format_field()
    status = forms.ModelChoiceField(
        label=_("Status"), queryset=TicketStatus.objects.none(), required=False
    )
    priority = forms.ChoiceField(
        label=_("Priority"), choices=Priority.choices, initial=Priority.MEDIUM
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices, initial=Channel.PHONE)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    due_at = forms.DateTimeField(
        label=_("Due date"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args, membership: Membership, custom_initial=None, **kwargs):
        super().__init__(*args, **kwargs)
        org = membership.org
        self.membership = membership
        departments = departments_for(membership)
        self.fields["department"].queryset = departments
        # Changing the department reloads its statuses, owners and custom fields.
        self.fields["department"].widget.attrs.update(
            {
                "hx-post": "",
                "hx-target": "#department-dependent",
                "hx-swap": "outerHTML",
                "hx-include": "closest form",
            }
        )
        self.fields["account"].queryset = Account.objects.for_org(org)
        department = self._chosen_department(departments)
        self.department = department
        self.fields["status"].queryset = (
            statuses_for(department) if department else TicketStatus.objects.none()
        )
        self.fields["owner"].choices = _owner_choices(org, department)
        self.add_custom_fields(department, custom_initial or {})

    def _chosen_department(self, departments):
        raw = self.data.get("department") if self.is_bound else self.initial.get("department")
        if isinstance(raw, Department):
            return raw
        try:
            return departments.filter(pk=int(raw)).first() if raw else departments.first()
        except (TypeError, ValueError):
            return None

    def clean_owner(self) -> User | None:
        value = self.cleaned_data.get("owner")
        if not value:
            return None
        return User.objects.filter(pk=value).first()

    def ticket_input(self) -> TicketInput:
        """Every field of the form. The contact is found or created from the email by the
        customers service, inside the ticket service's transaction."""
        data = self.cleaned_data
        return TicketInput(
            subject=data["subject"],
            department=data["department"],
            description=data.get("description") or "",
            description_format=data.get("description_format") or TEXT,
            priority=data["priority"],
            channel=data["channel"],
            owner=data.get("owner"),
            due_at=data.get("due_at"),
            account=data.get("account"),
            status=data.get("status") or UNSET,
            contact_email=data.get("contact_email") or "",
            contact_name=data.get("contact_name") or "",
            custom_fields=self.custom_values(),
        )


class TicketPropertiesForm(CustomFieldsMixin, forms.Form):
    """The properties panel of a ticket page: a partial update."""

    status = forms.ModelChoiceField(label=_("Status"), queryset=TicketStatus.objects.none())
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    due_at = forms.DateTimeField(
        label=_("Due date"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    channel = forms.ChoiceField(label=_("Channel"), choices=Channel.choices)

    def __init__(self, *args, membership: Membership, ticket, fields=None, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "status": ticket.status_id,
                "priority": ticket.priority,
                "owner": str(ticket.owner_id or ""),
                "due_at": ticket.due_at,
                "channel": ticket.channel,
            },
        )
        super().__init__(*args, **kwargs)
        org = membership.org
        self.fields["status"].queryset = TicketStatus.objects.for_org(org).filter(
            department=ticket.department_id
        )
        self.fields["owner"].choices = _owner_choices(org, ticket.department)
        self.add_custom_fields(ticket.department, ticket.custom_fields or {}, fields)

    def clean_owner(self) -> User | None:
        value = self.cleaned_data.get("owner")
        return User.objects.filter(pk=value).first() if value else None

    def ticket_input(self) -> TicketInput:
        data = self.cleaned_data
        return TicketInput(
            status=data["status"],
            priority=data["priority"],
            owner=data.get("owner"),
            due_at=data.get("due_at"),
            channel=data["channel"],
            custom_fields=self.custom_values(),
        )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class ThreadForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[("reply", _("Reply")), ("comment", _("Comment")), ("forward", _("Forward"))]
    )
    body = forms.CharField(
        label=_("Message"), required=False, widget=editor_textarea(5), strip=False
    )
    body_format = format_field()
    to = forms.CharField(
        label=pgettext_lazy("email recipients", "To"), required=False, max_length=1000
    )
    cc = forms.CharField(label=_("Cc"), required=False, max_length=1000)
    files = MultipleFileField(label=_("Attachments"), required=False)


class BulkForm(forms.Form):
    action = forms.ChoiceField(
        choices=[("assign", _("Assign")), ("status", _("Set status")), ("close", _("Close"))]
    )
    tickets = forms.TypedMultipleChoiceField(
        coerce=int,
        choices=(),
        required=True,
        error_messages={"required": _("Select at least one ticket.")},
    )
    owner = forms.CharField(required=False)
    status = forms.CharField(required=False, max_length=60)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Any number is accepted here; the service checks each one against the member.
        values = self.data.getlist("tickets") if hasattr(self.data, "getlist") else []
        self.fields["tickets"].choices = [(v, v) for v in values]

    def clean(self):
        data = super().clean()
        if data.get("action") == "status" and not data.get("status"):
            raise ValidationError(_("Choose the status to set."))
        return data


class StatusForm(forms.ModelForm):
    class Meta:
        model = TicketStatus
        fields = ["name", "kind", "is_default"]


class CustomFieldForm(forms.ModelForm):
    choices_text = forms.CharField(
        label=_("Pick list values"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One value per line (pick lists only)."),
    )

    class Meta:
        model = CustomField
        fields = ["label", "type", "required"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["type"].disabled = True
            self.fields["choices_text"].initial = "\n".join(self.instance.choices or [])

    def save_values(self) -> CustomField:
        field = self.instance
        field.choices = [
            line.strip()
            for line in self.cleaned_data.get("choices_text", "").splitlines()
            if line.strip()
        ]
        return field
