"""Setup → Rules (TKT-09): assignment and workflow rules (list, create, edit, reorder, enable,
delete), round robin per department and the agents' availability; and in the Desk, an
agent's own availability."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.http import apply_errors
from helpdesk.tenancy.models import App, Department, Membership, Team
from helpdesk.tenancy.permissions import require_app, require_app_admin

from ..conditions import OPERATOR_LABELS, ConditionError, Schema, T, parse, schema_for
from ..conditions.schema import UNITS
from ..models import TicketStatus
from .forms import AssignmentRuleForm, WorkflowRuleForm, _members
from .models import AssignmentRule, RoundRobin, WorkflowRule
from .services import (
    availability_set,
    desk_agents,
    is_away,
    round_robin_set,
    rule_delete,
    rule_enable,
    rule_move,
    rule_save,
)

desk_admin_required = require_app_admin(App.DESK)
KINDS: dict[str, Any] = {"assignment": AssignmentRule, "workflow": WorkflowRule}


def builder_schema(org: Any) -> dict[str, Any]:
    """What the condition builder offers: each field with its type, operators and (for choices
    and references) values; custom fields of every department, named with their department."""
    schema = schema_for(org)
    choices: dict[str, list[tuple[Any, str]]] = {
        "department": [(d.pk, d.name) for d in Department.objects.for_org(org).order_by("name")],
        "status": [
            (s.pk, f"{s.department.name}: {s.name}")
            for s in TicketStatus.objects.for_org(org)
            .select_related("department")
            .order_by("department__name", "order")
        ],
        "owner": [(u.pk, u.display_name) for u in _members(org, agents=True)],
        "team": [
            (t.pk, f"{t.department.name}: {t.name}")
            for t in Team.objects.for_org(org).select_related("department")
        ],
    }
    fields = []
    # Fields apps provide to some organizations (the CRM's, CRM-17) come last, in their group.
    for spec in schema.all_fields().values():
        label = spec.label
        if spec.custom is not None:
            label = f"{spec.label} ({spec.custom.department.name})"
        values = choices.get(spec.name) or list(spec.choices)
        fields.append(
            {
                "name": spec.name,
                "label": label,
                "group": spec.group,
                "type": spec.type,
                "operators": [[op, str(OPERATOR_LABELS[op])] for op in spec.operators],
                "choices": [[str(k), v] for k, v in values],
                # Contacts and accounts are too many for a list: their id is typed.
                "numeric": spec.type in (T.REFERENCE, T.TEAM) and spec.name not in choices,
            }
        )
    return {
        "fields": fields,
        "units": [[k, str(v)] for k, v in UNITS.items()],
        "labels": {
            "all": _("All of these conditions"),
            "any": _("Any of these conditions"),
            "add": _("Add a condition"),
            "remove": _("Remove"),
            "field": _("Field"),
            "operator": _("Operator"),
            "value": _("Value"),
            "from": _("From"),
            "to": _("To"),
            "amount": _("Amount"),
            "unit": _("Unit"),
            "match": _("Match"),
            "json": _("Edit as JSON"),
            "nested": _("The builder shows one group of conditions: edit these criteria as JSON."),
            "empty": _("No conditions: the rule applies to every ticket."),
            "yes": _("Yes"),
            "no": _("No"),
            "unknown": _(
                "These criteria name a field that is not available now: edit them as JSON."
            ),
        },
    }


def condition_problems(org: Any, rule: Any, schemas: dict[Any, Schema] | None = None) -> list[str]:
    """Why the rule's stored criteria cannot be read now (a custom field removed, the CRM
    integration that gave its CRM fields removed): the rule matches no ticket until fixed.
    `schemas` keeps each department's schema for the next rule."""
    schemas = {} if schemas is None else schemas
    key = rule.department_id
    if key not in schemas:
        schemas[key] = schema_for(org, department=key)
    try:
        parse(rule.condition or {}, schema=schemas[key], org=org, check_refs=False)
    except ConditionError as exc:
        return list(exc.messages)
    return []


def _trigger_fields(org: Any) -> list[tuple[str, str]]:
    schema = schema_for(org)
    names = ["priority", "status", "owner", "department", "due_at", "subject", "contact"]
    out = [(n, schema.fields[n].label) for n in names]
    out += [(n, s.label) for n, s in schema.fields.items() if n.startswith("cf.")]
    return out


@desk_admin_required
def rules_home(request: HttpRequest) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    departments = list(Department.objects.for_org(org).order_by("name"))
    on = set(
        RoundRobin.objects.for_org(org)
        .filter(team__isnull=True, is_enabled=True)
        .values_list("department_id", flat=True)
    )
    for department in departments:
        department.round_robin = department.pk in on  # type: ignore[attr-defined]
    assignment_rules = list(
        AssignmentRule.objects.for_org(org)
        .select_related("department", "to_department", "to_owner", "to_team")
        .order_by("order", "pk")
    )
    workflow_rules = list(
        WorkflowRule.objects.for_org(org).select_related("department").order_by("order", "pk")
    )
    schemas: dict[Any, Schema] = {}
    for rule in assignment_rules + workflow_rules:
        rule.problems = condition_problems(org, rule, schemas)  # type: ignore[attr-defined]
    return render(
        request,
        "rules/home.html",
        {
            "assignment_rules": assignment_rules,
            "workflow_rules": workflow_rules,
            "departments": departments,
            "agents": desk_agents(org),
        },
    )


