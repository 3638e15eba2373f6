"""Blueprint definitions (BP-01..BP-12, BP-20) and their runtime on tickets (BP-13..BP-19).

Definitions: a `Blueprint` of one department has `State`s (the department's statuses) and
`Transition`s between them. A transition's "before" part is its owners (`TransitionOwner`) and
criteria; its "during" part its fields (`TransitionField`), ordered actions
(`TransitionAction`) and message; its "after" part links (`TransitionAfterAction`) to reusable
`AfterAction`s. Conditions (criteria, validation rules) are JSON of the condition language
(`helpdesk.tickets.conditions`).

Runtime: a ticket in a blueprint has one `TicketBlueprint` (current state, entry time and the
snapshot of the "before" settings taken on entry, BP-16), optional `OwnerOverride`s (BP-14),
open `TransitionWindow`s (the owner started a transition and is doing its actions, BP-09/13)
and a `TransitionLog` of what happened (BP-26's reports read it).

Everything is written by `blueprints.services` (definitions) and `blueprints.engine` (runtime)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from helpdesk.tenancy.fields import MemberForeignKey, TenantForeignKey
from helpdesk.tenancy.models import Department, Team, TenantModel
from helpdesk.tickets.models import Ticket, TicketStatus

NAME_MAX = 120
TRANSITION_NAME_MAX = 30
DESCRIPTION_MAX = 1000
MESSAGE_MAX = 255


# --- Choices ----------------------------------------------------------------------------------
class BlueprintStatus(models.TextChoices):
    DRAFT = "draft", pgettext_lazy("blueprint", "Draft")
    ACTIVE = "active", pgettext_lazy("blueprint", "Active")
    INACTIVE = "inactive", pgettext_lazy("blueprint", "Inactive")


class Restriction(models.TextChoices):
    """Restricted mode (BP-02): which ticket actions are only possible inside a transition."""

    OFF = "off", _("Off")
    ALL = "all", _("Restrict all actions")
    SPECIFIC = "specific", _("Restrict specific actions")
    ALL_EXCEPT = "all_except", _("Restrict all except specific actions")


class RestrictedAction(models.TextChoices):
    """The ticket actions restricted mode can hold back (BP-02)."""

    REPLY = "reply", _("Reply, forward and comment")
    EDIT = "edit", _("Edit the ticket or its fields")
    APPROVAL = "approval", _("Request approval")
    ATTACHMENT = "attachment", _("Upload attachments")
    SOLUTION = "solution", _("Add a solution")


class AutoTrigger(models.TextChoices):
    """Auto-transition (BP-05): the transition runs by itself when this arrives."""

    NONE = "", _("None")
    CUSTOMER_REPLY = "reply", _("A customer reply")
    RATING = "rating", _("A satisfaction rating")


class ThreadScope(models.TextChoices):
    ALL = "all", _("All incoming threads")
    PRIVATE = "private", _("Private threads")
    PUBLIC = "public", _("Public threads")


class OwnerKind(models.TextChoices):
    """Who may execute a transition (BP-06)."""

    TICKET_OWNER = "ticket_owner", _("The ticket's owner")
    AGENT = "agent", _("An agent")
    ROLE = "role", _("A role")
    TEAM = "team", _("A team")
    DEPARTMENT = "department", _("Agents of another department")


class AccessLevel(models.IntegerChoices):
    """What owners of another department get on the ticket (BP-06); the values are the ticket
    share levels (collab.ShareLevel)."""

    READ_ONLY = 1, _("Read only")
    RESTRICTED = 2, _("Restricted access")
    FULL = 3, _("Full access")


class DuringAction(models.TextChoices):
    """Actions a transition may require inside its window, in order (BP-09)."""

    REPLY = "reply", _("Reply")
    COMMENT = "comment", _("Comment")
    ATTACHMENT = "attachment", _("Attach a file")
    APPROVAL = "approval", _("Request approval")
    SOLUTION = "solution", _("Solution")
    SHARE = "share", _("Share the ticket")


class AfterActionType(models.TextChoices):
    """Automated actions after a transition completes (BP-11)."""

    EMAIL = "email", _("Email notification")
    FIELD_UPDATE = "field_update", _("Field update")
    TASK = "task", _("Task assignment")
    WEBHOOK = "webhook", _("Custom function (webhook)")


class LogKind(models.TextChoices):
    ENTERED = "entered", _("Entered the blueprint")
    TRANSITION = "transition", _("Transition")
    AUTO = "auto", _("Automatic transition")
    REMOVED = "removed", _("Removed from the blueprint")
    LEFT = "left", _("Left the blueprint")


# --- Definitions ------------------------------------------------------------------------------
class Blueprint(TenantModel):
    """A process for one department's tickets (BP-01): to every ticket of the department or to
    those matching `criteria`; drafts never apply (BP-17), active ones apply at once (BP-24) in
    `position` order (BP-21); inactive ones take no new tickets (BP-19)."""

    name = models.CharField(_("name"), max_length=NAME_MAX)
    description = models.TextField(_("description"), max_length=DESCRIPTION_MAX, blank=True)
    department = TenantForeignKey(
        Department, on_delete=models.CASCADE, related_name="+", verbose_name=_("department")
    )
    applies_to_all = models.BooleanField(_("applies to every ticket"), default=True)
    criteria = models.JSONField(_("criteria"), default=dict, blank=True)
    restriction = models.CharField(
        _("restricted mode"), max_length=12, choices=Restriction.choices, default=Restriction.OFF
    )
    restricted_actions = models.JSONField(_("restricted actions"), default=list, blank=True)
    is_continuous = models.BooleanField(_("continuous"), default=False)
    dynamic_reassignment = models.BooleanField(_("dynamic owner reassignment"), default=False)
    status = models.CharField(
        _("status"), max_length=10, choices=BlueprintStatus.choices, default=BlueprintStatus.DRAFT
    )
    position = models.PositiveIntegerField(_("position"), default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("blueprint")
        indexes = [
            models.Index(
                fields=["org", "department", "status", "position"], name="bp_department_status"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == BlueprintStatus.ACTIVE


class State(TenantModel):
    """A stop of the process: one of the department's statuses, with its place in the editor."""

    blueprint = TenantForeignKey(Blueprint, on_delete=models.CASCADE, related_name="states")
    status = TenantForeignKey(
        TicketStatus, on_delete=models.CASCADE, related_name="+", verbose_name=_("status")
    )
    x = models.IntegerField(default=0)
    y = models.IntegerField(default=0)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "blueprint", "status"],
                name="bp_state_status_uniq",
                violation_error_message=_("This status is already a state of the blueprint."),
            )
        ]

    def __str__(self) -> str:
        return f"state {self.status_id} of {self.blueprint_id}"


