"""Compiled blueprint definitions, cached per organization in the process.

The engine reads the same definitions for every ticket: which blueprints are active in a
department and in what order, their states and statuses, each transition's sources, owners,
fields, actions and after-actions, and the stored conditions parsed against the department's
schema. Reading and parsing them per ticket cost most of the blueprint step on ticket create
and of each transition (BPPERF). Here they are read once per organization and kept in the
process under the organization's definition version (`DefinitionVersion.token`).

The version is a random token written in the transaction of every change that alters what is
compiled here: the configuration services call `bump` (blueprints, states, transitions and
their parts, order, status), and signals bump it when a ticket status or a custom field of the
organization is saved or deleted (status names and kinds, and the condition schema, are part
of the compiled definitions). A reader gets the token in a query it makes anyway (with the
ticket's instance) or in one small query, so a change is seen by every process at once; a
token never repeats, so a rolled-back change cannot leave a stale entry behind.

The cached model instances are shared between requests: the engine reads them and never
changes them (copies leave for the ticket services)."""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from django.db import connection
from django.utils import translation

from helpdesk.tickets import pipeline
from helpdesk.tickets.conditions import ConditionError, parse, schema_for
from helpdesk.tickets.conditions.parse import Condition
from helpdesk.tickets.rules import version as settings_version

from ..models import (
    Blueprint,
    BlueprintStatus,
    State,
    TicketBlueprint,
    Transition,
    TransitionAfterAction,
    TransitionOwner,
    TransitionSource,
)

MAX_ORGS = 512  # organizations kept per process (least recently used leave first)


# --- The version --------------------------------------------------------------------------------
def bump(org_id: int, *, create: bool = True) -> None:
    """The organization's blueprint definitions changed (inside the changing transaction): a
    new token, so every process reads them again once the change commits. `create=False`
    only renews an existing token: an organization without one has never had a blueprint
    (migration 0004 gave one to each that had), so nothing of it is compiled that could be
    stale, and no row is written for an organization that may be being deleted."""
    with connection.cursor() as cursor:
        if create:
            cursor.execute(
                "INSERT INTO blueprints_definitionversion (org_id, token) "
                "VALUES (%s, gen_random_uuid()) "
                "ON CONFLICT (org_id) DO UPDATE SET token = gen_random_uuid()",
                [org_id],
            )
        else:
            cursor.execute(
                "UPDATE blueprints_definitionversion SET token = gen_random_uuid() "
                "WHERE org_id = %s",
                [org_id],
            )


def read_token(org_id: int) -> Any:
    """The organization's token (None before its first change), read once per pipeline
    batch, in the statement that reads the rules' token too (`pipeline.token`; the subquery is
    registered by `TOKEN_SQL` at start-up). In SQL: every ticket created reads it, and building
    the ORM's statement cost six times the query (0.2 against 1.3 ms of CPU, measured under
    bench/blueprints.py)."""
    return pipeline.token(TOKEN_NAME, org_id)  # the key `instance_for` seeds


TOKEN_NAME = "bp-token"
TOKEN_SQL = "SELECT token FROM blueprints_definitionversion WHERE org_id = %s"


