"""Forms of the CRM's ticket page and "New ticket" (CRM-10, CRM-11).

Choices that come from the desk (departments, statuses, agents) are given as lists read in
the desk's scope by the view, never as querysets: a form renders outside that scope, where
another organization's desk rows are invisible. The services read the chosen rows again."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tickets.forms import MultipleFileField
from helpdesk.tickets.models import Priority

from .models import CrmContact

MESSAGE_MAX = 20_000


def _body(required: bool = True) -> forms.CharField:
    return forms.CharField(
        label=_("Message"),
        required=required,
        max_length=MESSAGE_MAX,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("Write a message.")},
    )


def _files() -> MultipleFileField:
    return MultipleFileField(label=_("Attachments"), required=False)


class ReplyForm(forms.Form):
    body = _body()
    cc = forms.CharField(label=_("Cc"), required=False, max_length=1000)
    files = _files()


class ForwardForm(forms.Form):
    to = forms.CharField(
        label=pgettext_lazy("email recipients", "To"),
        max_length=1000,
        error_messages={"required": _("Enter at least one address to forward to.")},
    )
    cc = forms.CharField(label=_("Cc"), required=False, max_length=1000)
    body = _body(required=False)
    files = _files()


class CommentForm(forms.Form):
    body = _body(required=False)
    files = _files()


class TicketFieldsForm(forms.Form):
    """ "Update fields": what the desk's properties panel lets an agent change."""

    status = forms.TypedChoiceField(label=_("Status"), coerce=int)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    owner = forms.TypedChoiceField(label=_("Owner"), coerce=int, required=False, empty_value=None)
    due_at = forms.DateTimeField(
        label=_("Due date"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )
    department = forms.TypedChoiceField(
        label=_("Department"), coerce=int, required=False, empty_value=None
    )

    def __init__(
        self,
        *args,
        statuses: list[tuple[int, str]],
        owners: list[tuple[int, str]],
        departments: list[tuple[int, str]] | None,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.fields["status"].choices = statuses
        self.fields["owner"].choices = [("", _("Unassigned")), *owners]
        if departments is None:  # moving is for agents of the ticket's own department
            del self.fields["department"]
        else:
            self.fields["department"].choices = departments


class TicketCreateForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=255)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=MESSAGE_MAX,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    department = forms.TypedChoiceField(label=_("Department"), coerce=int)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial="medium")
    contact = forms.TypedChoiceField(
        label=_("Contact"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=_("Choose one of the record's contacts, or add a new contact below."),
    )
    new_first_name = forms.CharField(label=_("First name"), required=False, max_length=100)
    new_last_name = forms.CharField(label=_("Last name"), required=False, max_length=100)
    new_email = forms.EmailField(label=_("Email"), required=False)
    files = _files()

    def __init__(
        self,
        *args,
        contacts: list[CrmContact],
        departments: list[tuple[int, str]],
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.contacts = {c.pk: c for c in contacts}
        self.fields["contact"].choices = [("", _("— A new contact —"))] + [
            (c.pk, f"{c.name} <{c.email}>" if c.email else c.name) for c in contacts
        ]
        self.fields["department"].choices = departments

    def clean(self):
        data = super().clean()
        new = data.get("new_last_name") or data.get("new_email")
        missing = data.get("contact") is None and not new
        if missing and "contact" not in self.errors:
            self.add_error(
                "contact", _("Choose a contact, or enter a new contact's name and email.")
            )
        return data

    def chosen_contact(self) -> CrmContact | None:
        pk = self.cleaned_data.get("contact")
        return self.contacts.get(pk) if pk is not None else None
