"""Forms of Setup → Blueprints (BP-01..BP-12): a blueprint's information, its states and a
transition with its before / during / after parts. Every choice is limited to the organization
(and the blueprint's department where it applies). The forms only read what was typed; the
services (`blueprints.services`) validate limits, criteria and connections and save in one
transaction. Criteria and validation rules travel as JSON in a textarea that the rules' builder
(static/js/conditions.js) edits; without JavaScript an admin edits the JSON."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.models import Department, DeskRole, Membership, Team, User
from helpdesk.tickets.models import CustomField, TicketStatus

from . import services as bp
from .models import (
    DESCRIPTION_MAX,
    MESSAGE_MAX,
    NAME_MAX,
    TRANSITION_NAME_MAX,
    AccessLevel,
    AfterAction,
    AutoTrigger,
    Blueprint,
    DuringAction,
    OwnerKind,
    RestrictedAction,
    Restriction,
    State,
    ThreadScope,
    Transition,
)

CRITERIA_HELP = _(
    'As JSON: {"all": [{"field": "priority", "op": "is", "value": "high"}]}; "any" combines '
    "with OR."
)


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if value else ""


def _criteria_field(label: Any, help_text: Any = CRITERIA_HELP) -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "class": "mono", "data-condition-json": ""}),
        help_text=help_text,
    )


def _agents(org: Any) -> Any:
    members = Membership.objects.for_org(org).filter(
        status=Membership.Status.ACTIVE, desk_role__in=[DeskRole.ADMIN, DeskRole.AGENT]
    )
    return User.objects.filter(memberships__in=members).order_by("full_name", "email").distinct()


class _MemberField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.display_name} <{obj.email}>"


# --- Blueprint --------------------------------------------------------------------------------
class BlueprintForm(forms.Form):
    APPLIES = [
        ("all", _("Every ticket of the department")),
        ("criteria", _("Tickets that match the criteria")),
    ]

    name = forms.CharField(label=_("Name"), max_length=NAME_MAX)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    department = forms.ModelChoiceField(label=_("Department"), queryset=Department.objects.none())
    applies = forms.ChoiceField(
        label=_("Applies to"), choices=APPLIES, initial="all", widget=forms.RadioSelect
    )
    criteria = _criteria_field(_("Criteria"))
    restriction = forms.ChoiceField(
        label=_("Restricted mode"),
        choices=Restriction.choices,
        initial=Restriction.OFF,
        help_text=_("In restricted mode agents act on the ticket only through its transitions."),
    )
    restricted_actions = forms.MultipleChoiceField(
        label=_("Actions (for “specific” and “all except”)"),
        choices=RestrictedAction.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_continuous = forms.BooleanField(
        label=_("Continuous: the next transition opens as soon as one completes"), required=False
    )
    dynamic_reassignment = forms.BooleanField(
        label=_("Dynamic owner reassignment: admins and owners may hand a pending transition on"),
        required=False,
    )

    def __init__(
        self, *args: Any, org: Any, blueprint: Blueprint | None = None, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.org = org
        self.fields["department"].queryset = Department.objects.for_org(org).order_by("name")  # type: ignore[attr-defined]
        if blueprint is not None and not self.is_bound:
            self.initial.update(
                name=blueprint.name,
                description=blueprint.description,
                department=blueprint.department_id,
                applies="all" if blueprint.applies_to_all else "criteria",
                criteria=_json_text(blueprint.criteria),
                restriction=blueprint.restriction,
                restricted_actions=blueprint.restricted_actions,
                is_continuous=blueprint.is_continuous,
                dynamic_reassignment=blueprint.dynamic_reassignment,
            )

    def to_input(self) -> bp.BlueprintInput:
        data = self.cleaned_data
        return bp.BlueprintInput(
            name=data["name"],
            department=data["department"],
            description=data.get("description") or "",
            applies_to_all=data["applies"] == "all",
            criteria=data.get("criteria") or "",
            restriction=data["restriction"],
            restricted_actions=data.get("restricted_actions") or [],
            is_continuous=bool(data.get("is_continuous")),
            dynamic_reassignment=bool(data.get("dynamic_reassignment")),
        )


# --- States -----------------------------------------------------------------------------------
class StatesForm(forms.Form):
    """Statuses to add as states. The list offers the department's statuses that are not yet
    states; any status of the organization is accepted here so that the service, not a generic
    "invalid choice", says why another department's status cannot be a state."""

    statuses = forms.ModelMultipleChoiceField(
        label=_("Statuses to add"),
        queryset=TicketStatus.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one status.")},
    )

    def __init__(self, *args: Any, blueprint: Blueprint, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["statuses"]
        field.queryset = TicketStatus.objects.for_org(blueprint.org_id)  # type: ignore[attr-defined]
        taken = State.objects.for_org(blueprint.org_id).filter(blueprint=blueprint)
        offered = (
            TicketStatus.objects.for_org(blueprint.org_id)
            .filter(department_id=blueprint.department_id)
            .exclude(pk__in=taken.values("status_id"))
            .order_by("order", "pk")
        )
        field.widget.choices = [(s.pk, s.name) for s in offered]
        self.offered = len(field.widget.choices)


# --- Transition -------------------------------------------------------------------------------
class DuringFieldForm(forms.Form):
    """One field the owner fills in the transition window (BP-08)."""

    field = forms.ChoiceField(label=_("Field"), required=False)
    mandatory = forms.BooleanField(label=_("Mandatory"), required=False, initial=True)
    validation = _criteria_field(
        _("Validation rule"),
        _("Optional: a condition the ticket with the new value must meet, as JSON."),
    )
    warning = forms.CharField(
        label=_("Warning when the rule fails"),
        required=False,
        widget=forms.TextInput(attrs={"maxlength": MESSAGE_MAX}),
    )

    def __init__(self, *args: Any, field_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = [("", "—"), *field_choices]  # type: ignore[attr-defined]

    def to_input(self) -> bp.FieldInput | None:
        data = self.cleaned_data
        if not data.get("field"):
            return None
        return bp.FieldInput(
            field=data["field"],
            mandatory=bool(data.get("mandatory")),
            validation=data.get("validation") or "",
            warning=data.get("warning") or "",
        )


DuringFieldFormSet = forms.formset_factory(DuringFieldForm, extra=2, max_num=100)
ACTION_STEPS = len(DuringAction.choices)
DEPARTMENT_ACCESS = [("", pgettext_lazy("owner department", "Not an owner")), *AccessLevel.choices]


def field_choices(blueprint: Blueprint) -> list[tuple[str, str]]:
    """The fields a transition may ask for: the ticket fields the engine knows and the active
    custom fields of the blueprint's department."""
    labels = {"priority": _("Priority"), "due_at": _("Due date")}
    out = [(name, str(labels.get(name, name))) for name in bp.TICKET_FIELDS]
    for custom in CustomField.objects.for_org(blueprint.org_id).filter(
        department_id=blueprint.department_id, is_active=True
    ):
        out.append((f"cf.{custom.key}", custom.label))
    return out


class TransitionForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=TRANSITION_NAME_MAX)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    from_states = forms.ModelMultipleChoiceField(
        label=_("From states"),
        queryset=State.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    is_common = forms.BooleanField(
        label=_("Common transition: available from every state"), required=False
    )
    to_state = forms.ModelChoiceField(label=_("To state"), queryset=State.objects.none())
    auto_trigger = forms.ChoiceField(
        label=_("Runs by itself when"), choices=AutoTrigger.choices, required=False
    )
    thread_scope = forms.ChoiceField(
        label=_("Counting"), choices=ThreadScope.choices, initial=ThreadScope.ALL
    )
    # Before (BP-06, BP-07)
    owner_ticket_owner = forms.BooleanField(label=_("The ticket's owner"), required=False)
    owner_agents = _MemberField(label=_("Agents"), queryset=User.objects.none(), required=False)
    owner_roles = forms.MultipleChoiceField(
        label=_("Roles"),
        choices=DeskRole.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    owner_teams = forms.ModelMultipleChoiceField(
        label=_("Teams"), queryset=Team.objects.none(), required=False
    )
    criteria = _criteria_field(
        _("Criteria"),
        _("Optional: the transition is available only on tickets that match, as JSON."),
    )
    # During (BP-09, BP-10)
    message = forms.CharField(
        label=_("Message to the owner"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("At most %(n)d characters.") % {"n": MESSAGE_MAX},
    )
    # After (BP-11)
    after_actions = forms.ModelMultipleChoiceField(
        label=_("After the transition"),
        queryset=AfterAction.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(
        self,
        *args: Any,
        blueprint: Blueprint,
        transition: Transition | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        org_id = blueprint.org_id
        self.blueprint = blueprint
        states = State.objects.for_org(org_id).filter(blueprint=blueprint).select_related("status")
        self.fields["from_states"].queryset = states  # type: ignore[attr-defined]
        # Any state of the organization is accepted so that the service says why a state of
        # another blueprint cannot be the target; the list offers this blueprint's.
        self.fields["to_state"].queryset = State.objects.for_org(org_id).select_related("status")  # type: ignore[attr-defined]
        self.fields["to_state"].widget.choices = [("", "—")] + [
            (s.pk, s.status.name) for s in states
        ]
        for name in ("from_states",):
            self.fields[name].label_from_instance = lambda s: s.status.name  # type: ignore[attr-defined]
        self.fields["owner_agents"].queryset = _agents(org_id)  # type: ignore[attr-defined]
        self.fields["owner_teams"].queryset = (  # type: ignore[attr-defined]
            Team.objects.for_org(org_id).select_related("department").order_by("name")
        )
        self.fields["owner_teams"].label_from_instance = (  # type: ignore[attr-defined]
            lambda t: f"{t.name} ({t.department.name})"
        )
        self.fields["after_actions"].queryset = AfterAction.objects.for_org(org_id).filter(  # type: ignore[attr-defined]
            department_id=blueprint.department_id
        )
        self.fields["after_actions"].label_from_instance = (  # type: ignore[attr-defined]
            lambda a: f"{a.name} ({a.get_type_display()})"
        )
        self.other_departments = list(
            Department.objects.for_org(org_id).exclude(pk=blueprint.department_id).order_by("name")
        )
        for department in self.other_departments:
            self.fields[f"dept_{department.pk}"] = forms.TypedChoiceField(
                label=department.name,
                choices=DEPARTMENT_ACCESS,
                coerce=int,
                empty_value=None,
                required=False,
            )
        step_choices = [("", "—"), *DuringAction.choices]
        for n in range(1, ACTION_STEPS + 1):
            self.fields[f"action_{n}"] = forms.ChoiceField(
                label=_("Step %(n)d") % {"n": n}, choices=step_choices, required=False
            )
        if not self.is_bound:
            self.initial.update(self._initial(transition))

    def _initial(self, transition: Transition | None) -> dict[str, Any]:
        if transition is None:
            return {"owner_ticket_owner": True, "thread_scope": ThreadScope.ALL}
        owners = list(transition.owners.all())
        initial: dict[str, Any] = {
            "name": transition.name,
            "description": transition.description,
            "from_states": [s.state_id for s in transition.sources.all()],
            "is_common": transition.is_common,
            "to_state": transition.to_state_id,
            "auto_trigger": transition.auto_trigger,
            "thread_scope": transition.thread_scope,
            "criteria": _json_text(transition.criteria),
            "message": transition.message,
            "after_actions": [link.action_id for link in transition.after_links.all()],
            "owner_ticket_owner": any(o.kind == OwnerKind.TICKET_OWNER for o in owners),
            "owner_agents": [o.user_id for o in owners if o.kind == OwnerKind.AGENT],
            "owner_roles": [o.role for o in owners if o.kind == OwnerKind.ROLE],
            "owner_teams": [o.team_id for o in owners if o.kind == OwnerKind.TEAM],
        }
        for o in owners:
            if o.kind == OwnerKind.DEPARTMENT:
                initial[f"dept_{o.department_id}"] = o.access
        for n, action in enumerate(transition.actions.all(), start=1):
            initial[f"action_{n}"] = action.kind
        return initial

    # Groups of fields for the template's fieldsets.
    def department_fields(self) -> list[Any]:
        return [self[f"dept_{d.pk}"] for d in self.other_departments]

    def action_fields(self) -> list[Any]:
        return [self[f"action_{n}"] for n in range(1, ACTION_STEPS + 1)]

    def owners(self) -> list[bp.OwnerInput]:
        data = self.cleaned_data
        out: list[bp.OwnerInput] = []
        if data.get("owner_ticket_owner"):
            out.append(bp.OwnerInput(kind=OwnerKind.TICKET_OWNER))
        out += [bp.OwnerInput(kind=OwnerKind.AGENT, user_id=u.pk) for u in data["owner_agents"]]
        out += [bp.OwnerInput(kind=OwnerKind.ROLE, role=r) for r in data["owner_roles"]]
        out += [bp.OwnerInput(kind=OwnerKind.TEAM, team=t) for t in data["owner_teams"]]
        for department in self.other_departments:
            access = data.get(f"dept_{department.pk}")
            if access is not None:
                out.append(
                    bp.OwnerInput(kind=OwnerKind.DEPARTMENT, department=department, access=access)
                )
        return out

    def to_input(self, fields: list[bp.FieldInput]) -> bp.TransitionInput:
        data = self.cleaned_data
        actions = [data[f"action_{n}"] for n in range(1, ACTION_STEPS + 1)]
        return bp.TransitionInput(
            name=data["name"],
            description=data.get("description") or "",
            to_state=data["to_state"],
            from_states=list(data.get("from_states") or []),
            is_common=bool(data.get("is_common")),
            auto_trigger=data.get("auto_trigger") or AutoTrigger.NONE,
            thread_scope=data.get("thread_scope") or ThreadScope.ALL,
            criteria=data.get("criteria") or "",
            message=data.get("message") or "",
            owners=self.owners(),
            fields=fields,
            actions=[a for a in actions if a],
            after_actions=list(data.get("after_actions") or []),
        )


def during_field_initial(transition: Transition | None) -> list[dict[str, Any]]:
    if transition is None:
        return []
    return [
        {
            "field": f.field,
            "mandatory": f.mandatory,
            "validation": _json_text(f.validation),
            "warning": f.warning,
        }
        for f in transition.fields.all()
    ]
