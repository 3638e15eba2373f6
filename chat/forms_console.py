"""Forms of the operators' console (issue 15, items 3 and 6): presence and limit, transfer,
chat to ticket. Every choice is limited to the organization."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import Department, Membership, Organization, User

from .models import ChatDepartment, Conversation, Presence
from .services.transfer import transfer_targets


class PresenceForm(forms.Form):
    presence = forms.ChoiceField(label=_("Presence"), choices=Presence.choices)
    max_chats = forms.IntegerField(label=_("Chats at once"), min_value=1, max_value=50)


class _UserChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: User) -> str:
        return obj.display_name


class _DepartmentChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: ChatDepartment) -> str:
        if obj.is_public:
            return obj.name
        return f"{obj.name} ({obj.get_visibility_display()})"


class TransferForm(forms.Form):
    """To one operator, or to one department: exactly one of the two."""

    user = _UserChoice(label=_("To an operator"), queryset=User.objects.none(), required=False)
    department = _DepartmentChoice(
        label=_("To a department"), queryset=ChatDepartment.objects.none(), required=False
    )

    def __init__(self, *args, actor: Membership, conversation: Conversation, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        targets = [m.user_id for m in transfer_targets(actor, conversation)]
        self.fields["user"].queryset = User.objects.filter(pk__in=targets).order_by(
            "full_name", "email"
        )
        self.fields["user"].empty_label = _("Choose an operator")
        self.fields["department"].queryset = (
            ChatDepartment.objects.for_org(actor.org)
            .filter(is_enabled=True)
            .exclude(pk=conversation.department_id)
            .order_by("name", "pk")
        )
        self.fields["department"].empty_label = _("Choose a department")

    def clean(self):
        data = super().clean()
        if not self.errors and bool(data.get("user")) == bool(data.get("department")):
            raise forms.ValidationError(_("Choose an operator or a department."))
        return data


class _DeskDepartmentChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: Department) -> str:
        return obj.name


class TicketForm(forms.Form):
    department = _DeskDepartmentChoice(
        label=_("Ticket's department"), queryset=Department.objects.none(), required=False
    )

    def __init__(self, *args, org: Organization, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["department"]
        field.queryset = Department.objects.for_org(org).filter(is_enabled=True).order_by("pk")
        field.empty_label = None
