"""What a rule changes on a ticket (TKT-09): the pipeline's steps write through `rule_change`,
the rules' one way to set ticket fields."""

from __future__ import annotations

from typing import Any

from ..fields import validate_custom_values
from ..helpcenter.ratings import rating_request
from ..models import CustomField, StatusKind
from ..pipeline import Context
from ..services import tickets as service
from ..services.followers import followers_notify
from ..services.history import diff, history_record
from ..services.owners import owner_notify


def rule_change(ctx: Context, *, rule_name: str, values: dict[str, Any]) -> dict[str, list[Any]]:
    """Set fields of `ctx.ticket` on a rule's behalf: the same checks of derived fields as the
    ticket services, a history row naming the rule, followers told of a status change.

    `values` holds ticket fields (department, status, priority, owner ...) and optionally
    `custom_fields` (values by key, already valid). A move to another department takes its
    default status (unless a status is given) and keeps only the custom values its layout
    knows. Returns the changes written."""
    ticket = ctx.ticket
    values = dict(values)
    custom = values.pop("custom_fields", None) or {}
    before = service._snapshot(ticket)
    old_department, old_kind = ticket.department_id, ticket.status_kind
    service._apply(ticket, values)
    moved = ticket.department_id != old_department
    if moved and "status" not in values:
        service._set_default_status(ticket)
    if moved or custom:
        definitions = list(
            CustomField.objects.for_org(ticket.org_id).filter(department=ticket.department_id)
        )
        known = {d.key for d in definitions if d.is_active}
        kept = {k: v for k, v in (ticket.custom_fields or {}).items() if k in known}
        kept.update(validate_custom_values(definitions, custom, partial=True))
        ticket.custom_fields = kept
    service._sync_derived(ticket, old_kind)
    after = service._snapshot(ticket)
    for key in before:
        after.setdefault(key, None)
    changes = diff(before, after)
    if not changes:
        return {}
    ticket.last_activity_at = ctx.now
    written = {name for name in changes if name in service.TRACKED}
    if moved or any(name.startswith("cf.") for name in changes):
        written.add("custom_fields")
    written |= {"status_kind", "priority_rank", "closed_at", "updated_at", "last_activity_at"}
    ticket.save(update_fields=sorted(written))
    # "_rule" names the rule: the history shows it as the change's actor ("Rule: <name>").
    recorded: dict[str, Any] = {**changes, "_rule": rule_name}
    row = history_record(ticket=ticket, actor=None, ip=None, action="rule", changes=recorded)
    if "status" in changes:
        followers_notify(ticket=ticket, actor=None, event="status", history=row)
        if ticket.status_kind == StatusKind.CLOSED and old_kind != StatusKind.CLOSED:
            rating_request(ticket)  # as when an agent closes it (TKT-04)
    if "owner" in changes and ctx.event == "update":
        # On create the ticket service tells the final owner, after the pipeline.
        owner_notify(ticket=ticket, event="assigned", actor=None)
    for name, (old, new) in changes.items():
        first = ctx.rule_changes.get(name, [old, new])[0]
        ctx.rule_changes[name] = [first, new]
    return changes
