"""Forms of activities, time entries and the activities list's filters."""

from __future__ import annotations

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..models import Priority
from .models import MAX_CALL_MINUTES, Activity, ActivityKind, ActivityStatus, CallDirection
from .selectors import SORTS, ActivityFilters
from .services import ActivityInput, TimeInput, format_minutes, owner_candidates, parse_duration

DATETIME = {"type": "datetime-local"}
DATETIME_FORMAT = "%Y-%m-%dT%H:%M"


def _datetime_field(label) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=False,
        input_formats=[DATETIME_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
        widget=forms.DateTimeInput(attrs=DATETIME, format=DATETIME_FORMAT),
    )


class ActivityForm(forms.Form):
    """A task, call or event. The fields of the other kinds are shown (without JavaScript)
    and ignored by the service."""

    kind = forms.ChoiceField(label=_("Type"), choices=ActivityKind.choices)
    subject = forms.CharField(label=_("Subject"), max_length=255)
    owner = forms.TypedChoiceField(label=_("Owner"), coerce=int, required=False, empty_value=None)
    status = forms.ChoiceField(label=_("Status"), choices=ActivityStatus.choices)
    priority = forms.ChoiceField(label=_("Priority"), choices=Priority.choices)
    due_at = _datetime_field(_("Due (tasks)"))
    starts_at = _datetime_field(_("Starts (calls and events)"))
    ends_at = _datetime_field(_("Ends (events)"))
    direction = forms.ChoiceField(
        label=_("Call direction"),
        choices=[("", "—"), *CallDirection.choices],
        required=False,
    )
    call_minutes = forms.IntegerField(
        label=_("Call duration (minutes)"), min_value=0, max_value=MAX_CALL_MINUTES, required=False
    )
    description = forms.CharField(
        label=_("Description"),
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, org, **kwargs):
        # Its own ids: the ticket page has other forms with a due date, a status, an owner.
        kwargs.setdefault("auto_id", "activity_%s")
        super().__init__(*args, **kwargs)
        self.owners = {u.pk: u for u in owner_candidates(org)}
        self.fields["owner"].choices = [("", _("Nobody"))] + [
            (pk, u.display_name) for pk, u in self.owners.items()
        ]

    @classmethod
    def initial_for(cls, activity: Activity) -> dict:
        return {
            "kind": activity.kind,
            "subject": activity.subject,
            "owner": activity.owner_id,
            "status": activity.status,
            "priority": activity.priority,
            "due_at": _local(activity.due_at) if activity.kind == ActivityKind.TASK else None,
            "starts_at": _local(activity.starts_at),
            "ends_at": _local(activity.ends_at),
            "direction": activity.direction,
            "call_minutes": activity.call_minutes,
            "description": activity.description,
        }

    def activity_input(self) -> ActivityInput:
        data = self.cleaned_data
        owner_id = data.get("owner")
        return ActivityInput(
            kind=data["kind"],
            subject=data["subject"],
            owner=self.owners.get(owner_id) if owner_id else None,
            description=data.get("description") or "",
            status=data["status"],
            priority=data["priority"],
            due_at=data.get("due_at"),
            starts_at=data.get("starts_at"),
            ends_at=data.get("ends_at"),
            direction=data.get("direction") or "",
            call_minutes=data.get("call_minutes"),
        )


def _local(value):
    return timezone.localtime(value) if value is not None else None


class DurationField(forms.Field):
    """Minutes, typed as "90", "1:30", "1h30m" or "45m"."""

    widget = forms.TextInput(attrs={"maxlength": "20", "inputmode": "text"})

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _("Hours and minutes, e.g. 1:30, or minutes, e.g. 45."))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return format_minutes(value) if isinstance(value, int) else value

    def to_python(self, value):
        text = str(value or "").strip()[:20]
        if text in self.empty_values:
            return None
        minutes = parse_duration(text)
        if minutes is None:
            raise forms.ValidationError(
                _("Enter a duration such as 1:30 (hours:minutes) or 45 (minutes).")
            )
        return minutes


class TimeEntryForm(forms.Form):
    minutes = DurationField(label=_("Duration"))
    work_date = forms.DateField(
        label=pgettext_lazy("time entry", "Date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    billable = forms.BooleanField(label=_("Billable"), required=False)
    billed = forms.BooleanField(label=_("Billed"), required=False)
    note = forms.CharField(
        label=_("Note"), max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "time_%s")
        super().__init__(*args, **kwargs)

    def time_input(self) -> TimeInput:
        data = self.cleaned_data
        return TimeInput(
            minutes=data["minutes"],
            work_date=data["work_date"],
            billable=data["billable"],
            billed=data["billed"],
            note=data["note"],
        )


class ActivityFilterForm(forms.Form):
    """The list's filters as the query string gives them; anything unknown is ignored."""

    kind = forms.ChoiceField(
        label=_("Type"), choices=[("", _("All types")), *ActivityKind.choices], required=False
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[
            ("open", _("Not done")),
            ("done", _("Done")),
            ("all", _("All")),
            *ActivityStatus.choices,
            ("spam", _("Spam")),
        ],
    )
    when = forms.ChoiceField(
        label=_("When"),
        required=False,
        choices=[
            ("", _("Any time")),
            ("overdue", _("Overdue")),
            ("today", _("Today")),
            ("upcoming", _("Upcoming")),
        ],
    )
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    sort = forms.ChoiceField(required=False, choices=[(k, k) for k in SORTS])

    def __init__(self, *args, owners=None, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("Me")), ("all", _("Everyone"))]
        choices += [(str(u.pk), u.display_name) for u in owners or []]
        self.fields["owner"].choices = choices

    def filters(self) -> ActivityFilters:
        if not self.is_valid():
            data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        else:
            data = self.cleaned_data
        return ActivityFilters(
            kind=data.get("kind") or "",
            status=data.get("status") or "open",
            when=data.get("when") or "",
            owner=data.get("owner") or "",
            sort=data.get("sort") or "due",
        )