def _rule(request: HttpRequest, kind: str, rule_id: int) -> Any:
    return get_object_or_404(KINDS[kind].objects.for_org(request.org), pk=rule_id)  # type: ignore[attr-defined]


def _edit(request: HttpRequest, kind: str, rule_id: int | None) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    rule = KINDS[kind](org=org) if rule_id is None else _rule(request, kind, rule_id)
    kwargs: dict[str, Any] = {"org": org, "instance": rule}
    if kind == "workflow":
        kwargs["field_choices"] = _trigger_fields(org)
        form: Any = WorkflowRuleForm(request.POST or None, **kwargs)
    else:
        form = AssignmentRuleForm(request.POST or None, **kwargs)
    if request.method == "POST" and form.is_valid():
        if kind == "workflow":
            form.apply()
        try:
            rule_save(
                actor=request.membership,  # type: ignore[attr-defined]
                rule=form.instance,
                condition=form.cleaned_data["condition_json"],
            )
        except ValidationError as exc:
            if not hasattr(exc, "error_dict"):
                apply_errors(form, exc)
            errors = dict(getattr(exc, "error_dict", {}))
            for ours, theirs in (
                ("condition", "condition_json"),
                ("notify_addresses", "notify_addresses_text"),
            ):
                if ours in errors:
                    form.add_error(theirs, errors.pop(ours))
            if errors:
                apply_errors(form, ValidationError(errors))
        else:
            messages.success(request, _("Rule “%(name)s” saved.") % {"name": form.instance.name})
            return redirect("rules:rules", portal=org.portal)
    return render(
        request,
        f"rules/{kind}_form.html",
        {
            "form": form,
            "rule": rule if rule.pk else None,
            "kind": kind,
            "builder": builder_schema(org),
            "problems": condition_problems(org, rule) if rule.pk and not form.is_bound else [],
        },
        status=400 if form.errors else 200,
    )


@desk_admin_required
def assignment_edit(request: HttpRequest, assignment_rule_id: int | None = None) -> HttpResponse:
    return _edit(request, "assignment", assignment_rule_id)


@desk_admin_required
def workflow_edit(request: HttpRequest, workflow_rule_id: int | None = None) -> HttpResponse:
    return _edit(request, "workflow", workflow_rule_id)


def _action(request: HttpRequest, kind: str, rule_id: int) -> HttpResponse:
    rule = _rule(request, kind, rule_id)
    actor = request.membership  # type: ignore[attr-defined]
    action = request.POST.get("action", "")
    if action in ("up", "down"):
        rule_move(actor=actor, rule=rule, up=action == "up")
    elif action in ("enable", "disable"):
        rule_enable(actor=actor, rule=rule, enabled=action == "enable")
        state = _("enabled") if action == "enable" else _("disabled")
        messages.success(request, _("Rule “%(name)s” %(state)s.") % {"name": rule, "state": state})
    elif action == "delete":
        rule_delete(actor=actor, rule=rule)
        messages.success(request, _("Rule “%(name)s” deleted.") % {"name": rule})
    else:
        messages.error(request, _("Choose an action."))
    return redirect("rules:rules", portal=request.org.portal)  # type: ignore[attr-defined]


@require_POST
@desk_admin_required
def assignment_action(request: HttpRequest, assignment_rule_id: int) -> HttpResponse:
    return _action(request, "assignment", assignment_rule_id)


@require_POST
@desk_admin_required
def workflow_action(request: HttpRequest, workflow_rule_id: int) -> HttpResponse:
    return _action(request, "workflow", workflow_rule_id)


@require_POST
@desk_admin_required
def round_robin_toggle(request: HttpRequest, dept_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    department = get_object_or_404(Department.objects.for_org(org), pk=dept_id)
    enabled = request.POST.get("enabled") == "1"
    round_robin_set(actor=request.membership, department=department, enabled=enabled)  # type: ignore[attr-defined]
    text = (
        _("Round robin is on for %(department)s.")
        if enabled
        else _("Round robin is off for %(department)s.")
    )
    messages.success(request, text % {"department": department.name})
    return redirect("rules:rules", portal=org.portal)


@require_POST
@desk_admin_required
def availability_toggle(request: HttpRequest, member_id: int) -> HttpResponse:
    org = request.org  # type: ignore[attr-defined]
    member = get_object_or_404(Membership.objects.for_org(org).select_related("user"), pk=member_id)
    away = request.POST.get("away") == "1"
    availability_set(actor=request.membership, member=member, away=away)  # type: ignore[attr-defined]
    return redirect("rules:rules", portal=org.portal)


@require_app(App.DESK)
def my_availability(request: HttpRequest) -> HttpResponse:
    """The agent's own availability: a small form (a fragment for htmx, else a page)."""
    member = request.membership  # type: ignore[attr-defined]
    if request.method == "POST":
        away = request.POST.get("away") == "1"
        availability_set(actor=member, member=member, away=away)
        if not request.htmx:  # type: ignore[attr-defined]
            messages.success(
                request,
                _("You are away: round robin gives you no tickets.")
                if away
                else _("You are available for round robin."),
            )
            return redirect("desk:rules_availability", portal=request.org.portal)  # type: ignore[attr-defined]
    context = {"away": is_away(member)}
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "rules/_availability.html", context)
    return render(request, "rules/availability.html", context)
