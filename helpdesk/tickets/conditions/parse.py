"""Reading a condition's JSON: every problem found, each named in words an admin can act on.

A condition is `{"field": ..., "op": ..., "value": ...}`, or a group `{"all": [...]}` /
`{"any": [...]}` of conditions (nestable). The root may be an empty group: it matches every
ticket. Values are normalised (dates parsed, numbers as numbers, ids as ints), so the
evaluator and the translator read the same thing."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from .schema import (
    LIST_VALUE,
    MAX_AMOUNT,
    NO_VALUE,
    OPERATOR_LABELS,
    REFERENCES,
    UNITS,
    FieldSpec,
    Schema,
    T,
)

MAX_DEPTH = 4
MAX_LEAVES = 50
MAX_TEXT = 255


@dataclass(frozen=True)
class Window:
    """A span relative to now: `amount` hours or days."""

    amount: int
    unit: str

    @property
    def delta(self) -> dt.timedelta:
        return (
            dt.timedelta(hours=self.amount) if self.unit == "hours" else dt.timedelta(self.amount)
        )


@dataclass(frozen=True)
class Leaf:
    field: FieldSpec
    op: str
    value: Any  # normalised: str, int, float, bool, date, datetime, Window, tuple of those


@dataclass(frozen=True)
class Group:
    kind: str  # "all" or "any"
    children: tuple[Node, ...]


Node = Leaf | Group


@dataclass(frozen=True)
class Condition:
    """A parsed condition of one organization, read in its time zone."""

    root: Group
    org_id: int
    time_zone: str


class ConditionError(ValidationError):
    """The condition is not valid; `messages` says each problem."""


def _label(spec: FieldSpec | None, name: Any) -> str:
    return spec.label if spec is not None else str(name)


class _Parser:
    def __init__(self, schema: Schema) -> None:
        self.schema = schema
        self.errors: list[str] = []
        self.leaves = 0

    def node(self, data: Any, depth: int) -> Node | None:
        if not isinstance(data, dict):
            self.errors.append(
                _("Each condition must be an object with a field, an operator and a value.")
            )
            return None
        groups = [k for k in ("all", "any") if k in data]
        if groups:
            if len(data) != 1:
                self.errors.append(_("A group has only “all” or “any”, with a list of conditions."))
                return None
            return self.group(groups[0], data[groups[0]], depth)
        return self.leaf(data)

    def group(self, kind: str, items: Any, depth: int) -> Group | None:
        if depth >= MAX_DEPTH:
            self.errors.append(
                _("Groups are nested too deeply (at most %(n)d levels).") % {"n": MAX_DEPTH}
            )
            return None
        if not isinstance(items, list):
            self.errors.append(_("“%(kind)s” must hold a list of conditions.") % {"kind": kind})
            return None
        if not items and depth > 0:
            self.errors.append(_("A group is empty: add a condition to it or remove it."))
            return None
        children = [self.node(item, depth + 1) for item in items]
        return Group(kind, tuple(c for c in children if c is not None))

    def leaf(self, data: dict[str, Any]) -> Leaf | None:
        self.leaves += 1
        if self.leaves == MAX_LEAVES + 1:
            self.errors.append(_("Use at most %(n)d conditions.") % {"n": MAX_LEAVES})
        extra = set(data) - {"field", "op", "value"}
        if "field" not in data or "op" not in data or extra:
            self.errors.append(
                _("A condition has “field”, “op” and “value” (or is a group “all” / “any”).")
            )
            return None
        name, op = data["field"], data["op"]
        spec = self.schema.get(name) if isinstance(name, str) else None
        if spec is None:
            why = self.schema.unavailable(name)
            if why is not None:  # a provider's field the organization lacks now, or SQL
                self.errors.append(
                    _("The field “%(field)s” is not available: %(why)s")
                    % {"field": name, "why": why}
                )
            else:
                self.errors.append(_("Unknown field “%(field)s”.") % {"field": name})
            return None
        if op not in spec.operators:
            self.errors.append(
                _("%(field)s: the operator “%(op)s” does not apply; use one of: %(ops)s.")
                % {
                    "field": spec.label,
                    "op": OPERATOR_LABELS.get(op, op) if isinstance(op, str) else op,
                    "ops": ", ".join(str(OPERATOR_LABELS[o]) for o in spec.operators),
                }
            )
            return None
        prefix = f"{spec.label} {OPERATOR_LABELS[op]}: "
        try:
            value = self.value(spec, op, data.get("value"))
        except ValueError as exc:
            self.errors.append(prefix + str(exc))
            return None
        return Leaf(spec, op, value)

    # --- values ---------------------------------------------------------------------------
    def value(self, spec: FieldSpec, op: str, raw: Any) -> Any:
        if op in NO_VALUE:
            if raw not in (None, "", []):
                raise ValueError(_("this operator takes no value."))
            return None
        if op in LIST_VALUE:
            items = raw if isinstance(raw, list) else [raw] if raw not in (None, "") else []
            if not items:
                raise ValueError(_("choose at least one value."))
            cleaned = tuple(dict.fromkeys(self.scalar(spec, item) for item in items))
            return cleaned
        if op == "between":
            if not isinstance(raw, list) or len(raw) != 2:
                raise ValueError(_("give two values, from and to."))
            low, high = (self.scalar(spec, item, op=op) for item in raw)
            if _order_key(low) > _order_key(high):
                raise ValueError(_("the first value must not be after the second."))
            return (low, high)
        if op in ("within_last", "within_next"):
            return _window(raw)
        return self.scalar(spec, raw, op=op)

    def scalar(self, spec: FieldSpec, raw: Any, *, op: str = "") -> Any:
        kind = spec.type
        if kind in (T.TEXT, T.TAGS):
            if not isinstance(raw, str) or not raw:
                raise ValueError(_("enter some text."))
            limit = 50 if kind == T.TAGS else MAX_TEXT
            if len(raw) > limit:
                raise ValueError(_("use at most %(n)d characters.") % {"n": limit})
            return raw
        if kind in (T.CHOICE, T.RANK):
            keys = [key for key, _label in spec.choices]
            if raw not in keys:
                raise ValueError(
                    _("choose one of: %(choices)s.")
                    % {"choices": ", ".join(label for _key, label in spec.choices)}
                )
            return raw
        if kind in (T.REFERENCE, T.TEAM):
            if isinstance(raw, bool):
                raise ValueError(_("choose a value from the list."))
            try:
                return int(raw)
            except (TypeError, ValueError):
                raise ValueError(_("choose a value from the list.")) from None
        if kind == T.NUMBER:
            return _number(raw)
        if kind == T.BOOLEAN:
            if isinstance(raw, bool):
                return raw
            if raw in ("true", "false"):
                return raw == "true"
            raise ValueError(_("choose yes or no."))
        if kind in (T.DATE, T.DATETIME):
            return _moment(raw, with_time=kind == T.DATETIME)
        raise ValueError(_("unknown field type."))  # pragma: no cover


def _number(raw: Any) -> int | float:
    if isinstance(raw, bool):
        raise ValueError(_("enter a number."))
    if isinstance(raw, str):
        try:
            raw = float(raw.strip()) if raw.strip() else None
        except ValueError:
            raw = None
    if not isinstance(raw, int | float) or not math.isfinite(raw) or abs(raw) >= 1e15:
        raise ValueError(_("enter a number."))
    return int(raw) if float(raw).is_integer() else float(raw)


def _moment(raw: Any, *, with_time: bool) -> dt.date | dt.datetime:
    """A date ("2026-04-01"), or for date-time fields also a date and time (naive: in the
    organization's time zone, resolved when the condition is read)."""
    if isinstance(raw, str):
        text = raw.strip()
        try:
            day = parse_date(text)
            moment = None if day else (parse_datetime(text) if with_time else None)
        except ValueError:
            day = moment = None
        if day is not None:
            return day
        if moment is not None:
            return moment
    if with_time:
        raise ValueError(_("enter a date (YYYY-MM-DD) or a date and time (YYYY-MM-DDTHH:MM)."))
    raise ValueError(_("enter a date as YYYY-MM-DD."))


def _window(raw: Any) -> Window:
    if not isinstance(raw, dict):
        raise ValueError(_("give an amount and a unit (hours or days)."))
    amount, unit = raw.get("amount"), raw.get("unit")
    if isinstance(amount, str) and amount.strip().isdigit():
        amount = int(amount)
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise ValueError(
            _("the amount must be a whole number from 1 to %(n)d.") % {"n": MAX_AMOUNT}
        )
    if unit not in UNITS:
        raise ValueError(_("the unit must be hours or days."))
    return Window(amount, unit)


def _order_key(value: Any) -> Any:
    """Dates and date-times compare by their start (a day starts at midnight)."""
    if isinstance(value, dt.datetime):
        return (value.replace(tzinfo=None), 1)
    if isinstance(value, dt.date):
        return (dt.datetime.combine(value, dt.time()), 0)
    return value


def check_references(org: Any, root: Node) -> list[str]:
    """Problems with ids that name no row of `org` (a deleted department, another
    organization's agent ...)."""
    wanted: dict[str, set[int]] = {}
    labels: dict[str, str] = {}

    def walk(node: Node) -> None:
        if isinstance(node, Group):
            for child in node.children:
                walk(child)
        elif node.field.type in (T.REFERENCE, T.TEAM) and node.value is not None:
            values = node.value if isinstance(node.value, tuple) else (node.value,)
            wanted.setdefault(node.field.name, set()).update(values)
            labels[node.field.name] = node.field.label

    walk(root)
    errors = []
    for name, ids in wanted.items():
        model = apps.get_model(REFERENCES[name])
        column = "user_id" if name == "owner" else "pk"
        found = set(
            model.objects.for_org(org)
            .filter(**{f"{column}__in": ids})
            .values_list(column, flat=True)
        )
        missing = sorted(ids - found)
        if missing:
            errors.append(
                _("%(field)s: there is no such record (%(ids)s).")
                % {"field": labels[name], "ids": ", ".join(map(str, missing))}
            )
    return errors


def parse(data: Any, *, schema: Schema, org: Any, check_refs: bool = True) -> Condition:
    """The parsed condition, or ConditionError listing every problem.

    `check_refs` makes sure every referenced row (department, status, owner ...) belongs to
    `org`: on save. Rules read from the database skip it (a row deleted since simply never
    matches)."""
    if data in (None, "", {}):
        data = {"all": []}
    parser = _Parser(schema)
    if not isinstance(data, dict) or set(data) not in ({"all"}, {"any"}):
        # A single condition at the root is the group of that one condition.
        data = {"all": [data]}
    kind = "all" if "all" in data else "any"
    root = parser.group(kind, data[kind], 0)
    errors = parser.errors
    if root is not None and not errors and check_refs:
        errors = check_references(org, root)
    if errors or root is None:
        raise ConditionError(errors or [_("The condition is not valid.")], code="condition")
    return Condition(root=root, org_id=org.pk, time_zone=schema.time_zone)


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, Window):
        return {"amount": value.amount, "unit": value.unit}
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def to_json(condition: Condition) -> dict[str, Any]:
    """The normalised JSON of a parsed condition, as rules store it."""

    def node(n: Node) -> dict[str, Any]:
        if isinstance(n, Group):
            return {n.kind: [node(c) for c in n.children]}
        out: dict[str, Any] = {"field": n.field.name, "op": n.op}
        if n.op not in NO_VALUE:
            out["value"] = _json_value(n.value)
        return out

    return node(condition.root)