# --- One blueprint ---------------------------------------------------------------------------
class Compiled:
    """A blueprint with its states (statuses loaded) and, read on first use, its transitions
    (target state, sources, owners, fields, actions and the number of after-actions)."""

    def __init__(self, blueprint: Blueprint, states: list[State]) -> None:
        self.blueprint = blueprint
        self.states = states  # in the order they were added
        self.state_by_id = {s.pk: s for s in states}
        self.state_by_status = {s.status_id: s for s in states}
        self._transitions: list[Transition] | None = None
        self._before: dict[str, Any] | None = None
        self._lock = threading.Lock()

    @property
    def transitions(self) -> list[Transition]:
        """Every transition, in list order (position, then creation)."""
        if self._transitions is None:
            with self._lock:
                if self._transitions is None:
                    self._transitions = self._load_transitions()
        return self._transitions

    def _load_transitions(self) -> list[Transition]:
        org_id, pk = self.blueprint.org_id, self.blueprint.pk
        transitions = list(
            Transition.objects.for_org(org_id)
            .filter(blueprint_id=pk)
            .prefetch_related("fields", "actions")
            .order_by("position", "pk")
        )
        owners: dict[int, list[TransitionOwner]] = {}
        for owner in TransitionOwner.objects.for_org(org_id).filter(transition__blueprint_id=pk):
            owners.setdefault(owner.transition_id, []).append(owner)
        sources: dict[int, list[int]] = {}
        for transition_id, state_id in (
            TransitionSource.objects.for_org(org_id)
            .filter(transition__blueprint_id=pk)
            .order_by("pk")
            .values_list("transition_id", "state_id")
        ):
            sources.setdefault(transition_id, []).append(state_id)
        after: dict[int, int] = {}
        for transition_id in (
            TransitionAfterAction.objects.for_org(org_id)
            .filter(transition__blueprint_id=pk)
            .values_list("transition_id", flat=True)
        ):
            after[transition_id] = after.get(transition_id, 0) + 1
        for t in transitions:
            t.blueprint = self.blueprint
            t.to_state = self.state_by_id[t.to_state_id]
            t._prefetched_objects_cache["owners"] = owners.get(t.pk, [])
            t.source_ids = tuple(sources.get(t.pk, ()))
            t.after_action_count = after.get(t.pk, 0)
        return transitions

    def transition(self, pk: int) -> Transition | None:
        return next((t for t in self.transitions if t.pk == pk), None)

    def transitions_from(self, state_id: int) -> list[Transition]:
        """The transitions that start from the state (common ones included), in list order."""
        return [t for t in self.transitions if t.is_common or state_id in t.source_ids]  # type: ignore[attr-defined]

    def before(self) -> dict[str, Any]:
        """Every transition's "before" settings (owners, criteria), as a ticket entering now
        keeps them (BP-16): the snapshot stored on the ticket's instance."""
        if self._before is None:
            self._before = {
                str(t.pk): {
                    "owners": [
                        {
                            "kind": o.kind,
                            "user": o.user_id,
                            "role": o.role,
                            "team": o.team_id,
                            "department": o.department_id,
                            "access": o.access,
                        }
                        for o in t.owners.all()
                    ],
                    "criteria": t.criteria,
                }
                for t in self.transitions
            }
        # A copy: the caller stores it (and JSON fields may be changed by whoever reads them).
        return json.loads(json.dumps(self._before))


# --- One organization ---------------------------------------------------------------------------
class Definitions:
    """An organization's blueprints as of one token, and the conditions parsed for them."""

    def __init__(self, org_id: int, token: Any) -> None:
        self.org_id = org_id
        self.token = token
        states: dict[int, list[State]] = {}
        for state in State.objects.for_org(org_id).select_related("status").order_by("pk").all():
            states.setdefault(state.blueprint_id, []).append(state)
        blueprints = list(Blueprint.objects.for_org(org_id).order_by("position", "pk"))
        self.blueprints = {b.pk: Compiled(b, states.get(b.pk, [])) for b in blueprints}
        self._active: dict[int, list[Compiled]] = {}
        for b in blueprints:
            if b.status == BlueprintStatus.ACTIVE:
                self._active.setdefault(b.department_id, []).append(self.blueprints[b.pk])
        self._conditions: dict[tuple[Any, ...], Condition | None] = {}
        self._schemas: dict[tuple[Any, ...], Any] = {}
        self._versions: dict[int, int] | None = None
        self._lock = threading.Lock()

    def version_number(self, blueprint_id: int | None) -> int | None:
        """The number of the blueprint's latest version (what tickets run under now), or None:
        every blueprint's, read on first use (a saved version renews the token, `watch`)."""
        if blueprint_id is None:
            return None
        if self._versions is None:
            with self._lock:
                if self._versions is None:
                    from django.db.models import Max

                    from ..versions.models import BlueprintVersion

                    self._versions = dict(
                        BlueprintVersion.objects.for_org(self.org_id)
                        .order_by()
                        .values("blueprint_id")
                        .annotate(top=Max("number"))
                        .values_list("blueprint_id", "top")
                    )
        return self._versions.get(blueprint_id)

    def active(self, department_id: int) -> list[Compiled]:
        """The department's active blueprints in list order (BP-21)."""
        return self._active.get(department_id, [])

    def blueprint(self, pk: int) -> Compiled | None:
        return self.blueprints.get(pk)

    def condition(
        self, org: Any, department_id: Any, raw: dict[str, Any], name: Any = None
    ) -> Condition | None:
        """A stored condition parsed against the department's schema, in the active language
        (field labels are translated) and the organization's time zone; None when it no
        longer parses (e.g. a field was removed). `name` identifies a condition of the
        definitions themselves (a blueprint's criteria), spelling it out otherwise."""
        language = translation.get_language()
        zone = getattr(org, "time_zone", None)
        spelt = name if name is not None else json.dumps(raw, sort_keys=True, default=str)
        key = (language, zone, department_id, spelt)
        if key not in self._conditions:
            schema_key = (language, zone, department_id)
            if schema_key not in self._schemas:
                self._schemas[schema_key] = schema_for(org, department=department_id)
            try:
                parsed: Condition | None = parse(
                    raw or {}, schema=self._schemas[schema_key], org=org, check_refs=False
                )
            except ConditionError:
                parsed = None
            self._conditions[key] = parsed
        return self._conditions[key]