class Transition(TenantModel):
    """A move from one or more states (or, when common, from every state: BP-12) to `to_state`
    (BP-05), with its before (owners, `criteria`), during (fields, actions, `message`) and after
    (linked after-actions) parts. An auto-transition runs when a customer reply or rating
    arrives on the chosen thread scope."""

    blueprint = TenantForeignKey(Blueprint, on_delete=models.CASCADE, related_name="transitions")
    name = models.CharField(_("name"), max_length=TRANSITION_NAME_MAX)
    description = models.TextField(_("description"), max_length=DESCRIPTION_MAX, blank=True)
    from_states = models.ManyToManyField(
        State, through="TransitionSource", related_name="outgoing", blank=True
    )
    is_common = models.BooleanField(_("common transition"), default=False)
    to_state = TenantForeignKey(
        State, on_delete=models.CASCADE, related_name="incoming", verbose_name=_("to state")
    )
    auto_trigger = models.CharField(
        _("auto-transition"),
        max_length=10,
        choices=AutoTrigger.choices,
        default=AutoTrigger.NONE,
        blank=True,
    )
    thread_scope = models.CharField(
        _("threads"), max_length=10, choices=ThreadScope.choices, default=ThreadScope.ALL
    )
    criteria = models.JSONField(_("criteria"), default=dict, blank=True)
    message = models.CharField(_("message to the owner"), max_length=MESSAGE_MAX, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        indexes = [models.Index(fields=["org", "blueprint"], name="bp_transition_blueprint")]

    def __str__(self) -> str:
        return self.name


class TransitionSource(TenantModel):
    """A state a (non-common) transition starts from."""

    transition = TenantForeignKey(Transition, on_delete=models.CASCADE, related_name="sources")
    state = TenantForeignKey(State, on_delete=models.CASCADE, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "transition", "state"], name="bp_transition_source_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.state_id} → transition {self.transition_id}"


class TransitionOwner(TenantModel):
    """One owner rule of a transition (BP-06): the ticket owner, an agent, a desk role, a team,
    or the agents of another department (the ticket is then shared with it at `access`). A
    transition without owner rows may be executed by anyone of the department."""

    transition = TenantForeignKey(Transition, on_delete=models.CASCADE, related_name="owners")
    kind = models.CharField(_("owner"), max_length=14, choices=OwnerKind.choices)
    user = MemberForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    role = models.CharField(_("role"), max_length=20, blank=True)
    team = TenantForeignKey(Team, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    department = TenantForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    access = models.PositiveSmallIntegerField(
        _("access"), choices=AccessLevel.choices, default=AccessLevel.FULL
    )

    class Meta:
        ordering = ["pk"]
        indexes = [models.Index(fields=["org", "transition"], name="bp_owner_transition")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.transition_id}"


class TransitionField(TenantModel):
    """A field to fill in the transition window (BP-08): `field` is a ticket field name or
    `cf.<key>`; `validation` a condition the ticket with the new value must meet, else
    `warning` is shown."""

    transition = TenantForeignKey(Transition, on_delete=models.CASCADE, related_name="fields")
    field = models.CharField(_("field"), max_length=70)
    mandatory = models.BooleanField(_("mandatory"), default=True)
    validation = models.JSONField(_("validation rule"), default=dict, blank=True)
    warning = models.CharField(_("warning"), max_length=MESSAGE_MAX, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "transition", "field"], name="bp_transition_field_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.field


class TransitionAction(TenantModel):
    """An action the owner must do inside the window, in `position` order (BP-09)."""

    transition = TenantForeignKey(Transition, on_delete=models.CASCADE, related_name="actions")
    kind = models.CharField(_("action"), max_length=12, choices=DuringAction.choices)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "transition", "kind"], name="bp_transition_action_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.kind


class AfterAction(TenantModel):
    """A reusable automated action (BP-11) of a department: `type` says what it does and
    `config` holds its settings (the after-actions module reads and validates it). Linked to
    transitions through `TransitionAfterAction`."""

    department = TenantForeignKey(Department, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("name"), max_length=NAME_MAX)
    type = models.CharField(_("type"), max_length=14, choices=AfterActionType.choices)
    config = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["org", "department", "type"], name="bp_after_department")]

    def __str__(self) -> str:
        return self.name


