"""The mailbox form: the password is never shown back ("leave blank to keep")."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import Department, Organization

from .models import Mailbox

# A host name or an IP address as typed in a mail client: no scheme, path, port or spaces.
_HOST_RE = re.compile(r"^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?\.?)$")


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = Mailbox
        fields = [
            "department",
            "host",
            "port",
            "security",
            "username",
            "password",
            "folder",
            "mark_seen",
            "import_existing",
            "enabled",
        ]
        widgets = {
            "host": forms.TextInput(
                attrs={"placeholder": "imap.example.com", "spellcheck": "false"}
            ),
            "username": forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        }
        help_texts = {
            "department": _("New messages become tickets of this department."),
            "folder": _("Usually INBOX."),
            "mark_seen": _("Leave off to keep the mailbox as it is; we remember what we read."),
            "import_existing": _(
                "Off: only messages that arrive from now on become tickets. On: every message "
                "already in the folder does too."
            ),
        }

    def __init__(self, *args, org: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.for_org(org).order_by("name")
        self.fields["department"].empty_label = None
        if self.instance.pk is not None:
            del self.fields["import_existing"]  # decided when it was added
            if self.instance.has_password:
                self.fields["password"].help_text = _("Leave blank to keep the saved password.")
        else:
            self.fields["password"].required = True

    def clean_host(self) -> str:
        host = self.cleaned_data["host"].strip()
        if not _HOST_RE.match(host) or ".." in host:
            raise ValidationError(
                _(
                    "Enter the server's name only, such as imap.example.com "
                    "(no “imap://”, port or path)."
                )
            )
        return host

    def clean_folder(self) -> str:
        folder = self.cleaned_data["folder"].strip()
        if any(c in folder for c in "\r\n\0"):
            raise ValidationError(_("A folder name cannot contain line breaks."))
        return folder or "INBOX"

    def clean_username(self) -> str:
        username = self.cleaned_data["username"].strip()
        if any(c in username for c in "\r\n\0"):
            raise ValidationError(_("A user name cannot contain line breaks."))
        return username

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if any(c in password for c in "\r\n\0"):
            raise ValidationError(_("A password cannot contain line breaks."))
        return password