_cache: OrderedDict[int, Definitions] = OrderedDict()
_cache_lock = threading.Lock()


def current(org_id: int, token: Any = ..., *, fresh: bool = False) -> Definitions:
    """The organization's definitions as of `token` (read when not given: one small query, or
    none inside a pipeline batch that read it already). `fresh`: compile them again."""
    if token is ...:
        token = read_token(org_id)
    with _cache_lock:
        found = _cache.get(org_id)
        if found is not None and found.token == token and not fresh:
            _cache.move_to_end(org_id)
            return found
    compiled = Definitions(org_id, token)
    with _cache_lock:
        _cache[org_id] = compiled
        _cache.move_to_end(org_id)
        while len(_cache) > MAX_ORGS:
            _cache.popitem(last=False)
    return compiled


# The instance with the organization's token. A raw query (the ORM still builds the model and
# converts the values): it runs on every ticket update, transition and blueprint fragment, and
# the ORM's statement building cost three times the query (0.85 against 2.6 ms of CPU).
_COLUMNS = ", ".join(f'i."{f.column}"' for f in TicketBlueprint._meta.concrete_fields)
# The pipeline's settings token (rules and SLA policies, `helpdesk.tickets.rules.version`)
# comes with it too, and both tokens come for a ticket in no blueprint as well (a row with a
# null instance): inside a pipeline batch, the steps then read no token of their own.
_INSTANCE_SQL = (
    f"SELECT {_COLUMNS}, "  # noqa: S608 - the model's column names, no input
    "(SELECT v.token FROM blueprints_definitionversion v WHERE v.org_id = o.org_id)"
    " AS definition_token, "
    + settings_version.TOKEN_SUBQUERY.format(org="o.org_id")
    + " AS settings_token"
    " FROM (SELECT %s::bigint AS org_id) o"
    " LEFT JOIN blueprints_ticketblueprint i ON i.org_id = o.org_id AND i.ticket_id = %s"
)


def instance_for(ticket: Any) -> TicketBlueprint | None:
    """The ticket's blueprint instance, its blueprint and state taken from the compiled
    definitions (`instance.compiled`), whose token comes with it: one query (None: the
    ticket is in no blueprint; the tokens are kept for the pipeline batch all the same)."""
    for instance in TicketBlueprint.objects.raw(_INSTANCE_SQL, [ticket.org_id, ticket.pk]):
        pipeline.seed(settings_version.token_key(ticket.org_id), instance.settings_token)
        pipeline.seed((TOKEN_NAME, ticket.org_id), instance.definition_token)
        if instance.pk is None:
            return None
        attach(instance, current(ticket.org_id, instance.definition_token))
        return instance
    return None


def attach(instance: TicketBlueprint, defs: Definitions) -> None:
    """Give the instance its compiled blueprint and state (`compiled`, `blueprint`, `state`)."""
    compiled = defs.blueprint(instance.blueprint_id)
    if compiled is None or instance.state_id not in compiled.state_by_id:
        # Changed since the token was read (a concurrent save): compile again.
        defs = current(instance.org_id, read_token(instance.org_id), fresh=True)
        compiled = defs.blueprint(instance.blueprint_id)
        assert compiled is not None
    instance.definitions = defs  # type: ignore[attr-defined]
    instance.compiled = compiled  # type: ignore[attr-defined]
    instance.blueprint = compiled.blueprint
    instance.state = compiled.state_by_id[instance.state_id]


def _settings_changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if not raw and getattr(instance, "org_id", None):
        bump(instance.org_id, create=False)


def watch() -> None:
    """Bump the version when a ticket status (its name and kind are compiled in) or a custom
    field (the condition schema) is saved or deleted: those are changed by the tickets app's
    settings, which know nothing of blueprints; and when a blueprint version is kept (the
    latest numbers are compiled in, `Definitions.version_number`), whichever service keeps
    it. Connected at start-up (`hooks.connect`)."""
    from django.db.models.signals import post_delete, post_save

    from helpdesk.tickets.models import CustomField, TicketStatus

    from ..versions.models import BlueprintVersion

    for model in (TicketStatus, CustomField, BlueprintVersion):
        post_save.connect(_settings_changed, sender=model, dispatch_uid=f"bp-defs-{model.__name__}")
        post_delete.connect(
            _settings_changed, sender=model, dispatch_uid=f"bp-defs-del-{model.__name__}"
        )


def forget() -> None:
    """Drop every cached organization (tests that change definitions behind the services)."""
    with _cache_lock:
        _cache.clear()
