"""A ticket's history in words (TKT-05): what the ticket page shows for each history row.

History rows keep stored values (choice keys, lists of file names, ISO dates, booleans); this
module turns them into what a reader expects: the action as a verb in the reader's language
(its own message context, so "Created" the action is not "Created" the column header), each
field by its label, and each value as text (attachments by file name, choices by label)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.utils import formats, timezone
from django.utils.dateparse import parse_datetime
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy, pgettext_lazy

from .collab.models import ApprovalStatus, Decision, ShareLevel
from .helpcenter.models import RatingValue
from .models import Channel, CustomField, Priority, Ticket, TicketHistory

ACTION_LABELS: dict[str, Promise] = {
    "created": pgettext_lazy("history action", "Created"),
    "updated": pgettext_lazy("history action", "Updated"),
    "rule": pgettext_lazy("history action", "Changed by a rule"),  # TKT-09
    "reply": pgettext_lazy("history action", "Replied"),
    "forward": pgettext_lazy("history action", "Forwarded"),
    "comment": pgettext_lazy("history action", "Commented"),
    "bulk_assign": pgettext_lazy("history action", "Assigned (bulk)"),
    "bulk_status": pgettext_lazy("history action", "Status set (bulk)"),
    "bulk_close": pgettext_lazy("history action", "Closed (bulk)"),
    "contact_merged": pgettext_lazy("history action", "Contact merged"),
    "merged_into": pgettext_lazy("history action", "Merged into another ticket"),
    "merged_from": pgettext_lazy("history action", "Another ticket merged in"),
    "tag_added": pgettext_lazy("history action", "Tag added"),
    "tag_removed": pgettext_lazy("history action", "Tag removed"),
    "activity_added": pgettext_lazy("history action", "Activity added"),
    "activity_updated": pgettext_lazy("history action", "Activity changed"),
    "activity_completed": pgettext_lazy("history action", "Activity completed"),
    "activity_reopened": pgettext_lazy("history action", "Activity reopened"),
    "activity_spam": pgettext_lazy("history action", "Activity marked as spam"),
    "activity_not_spam": pgettext_lazy("history action", "Activity no longer spam"),
    "activity_deleted": pgettext_lazy("history action", "Activity deleted"),
    "time_added": pgettext_lazy("history action", "Time logged"),
    "time_updated": pgettext_lazy("history action", "Time entry changed"),
    "time_deleted": pgettext_lazy("history action", "Time entry deleted"),
    # TKT-07, TKT-08, TKT-04: a customer's message (help center, mail) and rating
    "incoming": pgettext_lazy("history action", "Customer replied"),
    "reopened": pgettext_lazy("history action", "Reopened by the customer's reply"),
    "rated": pgettext_lazy("history action", "Rated by the customer"),
    # TKT-04: approvals, solution, sharing (helpdesk/tickets/collab)
    "approval_requested": pgettext_lazy("history action", "Approval requested"),
    "approval_approved": pgettext_lazy("history action", "Approved"),
    "approval_rejected": pgettext_lazy("history action", "Rejected"),
    "approval_withdrawn": pgettext_lazy("history action", "Approval withdrawn"),
    "solution_added": pgettext_lazy("history action", "Solution added"),
    "solution_updated": pgettext_lazy("history action", "Solution changed"),
    "solution_reused": pgettext_lazy("history action", "Solution saved as a canned response"),
    "share_granted": pgettext_lazy("history action", "Shared with a department"),
    "share_changed": pgettext_lazy("history action", "Department access changed"),
    "share_revoked": pgettext_lazy("history action", "Sharing stopped"),
    # BP: blueprints (blueprints/engine)
    "blueprint_transition": pgettext_lazy("history action", "Blueprint transition"),
    "blueprint_reassigned": pgettext_lazy("history action", "Transition owner changed"),
    "blueprint_removed": pgettext_lazy("history action", "Removed from the blueprint"),
    # BP-15, TKT-09: an SLA escalation level fired (sla/sweep.py)
    "escalated": pgettext_lazy("history action", "Escalated"),
}

# Fields that history rows name but that are not columns of the ticket.
EXTRA_FIELD_LABELS: dict[str, Promise] = {
    "attachments": gettext_lazy("Attachments"),
    "tags": gettext_lazy("Tags"),
    "merged_into": pgettext_lazy("history field", "Merged into"),
    "merged_from": pgettext_lazy("history field", "Merged from"),
    "activity": pgettext_lazy("history field", "Activity"),
    "time": pgettext_lazy("history field", "Time"),
    "rating": pgettext_lazy("history field", "Rating"),
    "rating_comment": pgettext_lazy("history field", "Rating comment"),
    "approvers": gettext_lazy("Approvers"),
    "note": gettext_lazy("Note"),
    "decision": pgettext_lazy("history field", "Decision"),
    "comment": gettext_lazy("Comment"),
    "approval": pgettext_lazy("history field", "Approval"),
    "solution": gettext_lazy("Solution"),
    "canned_response": gettext_lazy("Canned response"),
    "shared_with": gettext_lazy("Shared with"),
    "transition": pgettext_lazy("history field", "Transition"),
    "transition_owner": pgettext_lazy("history field", "Transition owner"),
    "blueprint": pgettext_lazy("history field", "Blueprint"),
    "blueprint_version": pgettext_lazy("history field", "Blueprint version"),
    "sla_escalation": pgettext_lazy("history field", "SLA escalation"),
}

# An SLA escalation's stored value "<target>:<level>" (services/escalation.py) in words.
_SLA_TARGETS = {
    "first_response": gettext_lazy("First response"),
    "resolution": gettext_lazy("Resolution"),
    "state": pgettext_lazy("sla target", "Time in state"),
}
SLA_ESCALATION_LABELS = {
    f"{target}:{level}": format_lazy(
        pgettext_lazy("sla escalation", "{target}, level {level}"), target=label, level=level
    )
    for target, label in _SLA_TARGETS.items()
    for level in (1, 2, 3)
}

VALUE_LABELS: dict[str, dict[str, Any]] = {
    "priority": dict(Priority.choices),
    "channel": dict(Channel.choices),
    "rating": dict(RatingValue.choices),
    # TKT-04: stored as keys, shown in the reader's language
    "decision": dict(Decision.choices),
    "approval": dict(ApprovalStatus.choices),
    "shared_with": {level.name.lower(): level.label for level in ShareLevel},
    "sla_escalation": SLA_ESCALATION_LABELS,
}


@dataclass(frozen=True)
class Change:
    """One field of a history row: its label, and its value before and after as text
    ("" when there was none)."""

    label: str
    before: str
    after: str


@dataclass(frozen=True)
class HistoryRow:
    entry: TicketHistory
    action: str
    changes: list[Change]
    rule: str = ""  # the rule that made the change (TKT-09), shown as its actor


def action_label(action: str) -> str:
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action.replace("_", " ")


def field_label(name: str, fields: Sequence[CustomField]) -> str:
    """A history row's field in words: a custom field, a ticket field, or another name."""
    if name.startswith("cf."):
        return next((f.label for f in fields if f.key == name[3:]), name[3:])
    extra = EXTRA_FIELD_LABELS.get(name)
    if extra is not None:
        return str(extra)
    try:
        field = Ticket._meta.get_field(name)
    except FieldDoesNotExist:
        return name
    return str(getattr(field, "verbose_name", name)).capitalize()