class TransitionAfterAction(TenantModel):
    """An after-action run when the transition completes, in `position` order."""

    transition = TenantForeignKey(Transition, on_delete=models.CASCADE, related_name="after_links")
    action = TenantForeignKey(AfterAction, on_delete=models.CASCADE, related_name="links")
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["org", "transition", "action"], name="bp_after_link_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.action_id} after {self.transition_id}"


class DefinitionVersion(TenantModel):
    """The version of an organization's blueprint definitions: a fresh random token written
    in the transaction of every configuration change (`blueprints.engine.definitions.bump`).
    The engine caches each organization's compiled definitions in the process under this
    token, so a change (or a rolled-back one: tokens never repeat) is seen at once."""

    token = models.UUIDField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org"], name="bp_definition_version_org")]

    def __str__(self) -> str:
        return f"{self.org_id}: {self.token}"


# --- Runtime ----------------------------------------------------------------------------------
class TicketBlueprint(TenantModel):
    """A ticket's place in a blueprint: at most one per ticket. `before` is the snapshot of
    every transition's "before" settings (owners, criteria) taken on entry (BP-16), keyed by
    transition id; transitions added later use their live settings."""

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    blueprint = TenantForeignKey(Blueprint, on_delete=models.CASCADE, related_name="instances")
    state = TenantForeignKey(State, on_delete=models.CASCADE, related_name="instances")
    entered_at = models.DateTimeField()  # entered the current state
    started_at = models.DateTimeField()  # entered the blueprint
    before = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org", "ticket"], name="bp_instance_ticket_uniq")
        ]
        indexes = [
            models.Index(fields=["org", "blueprint", "state"], name="bp_instance_state"),
        ]

    def __str__(self) -> str:
        return f"ticket {self.ticket_id} in {self.blueprint_id}"


class OwnerOverride(TenantModel):
    """A pending transition reassigned on one ticket (BP-14): `user` executes it instead of
    the configured owners."""

    instance = TenantForeignKey(TicketBlueprint, on_delete=models.CASCADE, related_name="overrides")
    transition = TenantForeignKey(Transition, on_delete=models.CASCADE, related_name="+")
    user = MemberForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    set_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "instance", "transition"], name="bp_override_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.transition_id} → {self.user_id}"


class TransitionWindow(TenantModel):
    """An owner started a transition on a ticket (BP-09/BP-13): `done` lists the during actions
    done inside the window, in order ([{"kind": ..., "at": iso, "ref": id}]). Completing or
    leaving the state closes (deletes) the ticket's windows."""

    instance = TenantForeignKey(TicketBlueprint, on_delete=models.CASCADE, related_name="windows")
    transition = TenantForeignKey(Transition, on_delete=models.CASCADE, related_name="+")
    started_by = MemberForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    started_at = models.DateTimeField()
    done = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "instance", "transition", "started_by"], name="bp_window_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"window of {self.transition_id} by {self.started_by_id}"

    def done_kinds(self) -> list[str]:
        return [item["kind"] for item in self.done]


class TransitionLog(TenantModel):
    """What happened to a ticket in blueprints: entries, transitions (who, when, from, to, the
    data entered, the time spent in the state left) and removals. Names are copied so the log
    survives edits of the definition."""

    ticket = TenantForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    blueprint = TenantForeignKey(
        Blueprint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    transition = TenantForeignKey(
        Transition, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=12, choices=LogKind.choices)
    name = models.CharField(max_length=NAME_MAX, blank=True)
    from_status = TenantForeignKey(
        TicketStatus, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_status = TenantForeignKey(
        TicketStatus, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)
    seconds_in_state = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["org", "ticket", "at"], name="bp_log_ticket"),
            models.Index(fields=["org", "blueprint", "at"], name="bp_log_blueprint"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} on {self.ticket_id}"


# After-actions keep their runs and the webhook secret in their own package (BP-11).
from .actions.models import AfterActionRun, RunStatus, WebhookSecret  # noqa: E402, F401

# The remove-from-all-tickets job keeps its progress in its own package (BP-18).
from .removal.models import RemovalJob, RemovalStatus  # noqa: E402, F401

# Kept versions of a blueprint (every save) live in their own package.
from .versions.models import BlueprintVersion  # noqa: E402, F401
