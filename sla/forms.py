"""Forms of Setup → SLA policies and of a blueprint state's SLA (TKT-09, BP-15). Durations are
typed as days, hours and minutes; escalation levels are one small form each (prefix
`<target>-<level>`), used only when ticked. Every choice is limited to the organization, and a
value of another organization gets a message saying so. The forms only read what was typed;
`sla.services.config` validates the rest (targets, offsets, the order of the levels) and
saves in one transaction."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.models import Department, DeskRole, Membership, Team
from helpdesk.tickets.mailtemplates.models import MailTemplate
from helpdesk.tickets.models import Priority

from . import durations
from .models import MAX_LEVEL, MAX_MINUTES, EscalationLevel, SlaPolicy, StateSla, When
from .services.config import LevelInput, PolicyInput, level_key

NUMBER_ERRORS = {
    "min_value": _("Use whole numbers of 0 or more."),
    "max_value": _("That is more than a year: use a shorter time."),
    "invalid": _("Use whole numbers of 0 or more."),
}
MODE_CHOICES = [
    ("business", _("Business hours (the department's schedule and holidays)")),
    ("calendar", _("Calendar hours (around the clock)")),
]
DAY_HELP = _("A day is 24 hours; in business hours, 24 working hours.")


def _number(label: Any) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=MAX_MINUTES,
        error_messages=NUMBER_ERRORS,
        widget=forms.NumberInput(attrs={"min": 0, "class": "duration-part"}),
    )


def add_duration(form: forms.Form, name: str, minutes: int | None) -> None:
    """Three fields `<name>_days`, `<name>_hours`, `<name>_minutes`, filled from `minutes`."""
    form.fields[f"{name}_days"] = _number(pgettext_lazy("duration", "Days"))
    form.fields[f"{name}_hours"] = _number(pgettext_lazy("duration", "Hours"))
    form.fields[f"{name}_minutes"] = _number(pgettext_lazy("duration", "Minutes"))
    if minutes is not None and not form.is_bound:
        days, hours, mins = durations.split(minutes)
        form.initial.update({f"{name}_days": days, f"{name}_hours": hours, f"{name}_minutes": mins})


def read_duration(form: forms.Form, name: str) -> int | None:
    """The typed duration in minutes; None when all three parts are empty (no target)."""
    parts = [form.cleaned_data.get(f"{name}_{p}") for p in ("days", "hours", "minutes")]
    if all(p is None for p in parts):
        return None
    return durations.join(*parts)


def duration_fields(form: forms.Form, name: str) -> list[Any]:
    return [form[f"{name}_{p}"] for p in ("days", "hours", "minutes")]


def _desk_users(org: Any) -> Any:
    active = Membership.objects.for_org(org).filter(status=Membership.Status.ACTIVE)
    return (
        get_user_model()
        .objects.filter(pk__in=active.exclude(desk_role="").values("user_id"))
        .order_by("full_name", "email")
    )


# --- One escalation level ---------------------------------------------------------------------
class LevelForm(forms.Form):
    """Level n of a target: on or off, when, the mail template and who gets it."""

    enabled = forms.BooleanField(required=False)
    when = forms.ChoiceField(label=_("When"), choices=When.choices, initial=When.AT)
    template = forms.ModelChoiceField(
        label=_("Mail template"),
        queryset=MailTemplate.objects.none(),
        required=False,
        error_messages={"invalid_choice": _("Choose a mail template of your organization.")},
    )
    notify_owner = forms.BooleanField(label=_("The ticket's owner"), required=False)
    notify_manager = forms.BooleanField(
        label=_("The owner's manager (“reports to”)"), required=False
    )
    users = forms.ModelMultipleChoiceField(
        label=_("Users"),
        queryset=get_user_model().objects.none(),
        required=False,
        error_messages={
            "invalid_choice": _("Choose active Desk members of your organization."),
            "invalid_pk_value": _("Choose active Desk members of your organization."),
        },
    )
    teams = forms.ModelMultipleChoiceField(
        label=_("Teams"),
        queryset=Team.objects.none(),
        required=False,
        error_messages={
            "invalid_choice": _("Choose teams of your organization."),
            "invalid_pk_value": _("Choose teams of your organization."),
        },
    )
    roles = forms.MultipleChoiceField(
        label=_("Roles"),
        choices=DeskRole.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Choose Desk roles.")},
    )

    def __init__(
        self,
        *args: Any,
        org: Any,
        target: str,
        level: int,
        existing: EscalationLevel | None = None,
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("prefix", level_key(target, level))
        super().__init__(*args, **kwargs)
        self.target, self.level = target, level
        self.key = level_key(target, level)
        self.fields["enabled"].label = _("Escalate at level %(n)d") % {"n": level}
        self.fields["template"].queryset = MailTemplate.objects.for_org(org).order_by("name")  # type: ignore[attr-defined]
        self.fields["template"].label_from_instance = lambda t: t.name  # type: ignore[attr-defined]
        self.fields["users"].queryset = _desk_users(org)  # type: ignore[attr-defined]
        self.fields["users"].label_from_instance = lambda u: f"{u.display_name} <{u.email}>"  # type: ignore[attr-defined]
        self.fields["teams"].queryset = (  # type: ignore[attr-defined]
            Team.objects.for_org(org).select_related("department").order_by("name")
        )
        self.fields["teams"].label_from_instance = lambda t: f"{t.name} ({t.department.name})"  # type: ignore[attr-defined]
        add_duration(self, "offset", existing.offset_minutes if existing else None)
        if existing is not None and not self.is_bound:
            self.initial.update(
                enabled=True,
                when=existing.when,
                template=existing.template_id,
                notify_owner=existing.notify_owner,
                notify_manager=existing.notify_manager,
                users=[u.pk for u in existing.users.all()],
                teams=[t.pk for t in existing.teams.all()],
                roles=list(existing.roles or []),
            )

    @property
    def is_on(self) -> bool:
        if self.is_bound:
            return bool(self.data.get(self.add_prefix("enabled")))
        return bool(self.initial.get("enabled"))

    def full_clean(self) -> None:
        """A level that is off is not read at all: whatever its fields hold is ignored."""
        if self.is_bound and not self.is_on:
            self.cleaned_data = {"enabled": False}
            self._errors = forms.utils.ErrorDict()
            return
        super().full_clean()

    def offset_fields(self) -> list[Any]:
        return duration_fields(self, "offset")

    def to_input(self) -> LevelInput | None:
        data = self.cleaned_data
        if not data.get("enabled"):
            return None
        return LevelInput(
            level=self.level,
            target=self.target,
            when=data["when"],
            offset_minutes=read_duration(self, "offset") or 0,
            template=data.get("template"),
            notify_owner=bool(data.get("notify_owner")),
            notify_manager=bool(data.get("notify_manager")),
            users=list(data.get("users") or []),
            teams=list(data.get("teams") or []),
            roles=list(data.get("roles") or []),
        )


def level_forms(
    data: Any, *, org: Any, targets: tuple[str, ...], existing: list[EscalationLevel]
) -> list[LevelForm]:
    """Levels 1..3 of each target, filled from the saved ones."""
    saved = {(lv.target, lv.level): lv for lv in existing}
    return [
        LevelForm(data, org=org, target=t, level=n, existing=saved.get((t, n)))
        for t in targets
        for n in range(1, MAX_LEVEL + 1)
    ]


# --- A policy ---------------------------------------------------------------------------------
class PolicyForm(forms.Form):
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.none(),
        error_messages={
            "invalid_choice": _("Choose a department of your organization."),
            "required": _("Choose a department."),
        },
    )
    priority = forms.ChoiceField(
        label=_("Priority"),
        choices=Priority.choices,
        error_messages={"invalid_choice": _("Choose a priority.")},
    )
    mode = forms.ChoiceField(
        label=_("Count"), choices=MODE_CHOICES, initial="business", widget=forms.RadioSelect
    )
    is_active = forms.BooleanField(
        label=_("Active: new and changed tickets of this department and priority get its clocks"),
        required=False,
        initial=True,
    )

    def __init__(
        self,
        *args: Any,
        org: Any,
        policy: SlaPolicy | None = None,
        department: Department | None = None,
        priority: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["department"].queryset = Department.objects.for_org(org).order_by("name")  # type: ignore[attr-defined]
        self.fields["department"].label_from_instance = lambda d: d.name  # type: ignore[attr-defined]
        add_duration(self, "first_response", policy.first_response_minutes if policy else None)
        add_duration(self, "resolution", policy.resolution_minutes if policy else None)
        if self.is_bound:
            return
        if policy is not None:
            self.initial.update(
                department=policy.department_id,
                priority=policy.priority,
                mode="business" if policy.business_hours else "calendar",
                is_active=policy.is_active,
            )
        else:
            self.initial.update(
                department=department.pk if department else None, priority=priority or ""
            )

    def first_response_fields(self) -> list[Any]:
        return duration_fields(self, "first_response")

    def resolution_fields(self) -> list[Any]:
        return duration_fields(self, "resolution")

    def to_input(self, levels: list[LevelForm]) -> PolicyInput:
        data = self.cleaned_data
        return PolicyInput(
            department=data["department"],
            priority=data["priority"],
            first_response_minutes=read_duration(self, "first_response"),
            resolution_minutes=read_duration(self, "resolution"),
            business_hours=data["mode"] == "business",
            is_active=bool(data.get("is_active")),
            levels=[lv for form in levels if (lv := form.to_input()) is not None],
        )


# --- A state's SLA ----------------------------------------------------------------------------
class StateSlaForm(forms.Form):
    mode = forms.ChoiceField(
        label=_("Count"), choices=MODE_CHOICES, initial="business", widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, state_sla: StateSla | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        add_duration(self, "sla", state_sla.minutes if state_sla else None)
        if state_sla is not None and not self.is_bound:
            self.initial["mode"] = "business" if state_sla.business_hours else "calendar"

    def sla_fields(self) -> list[Any]:
        return duration_fields(self, "sla")

    def minutes(self) -> int | None:
        return read_duration(self, "sla")