def value_text(name: str, value: Any) -> str:
    """A stored value as a reader reads it: lists (file names, tags) joined, choices by their
    label, yes/no for booleans, dates in the active locale's format, "" for none."""
    if value is None or value == "" or value == []:
        return ""
    if isinstance(value, bool):
        return str(gettext_lazy("Yes") if value else gettext_lazy("No"))
    if isinstance(value, list | tuple):
        return ", ".join(value_text(name, v) for v in value if v not in (None, ""))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {value_text(name, v)}" for k, v in value.items())
    labels = VALUE_LABELS.get(name)
    if labels and isinstance(value, str) and value in labels:
        return str(labels[value])
    if isinstance(value, str) and "T" in value and value[:4].isdigit():
        moment = parse_datetime(value)
        if moment is not None:
            return formats.date_format(_local(moment), "Y-m-d H:i")
    return str(value)


def _local(moment: dt.datetime) -> dt.datetime:
    return timezone.localtime(moment) if timezone.is_aware(moment) else moment


def _changes(changes: dict[str, Any], fields: Sequence[CustomField]) -> list[Change]:
    shown = []
    for name, values in (changes or {}).items():
        if not isinstance(values, list | tuple):
            continue
        before = value_text(name, values[0] if len(values) > 0 else None)
        after = value_text(name, values[1] if len(values) > 1 else None)
        if before or after:  # a field left empty at creation says nothing
            shown.append(Change(label=field_label(name, fields), before=before, after=after))
    return shown


def history_rows(
    entries: Iterable[TicketHistory], fields: Sequence[CustomField]
) -> list[HistoryRow]:
    """Rows as the ticket page shows them; reads nothing beyond what it is given."""
    return [
        HistoryRow(
            entry=h,
            action=action_label(h.action),
            changes=_changes(h.changes, fields),
            rule=str((h.changes or {}).get("_rule") or ""),
        )
        for h in entries
    ]
