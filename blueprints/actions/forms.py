"""Forms of the after-actions (BP-11): a name and department, then the settings of the type.
Every choice is limited to the organization; the service checks the config again."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import Department, DeskRole, Membership
from helpdesk.tickets.mailtemplates.models import MailTemplate
from helpdesk.tickets.models import Priority

from ..models import AfterAction, AfterActionType
from . import config as cfg


def _members(org: Any):
    active = Membership.objects.for_org(org).filter(status=Membership.Status.ACTIVE)
    return (
        get_user_model()
        .objects.filter(pk__in=active.exclude(desk_role="").values("user_id"))
        .order_by("full_name", "email")
    )


class AfterActionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.none())

    type: str = ""

    def __init__(self, *args: Any, org: Any, action: AfterAction | None = None, **kwargs: Any):
        if action is not None and action.pk and "initial" not in kwargs:
            kwargs["initial"] = {
                "name": action.name,
                "department": action.department_id,
                **self.initial_from(action.config),
            }
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["department"].queryset = Department.objects.for_org(org).order_by("name")  # type: ignore[attr-defined]
        self.fields["department"].label_from_instance = lambda d: d.name  # type: ignore[attr-defined]

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return dict(config)

    def config(self) -> dict[str, Any]:
        raise NotImplementedError


class EmailActionForm(AfterActionForm):
    type = AfterActionType.EMAIL
    template = forms.ModelChoiceField(
        label=_("Mail template"), queryset=MailTemplate.objects.none()
    )
    ticket_owner = forms.BooleanField(label=_("The ticket's owner"), required=False)
    contact = forms.BooleanField(label=_("The ticket's contact"), required=False)
    users = forms.ModelMultipleChoiceField(
        label=_("These users"),
        queryset=get_user_model().objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    roles = forms.MultipleChoiceField(
        label=_("Department agents with these roles"),
        choices=DeskRole.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = MailTemplate.objects.for_org(self.org)  # type: ignore[attr-defined]
        self.fields["template"].label_from_instance = lambda t: t.name  # type: ignore[attr-defined]
        self.fields["users"].queryset = _members(self.org)  # type: ignore[attr-defined]
        self.fields["users"].label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        return {**config, "template": config.get("template_id")}

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "template_id": data["template"].pk,
            "ticket_owner": data["ticket_owner"],
            "contact": data["contact"],
            "users": [u.pk for u in data["users"]],
            "roles": list(data["roles"]),
        }


class FieldUpdateActionForm(AfterActionForm):
    type = AfterActionType.FIELD_UPDATE
    priority = forms.ChoiceField(
        label=_("Set the priority to"), choices=[("", "—"), *Priority.choices], required=False
    )
    status = forms.IntegerField(label=_("Set the status to"), required=False, min_value=1)
    owner = forms.ModelChoiceField(
        label=_("Set the owner to"), queryset=get_user_model().objects.none(), required=False
    )
    custom_fields = forms.CharField(
        label=_('Set custom fields (JSON, e.g. {"meal": "vegetarian"})'),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = _members(self.org)  # type: ignore[attr-defined]
        self.fields["owner"].label_from_instance = lambda u: u.display_name  # type: ignore[attr-defined]
        self.fields["status"].widget = forms.Select(choices=self._statuses())

    def _statuses(self) -> list[tuple[Any, str]]:
        from helpdesk.tickets.models import TicketStatus

        rows = (
            TicketStatus.objects.for_org(self.org)
            .select_related("department")
            .order_by("department__name", "order", "pk")
        )
        return [("", "—"), *[(s.pk, f"{s.department.name} › {s.name}") for s in rows]]

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        fields = config.get("fields") or {}
        custom = {k[3:]: v for k, v in fields.items() if k.startswith("cf.")}
        return {
            "priority": fields.get("priority", ""),
            "status": fields.get("status"),
            "owner": fields.get("owner"),
            "custom_fields": json.dumps(custom, ensure_ascii=False) if custom else "",
        }

    def clean_custom_fields(self) -> dict[str, Any]:
        raw = (self.cleaned_data.get("custom_fields") or "").strip()
        if not raw:
            return {}
        try:
            value = json.loads(raw)
        except ValueError as exc:
            raise forms.ValidationError(
                _("This is not valid JSON: %(why)s") % {"why": exc}
            ) from exc
        if not isinstance(value, dict):
            raise forms.ValidationError(_("Give an object of field keys and values."))
        return value

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        fields: dict[str, Any] = {}
        if data.get("priority"):
            fields["priority"] = data["priority"]
        if data.get("status"):
            fields["status"] = data["status"]
        if data.get("owner"):
            fields["owner"] = data["owner"].pk
        fields.update({f"cf.{k}": v for k, v in (data.get("custom_fields") or {}).items()})
        return {"fields": fields}


class TaskActionForm(AfterActionForm):
    type = AfterActionType.TASK
    subject = forms.CharField(label=_("Task subject"), max_length=255)
    owner = forms.ChoiceField(label=_("Owner"))
    due_days = forms.IntegerField(
        label=_("Due after (days)"), min_value=0, max_value=cfg.MAX_DUE_DAYS, initial=1
    )
    due_hours = forms.IntegerField(label=_("and hours"), min_value=0, max_value=23, initial=0)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices, initial="medium")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [  # type: ignore[attr-defined]
            (cfg.TICKET_OWNER, _("The ticket's owner")),
            *[(str(u.pk), u.display_name) for u in _members(self.org)],
        ]

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        owner = data["owner"]
        return {
            "subject": data["subject"],
            "owner": owner if owner == cfg.TICKET_OWNER else int(owner),
            "due_days": data["due_days"],
            "due_hours": data["due_hours"],
            "priority": data["priority"],
        }


class WebhookActionForm(AfterActionForm):
    type = AfterActionType.WEBHOOK
    url = forms.CharField(label=_("URL"), max_length=2000)
    method = forms.ChoiceField(
        label=_("Method"), choices=[(m, m) for m in ("POST", "PUT", "PATCH")]
    )
    headers = forms.CharField(
        label=_("Headers (one “Name: value” a line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    timeout = forms.IntegerField(
        label=_("Timeout (seconds)"), min_value=1, max_value=cfg.MAX_TIMEOUT, initial=10
    )
    update_fields = forms.BooleanField(
        label=_('Let the answer update fields ({"fields": {...}})'), required=False
    )

    def initial_from(self, config: dict[str, Any]) -> dict[str, Any]:
        headers = "\n".join(f"{k}: {v}" for k, v in (config.get("headers") or {}).items())
        return {**config, "headers": headers}

    def clean_headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for line in (self.cleaned_data.get("headers") or "").splitlines():
            if not line.strip():
                continue
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise forms.ValidationError(
                    _("Write each header as “Name: value”: %(line)s") % {"line": line}
                )
            headers[name.strip()] = value.strip()
        return headers

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "url": data["url"],
            "method": data["method"],
            "headers": data["headers"],
            "timeout": data["timeout"],
            "update_fields": data["update_fields"],
        }


FORMS: dict[str, type[AfterActionForm]] = {
    AfterActionType.EMAIL: EmailActionForm,
    AfterActionType.FIELD_UPDATE: FieldUpdateActionForm,
    AfterActionType.TASK: TaskActionForm,
    AfterActionType.WEBHOOK: WebhookActionForm,
}
