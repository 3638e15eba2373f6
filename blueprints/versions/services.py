"""Keeping a version on every save, and comparing two versions in words.

`record` is called by the configuration services at their save points (a blueprint's
information or status, a state, a transition) in the save's transaction, so a rolled-back save
keeps no version. The editor's save runs many of those services in one go: inside `one_save()`
they only note the blueprint, and the block keeps one version at its end. A save that changes
nothing in the snapshot (a state moved in the drawing) keeps no new version."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import Any

from helpdesk.tenancy.models import Membership

from ..models import (
    Blueprint,
    BlueprintStatus,
    BlueprintVersion,
    State,
    Transition,
    TransitionAfterAction,
    TransitionOwner,
)

_pending: contextvars.ContextVar[dict[int, tuple[Membership, Blueprint]] | None] = (
    contextvars.ContextVar("bp_versions_pending", default=None)
)


def _owner(o: TransitionOwner) -> dict[str, Any]:
    who = ""
    if o.user_id:
        who = o.user.display_name if o.user else str(o.user_id)
    elif o.role:
        who = o.role
    elif o.team_id:
        who = o.team.name if o.team else str(o.team_id)
    elif o.department_id:
        who = o.department.name if o.department else str(o.department_id)
    return {"kind": o.kind, "who": who, "access": o.access}


def snapshot(blueprint: Blueprint) -> dict[str, Any]:
    """The blueprint as JSON of names and settings: its information, states (by status name)
    and transitions keyed by their id (a rename stays one transition) with their before
    (owners, criteria), during (fields, actions, message) and after (after-action names) parts."""
    org = blueprint.org_id
    states = list(
        State.objects.for_org(org)
        .filter(blueprint=blueprint)
        .select_related("status")
        .order_by("pk")
    )
    names = {s.pk: s.status.name for s in states}
    transitions = (
        Transition.objects.for_org(org)
        .filter(blueprint=blueprint)
        .prefetch_related("sources", "fields", "actions")
        .order_by("position", "pk")
    )
    owners: dict[int, list[dict[str, Any]]] = {}
    for o in (
        TransitionOwner.objects.for_org(org)
        .filter(transition__blueprint=blueprint)
        .select_related("user", "team", "department")
        .order_by("pk")
    ):
        owners.setdefault(o.transition_id, []).append(_owner(o))
    after: dict[int, list[str]] = {}
    for link in (
        TransitionAfterAction.objects.for_org(org)
        .filter(transition__blueprint=blueprint)
        .select_related("action")
        .order_by("position", "pk")
    ):
        after.setdefault(link.transition_id, []).append(link.action.name)
    return {
        "name": blueprint.name,
        "description": blueprint.description,
        "status": blueprint.status,
        "applies_to_all": blueprint.applies_to_all,
        "criteria": blueprint.criteria,
        "restriction": blueprint.restriction,
        "restricted_actions": list(blueprint.restricted_actions or []),
        "is_continuous": blueprint.is_continuous,
        "dynamic_reassignment": blueprint.dynamic_reassignment,
        "states": sorted(names.values()),
        "transitions": {
            str(t.pk): {
                "name": t.name,
                "from": sorted(names.get(s.state_id, "?") for s in t.sources.all()),
                "to": names.get(t.to_state_id, "?"),
                "is_common": t.is_common,
                "auto_trigger": t.auto_trigger,
                "thread_scope": t.thread_scope,
                "description": t.description,
                "owners": owners.get(t.pk, []),
                "criteria": t.criteria,
                "fields": [
                    {
                        "field": f.field,
                        "mandatory": f.mandatory,
                        "validation": f.validation,
                        "warning": f.warning,
                    }
                    for f in t.fields.all()
                ],
                "actions": [a.kind for a in t.actions.all()],
                "message": t.message,
                "after_actions": after.get(t.pk, []),
            }
            for t in transitions
        },
    }


def _keep(actor: Membership, blueprint: Blueprint) -> BlueprintVersion | None:
    """A new version when the snapshot differs from the last one (or there is none)."""
    blueprint = Blueprint.objects.for_org(actor.org).select_for_update().get(pk=blueprint.pk)
    current = snapshot(blueprint)
    last = BlueprintVersion.objects.for_org(actor.org).filter(blueprint=blueprint).first()
    if last is not None and last.snapshot == current:
        return None
    return BlueprintVersion.objects.create(
        org=actor.org,
        blueprint=blueprint,
        number=(last.number if last else 0) + 1,
        author=actor.user,
        snapshot=current,
        published=blueprint.status != BlueprintStatus.DRAFT,
    )


def record(actor: Membership, blueprint: Blueprint) -> BlueprintVersion | None:
    """Keep a version of `blueprint` as this save leaves it (or note it for the end of the
    surrounding `one_save()`)."""
    pending = _pending.get()
    if pending is not None:
        pending[blueprint.pk] = (actor, blueprint)
        return None
    return _keep(actor, blueprint)


@contextlib.contextmanager
def one_save() -> Iterator[None]:
    """Services called inside keep one version per blueprint, at the end of the block (only
    when it ends without an error)."""
    if _pending.get() is not None:
        yield
        return
    token = _pending.set({})
    try:
        yield
        pending = _pending.get() or {}
    finally:
        _pending.reset(token)
    for actor, blueprint in pending.values():
        _keep(actor, blueprint)


def version_number(org_id: int, blueprint_id: int | None) -> int | None:
    """The number of the blueprint's latest version (what tickets run under now), or None."""
    if blueprint_id is None:
        return None
    return (
        BlueprintVersion.objects.for_org(org_id)
        .filter(blueprint_id=blueprint_id)
        .values_list("number", flat=True)
        .first()
    )
