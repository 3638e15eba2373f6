"""Forms of the rules' Setup pages. Every choice is limited to the organization. The criteria
travel as JSON in one field (the builder, static/js/conditions.js, writes it; without
JavaScript an admin edits the JSON, and the parser's messages say what to fix)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import Department, DeskRole, Membership, Team, User

from ..canned.placeholders import PLACEHOLDERS, as_code
from ..models import Priority, TicketStatus
from .models import AssignmentRule, Trigger, WorkflowRule
from .services import NOTIFY_CHOICES


class MemberChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.display_name


class MemberMultipleChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} <{obj.email}>"


def _members(org: Any, *, agents: bool) -> Any:
    members = Membership.objects.for_org(org).filter(status=Membership.Status.ACTIVE)
    if agents:
        members = members.filter(desk_role__in=[DeskRole.ADMIN, DeskRole.AGENT])
    return User.objects.filter(memberships__in=members).order_by("full_name", "email")


class RuleForm(forms.ModelForm):
    condition_json = forms.CharField(
        label=_("Criteria"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "class": "mono", "data-condition-json": ""}),
        help_text=_(
            'Tickets the rule applies to, as JSON: {"all": [{"field": "priority", "op": "is", '
            '"value": "high"}]}. Leave empty for every ticket.'
        ),
    )

    def __init__(self, *args: Any, org: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.org = org
        departments = Department.objects.for_org(org).order_by("name")
        self.fields["department"].queryset = departments  # type: ignore[attr-defined]
        self.fields["department"].empty_label = _("All departments")  # type: ignore[attr-defined]
        if not self.is_bound and self.instance.condition:
            self.initial["condition_json"] = json.dumps(
                self.instance.condition, ensure_ascii=False, indent=1
            )

    def clean_condition_json(self) -> Any:
        text = (self.cleaned_data.get("condition_json") or "").strip()
        if not text:
            return {}
        try:
            return json.loads(text)
        except ValueError:
            raise forms.ValidationError(
                _("The criteria are not valid JSON. Check the brackets and quotes.")
            ) from None


class AssignmentRuleForm(RuleForm):
    to_owner = MemberChoiceField(queryset=User.objects.none(), required=False, label=_("Agent"))

    class Meta:
        model = AssignmentRule
        fields = ["name", "description", "department", "to_department", "to_owner", "to_team"]

    def __init__(self, *args: Any, org: Any, **kwargs: Any) -> None:
        super().__init__(*args, org=org, **kwargs)
        self.fields["to_department"].queryset = Department.objects.for_org(org).filter(  # type: ignore[attr-defined]
            is_enabled=True
        )
        self.fields["to_department"].empty_label = _("Keep the department")  # type: ignore[attr-defined]
        self.fields["to_owner"].queryset = _members(org, agents=True)  # type: ignore[attr-defined]
        self.fields["to_team"].queryset = Team.objects.for_org(org).select_related("department")  # type: ignore[attr-defined]


class WorkflowRuleForm(RuleForm):
    trigger_field = forms.ChoiceField(label=_("Field that changes"), required=False)
    set_priority = forms.ChoiceField(
        label=_("Set priority"), required=False, choices=[("", "—"), *Priority.choices]
    )
    set_status = forms.ModelChoiceField(
        label=_("Set status"), required=False, queryset=TicketStatus.objects.none()
    )
    set_owner = MemberChoiceField(
        label=_("Set owner"), required=False, queryset=User.objects.none()
    )
    custom_updates = forms.CharField(
        label=_("Set custom fields"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}),
        help_text=_(
            'As JSON, by field key: {"plan": "gold"}. Only fields of the rule\'s department.'
        ),
    )
    notify = forms.MultipleChoiceField(
        label=_("Mail to"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        choices=[
            ("owner", _("The ticket's owner")),
            ("contact", _("The contact")),
            ("followers", _("The ticket's followers")),
        ],
    )
    notify_users = MemberMultipleChoiceField(
        label=_("Mail these members"), required=False, queryset=User.objects.none()
    )
    notify_addresses_text = forms.CharField(
        label=_("Mail these addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One address a line."),
    )

    class Meta:
        model = WorkflowRule
        fields = ["name", "description", "department", "trigger", "mail_subject", "mail_body"]
        widgets = {"mail_body": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args: Any, org: Any, field_choices: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, org=org, **kwargs)
        rule: WorkflowRule = self.instance
        self.fields["trigger"].choices = Trigger.choices  # type: ignore[attr-defined]
        self.fields["trigger_field"].choices = [("", "—"), *field_choices]  # type: ignore[attr-defined]
        self.fields["set_status"].queryset = (  # type: ignore[attr-defined]
            TicketStatus.objects.for_org(org)
            .select_related("department")
            .order_by("department__name", "order")
        )
        self.fields["set_status"].label_from_instance = (  # type: ignore[attr-defined]
            lambda s: f"{s.department.name}: {s.name}"
        )
        self.fields["set_owner"].queryset = _members(org, agents=True)  # type: ignore[attr-defined]
        self.fields["notify_users"].queryset = _members(org, agents=False)  # type: ignore[attr-defined]
        if not self.is_bound:
            updates = rule.field_updates or {}
            custom = {k[3:]: v for k, v in updates.items() if k.startswith("cf.")}
            self.initial.update(
                trigger_field=rule.trigger_field,
                set_priority=updates.get("priority", ""),
                set_status=updates.get("status"),
                set_owner=updates.get("owner"),
                custom_updates=json.dumps(custom, ensure_ascii=False) if custom else "",
                notify=rule.notify,
                notify_users=rule.notify_users,
                notify_addresses_text="\n".join(rule.notify_addresses or []),
            )

    @staticmethod
    def placeholders() -> list[tuple[str, str]]:
        """The canned-response placeholders; in a rule's mail "agent" is the ticket's owner."""
        labels = {**PLACEHOLDERS, "agent.name": _("The ticket's owner")}
        return [(as_code(name), str(label)) for name, label in labels.items()]

    def clean_custom_updates(self) -> dict[str, Any]:
        text = (self.cleaned_data.get("custom_updates") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            raise forms.ValidationError(_('Write the fields as JSON: {"key": "value"}.'))
        return value

    def apply(self) -> WorkflowRule:
        """The rule with the form's values (checked by the service when it is saved)."""
        rule: WorkflowRule = self.instance
        data = self.cleaned_data
        rule.trigger_field = data.get("trigger_field") or ""
        updates: dict[str, Any] = {}
        if data.get("set_priority"):
            updates["priority"] = data["set_priority"]
        if data.get("set_status") is not None:
            updates["status"] = data["set_status"].pk
        if data.get("set_owner") is not None:
            updates["owner"] = data["set_owner"].pk
        updates.update({f"cf.{k}": v for k, v in data.get("custom_updates", {}).items()})
        rule.field_updates = updates
        rule.notify = [n for n in NOTIFY_CHOICES if n in data.get("notify", [])]
        rule.notify_users = [u.pk for u in data.get("notify_users") or []]
        text = data.get("notify_addresses_text") or ""
        rule.notify_addresses = [a for a in text.replace(",", "\n").split() if a]
        return rule
