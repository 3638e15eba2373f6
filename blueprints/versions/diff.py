"""Two versions of a blueprint compared in words: each state added or removed, each transition
added, removed or changed, and each changed setting with its old and new value, labelled as the
forms label them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from ..models import (
    AccessLevel,
    AutoTrigger,
    BlueprintStatus,
    DuringAction,
    OwnerKind,
    RestrictedAction,
    Restriction,
    ThreadScope,
)

BLUEPRINT_LABELS = {
    "name": gettext_lazy("Name"),
    "description": gettext_lazy("Description"),
    "status": gettext_lazy("Status"),
    "applies_to_all": gettext_lazy("Applies to every ticket"),
    "criteria": gettext_lazy("Criteria"),
    "restriction": gettext_lazy("Restricted mode"),
    "restricted_actions": gettext_lazy("Restricted actions"),
    "is_continuous": gettext_lazy("Continuous"),
    "dynamic_reassignment": gettext_lazy("Dynamic owner reassignment"),
}
TRANSITION_LABELS = {
    "name": gettext_lazy("Name"),
    "from": gettext_lazy("From states"),
    "to": gettext_lazy("To state"),
    "is_common": gettext_lazy("Common transition"),
    "auto_trigger": gettext_lazy("Automatic trigger"),
    "thread_scope": gettext_lazy("Thread scope"),
    "description": gettext_lazy("Description"),
    "owners": pgettext_lazy("blueprint part", "Before: owners"),
    "criteria": pgettext_lazy("blueprint part", "Before: criteria"),
    "fields": pgettext_lazy("blueprint part", "During: fields"),
    "actions": pgettext_lazy("blueprint part", "During: actions"),
    "message": pgettext_lazy("blueprint part", "During: message"),
    "after_actions": pgettext_lazy("blueprint part", "After: actions"),
}


@dataclass(frozen=True)
class Difference:
    """One line of the comparison: what (a state, a transition, the blueprint), how (added,
    removed, changed) and, for a changed setting, its label and values as text."""

    what: str
    name: str
    how: str
    setting: str = ""
    before: str = ""
    after: str = ""


def _choice(choices: Any, value: Any) -> str:
    return str(dict(choices.choices).get(value, value))


def _text(key: str, value: Any) -> str:
    """A setting's value as a person reads it."""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if value in (None, "", [], {}):
        return "—"
    if key == "status":
        return _choice(BlueprintStatus, value)
    if key == "restriction":
        return _choice(Restriction, value)
    if key == "restricted_actions":
        return ", ".join(_choice(RestrictedAction, v) for v in value)
    if key == "auto_trigger":
        return _choice(AutoTrigger, value)
    if key == "thread_scope":
        return _choice(ThreadScope, value)
    if key == "actions":
        return ", ".join(_choice(DuringAction, v) for v in value)
    if key == "owners":
        return "; ".join(
            " ".join(
                p
                for p in (
                    _choice(OwnerKind, o.get("kind")),
                    o.get("who") or "",
                    f"({_choice(AccessLevel, o.get('access'))})" if o.get("access") else "",
                )
                if p
            )
            for o in value
        )
    if key == "fields":
        return "; ".join(
            f"{f['field']}"
            + (f" ({_('mandatory')})" if f.get("mandatory") else "")
            + (
                f" — {_('rule')}: {json.dumps(f['validation'], ensure_ascii=False)}"
                if f.get("validation")
                else ""
            )
            for f in value
        )
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def _settings(
    what: str, name: str, labels: dict[str, Any], old: dict[str, Any], new: dict[str, Any]
) -> list[Difference]:
    return [
        Difference(
            what=what,
            name=name,
            how=str(pgettext_lazy("version change", "changed")),
            setting=str(label),
            before=_text(key, old.get(key)),
            after=_text(key, new.get(key)),
        )
        for key, label in labels.items()
        if old.get(key) != new.get(key)
    ]


def compare(old: dict[str, Any], new: dict[str, Any]) -> list[Difference]:
    """What changed from snapshot `old` to snapshot `new` (either may be {}: nothing)."""
    added = str(pgettext_lazy("version change", "added"))
    removed = str(pgettext_lazy("version change", "removed"))
    blueprint = str(pgettext_lazy("version part", "Blueprint"))
    state = str(pgettext_lazy("version part", "State"))
    transition = str(pgettext_lazy("version part", "Transition"))
    out = _settings(blueprint, new.get("name") or old.get("name", ""), BLUEPRINT_LABELS, old, new)
    old_states, new_states = set(old.get("states", [])), set(new.get("states", []))
    out += [Difference(state, s, added) for s in sorted(new_states - old_states)]
    out += [Difference(state, s, removed) for s in sorted(old_states - new_states)]
    before, after = old.get("transitions", {}), new.get("transitions", {})
    for key, t in after.items():
        if key not in before:
            out.append(Difference(transition, t["name"], added))
    for key, t in before.items():
        if key not in after:
            out.append(Difference(transition, t["name"], removed))
    for key, t in after.items():
        if key in before:
            out += _settings(transition, t["name"], TRANSITION_LABELS, before[key], t)
    return out
