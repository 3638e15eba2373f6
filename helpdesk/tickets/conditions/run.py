"""The two readings of a parsed condition: `matches` on one ticket in Python, `to_q` as a Django
`Q` for many tickets in PostgreSQL. Both follow the same rules, checked against each other by a
property-based test (tests/tickets/rules/test_conditions_property.py):

- text compares without regard to case (the database's UPPER, Python's `upper`);
- a negative operator (is not, does not contain, is none of) holds for an empty value;
- dates are read in the organization's time zone: "before 2026-04-01" is before that day
  starts there, "after" is from the next day on, "between" includes both days;
- "within the last N" is [now - N, now], "within the next N" is [now, now + N];
- custom field values are read from the JSON column, typed by their field; a value of another
  type (which the field validator never stores) is treated as empty by comparisons.

A provider's fields (`schema.FieldProvider`, e.g. the CRM's `crm.*`) have only the Python
reading: `matches` asks the provider for the ticket's values once per call, and a condition on
them is false while the provider has none for the ticket (its integration removed); `to_q`
refuses them (a schema for SQL never offers them)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from django.db.models import (
    Case,
    CharField,
    DateField,
    DateTimeField,
    Exists,
    Expression,
    FloatField,
    Func,
    OuterRef,
    Q,
    Value,
    When,
)
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IContains,
    IExact,
    In,
    IsNull,
    IStartsWith,
    LessThan,
    LessThanOrEqual,
    Regex,
)

from helpdesk.tenancy.models import TeamMember

from ..models import PRIORITY_RANK, Priority, Tag, Ticket, TicketTag
from .parse import Condition, Group, Leaf, Node, Window
from .schema import EXTENSIONS, NEGATIVE, PROVIDERS, T

DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
DATETIME_RE = r"^\d{4}-\d{2}-\d{2}T"


# --- Ranges of dates, shared by both readings -------------------------------------------------
@dataclass(frozen=True)
class Range:
    low: Any = None
    low_inclusive: bool = True
    high: Any = None
    high_inclusive: bool = True

    def contains(self, value: Any) -> bool:
        if value is None:
            return False
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return False
        return not (
            self.high is not None
            and (value > self.high or (value == self.high and not self.high_inclusive))
        )


def _start(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time()).replace(tzinfo=zone)


def _instant(
    value: dt.date | dt.datetime, zone: dt.tzinfo, *, end: bool = False
) -> tuple[dt.datetime, bool]:
    """A date value as the instant its day starts (or, for `end`, the next day's start,
    exclusive); a date-time as itself (naive: in the zone)."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=zone)), True
    if end:
        return _start(value + dt.timedelta(days=1), zone), False
    return _start(value, zone), True


def date_range(leaf: Leaf, *, now: dt.datetime, time_zone: str) -> Range:
    """The range a date operator accepts: instants for date-time fields, days for dates."""
    zone = zoneinfo.ZoneInfo(time_zone)
    op, value = leaf.op, leaf.value
    if leaf.field.type == T.DATE:
        if op == "before":
            return Range(high=value, high_inclusive=False)
        if op == "after":
            return Range(low=value, low_inclusive=False)
        if op == "between":
            return Range(low=value[0], high=value[1])
        assert isinstance(value, Window)
        today = now.astimezone(zone).date()
        if op == "within_last":
            return Range(low=(now - value.delta).astimezone(zone).date(), high=today)
        return Range(low=today, high=(now + value.delta).astimezone(zone).date())
    if op == "before":
        moment, _inc = _instant(value, zone)
        return Range(high=moment, high_inclusive=False)
    if op == "after":
        moment, exact = _instant(value, zone, end=True)
        return Range(low=moment, low_inclusive=not exact)
    if op == "between":
        low, _inc = _instant(value[0], zone)
        high, high_inclusive = _instant(value[1], zone, end=True)
        return Range(low=low, high=high, high_inclusive=high_inclusive)
    assert isinstance(value, Window)
    if op == "within_last":
        return Range(low=now - value.delta, high=now)
    return Range(low=now, high=now + value.delta)


# --- Python -------------------------------------------------------------------------------------
def _text(value: Any) -> str | None:
    """A stored value as the database's `->>` gives it."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class _Facts:
    """What a ticket's conditions read beyond its columns, read once and only if asked."""

    def __init__(self, ticket: Ticket) -> None:
        self.ticket = ticket
        self._tags: set[str] | None = None
        self._teams: set[int] | None = None
        self._provided: dict[str, dict[str, Any] | None] = {}

    def provided(self, prefix: str) -> dict[str, Any] | None:
        """A provider's values for the ticket (None: not available now), read once."""
        if prefix not in self._provided:
            provider = PROVIDERS.get(prefix)
            self._provided[prefix] = None if provider is None else provider.facts(self.ticket)
        return self._provided[prefix]

    @property
    def tags(self) -> set[str]:
        if self._tags is None:
            names = Tag.objects.for_org(self.ticket.org_id).filter(ticket_tags__ticket=self.ticket)
            self._tags = {n.upper() for n in names.values_list("name", flat=True)}
        return self._tags

    @property
    def teams(self) -> set[int]:
        if self._teams is None:
            owner = self.ticket.owner_id
            self._teams = (
                set()
                if owner is None
                else set(
                    TeamMember.objects.for_org(self.ticket.org_id)
                    .filter(user_id=owner)
                    .values_list("team_id", flat=True)
                )
            )
        return self._teams


def _custom(ticket: Ticket, leaf: Leaf) -> Any:
    value = (ticket.custom_fields or {}).get(leaf.field.key)
    kind = leaf.field.type
    if kind == T.NUMBER:
        return (
            float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None
        )
    if kind == T.DATE:
        text = _text(value)
        return dt.date.fromisoformat(text) if text and re.fullmatch(DATE_RE[1:-1], text) else None
    if kind == T.DATETIME:
        text = _text(value)
        if text and re.match(DATETIME_RE, text):
            return dt.datetime.fromisoformat(text)
        return None
    if kind == T.BOOLEAN:
        return value is True
    return _text(value)


def _value(ticket: Ticket, leaf: Leaf, facts: _Facts) -> Any:
    """The ticket's value for the leaf's field, in the form the operators compare."""
    name = leaf.field.name
    if leaf.field.provider:
        return (facts.provided(leaf.field.provider) or {}).get(name)
    if leaf.field.custom is not None:
        return _custom(ticket, leaf)
    if name in EXTENSIONS:
        return EXTENSIONS[name].read(ticket)
    if name == "email":
        contact = ticket.contact if ticket.contact_id else None
        return contact.email if contact is not None else None
    if name in ("department", "status", "owner", "contact", "account"):
        return getattr(ticket, f"{name}_id")
    if name == "number":
        return float(ticket.number)
    return getattr(ticket, name)


def _empty(ticket: Ticket, leaf: Leaf, facts: _Facts) -> bool:
    kind = leaf.field.type
    if kind == T.TAGS:
        return not facts.tags
    if kind == T.TEAM:
        return not facts.teams
    value = _value(ticket, leaf, facts)
    return value is None or value == ""


def _positive(ticket: Ticket, leaf: Leaf, facts: _Facts, now: dt.datetime, tz: str) -> bool:
    kind, op, wanted = leaf.field.type, NEGATIVE.get(leaf.op, leaf.op), leaf.value
    if kind == T.TAGS:
        return wanted.upper() in facts.tags
    if kind == T.TEAM:
        return bool(facts.teams & set(wanted if isinstance(wanted, tuple) else (wanted,)))
    value = _value(ticket, leaf, facts)
    if kind in (T.DATE, T.DATETIME):
        return date_range(leaf, now=now, time_zone=tz).contains(value)
    if value is None:
        return False
    if kind == T.TEXT:
        text, target = value.upper(), wanted.upper()
        if op == "is":
            return text == target
        if op == "contains":
            return target in text
        return text.startswith(target)  # starts_with
    if kind == T.BOOLEAN:
        return value is wanted
    if kind == T.RANK and op in ("lt", "lte", "gt", "gte"):
        value, wanted = PRIORITY_RANK[Priority(value)], PRIORITY_RANK[Priority(wanted)]
    if kind == T.NUMBER:
        wanted = tuple(map(float, wanted)) if isinstance(wanted, tuple) else float(wanted)
    if op == "is":
        return value == wanted
    if op == "in":
        return value in wanted
    if op == "between":
        return wanted[0] <= value <= wanted[1]
    return {
        "lt": value < wanted,
        "lte": value <= wanted,
        "gt": value > wanted,
        "gte": value >= wanted,
    }[op]


def _matches(node: Node, ticket: Ticket, facts: _Facts, now: dt.datetime, tz: str) -> bool:
    if isinstance(node, Group):
        test = all if node.kind == "all" else any
        return test(_matches(child, ticket, facts, now, tz) for child in node.children)
    if node.field.provider and facts.provided(node.field.provider) is None:
        return False  # the provider's fields are gone (a CRM integration removed): never true
    if node.op == "is_empty":
        return _empty(ticket, node, facts)
    if node.op == "is_not_empty":
        return not _empty(ticket, node, facts)
    if node.op in NEGATIVE:
        return not _positive(ticket, node, facts, now, tz) or _empty(ticket, node, facts)
    return _positive(ticket, node, facts, now, tz)


def matches(condition: Condition, ticket: Ticket, *, now: dt.datetime) -> bool:
    """Whether `ticket` (of the condition's organization) meets the condition at `now`.
    Reads the ticket's tags, the owner's teams or a provider's facts only when the condition
    names them, once each."""
    if ticket.org_id != condition.org_id:
        raise ValueError("The ticket belongs to another organization than the condition.")
    return _matches(condition.root, ticket, _Facts(ticket), now, condition.time_zone)


# --- SQL ----------------------------------------------------------------------------------------
class JSONType(Func):
    function = "jsonb_typeof"
    output_field = CharField()


def _typed(leaf: Leaf) -> Expression:
    """A custom field's value as a typed SQL expression; NULL when it has another type."""
    key = leaf.field.key
    text = KeyTextTransform(key, "custom_fields")
    kind = leaf.field.type
    if kind == T.NUMBER:
        guard: Any = Exact(JSONType(KeyTransform(key, "custom_fields")), "number")
        target: Any = FloatField()
    elif kind == T.DATE:
        guard, target = Regex(text, DATE_RE), DateField()
    else:
        guard, target = Regex(text, DATETIME_RE), DateTimeField()
    return Case(When(guard, then=Cast(text, target)), default=Value(None), output_field=target)


def _lhs(leaf: Leaf, org_id: int) -> Any:
    """The leaf's field as an SQL expression (custom and registered fields) or a lookup path
    (columns)."""
    name = leaf.field.name
    if name in EXTENSIONS:
        return EXTENSIONS[name].expression(org_id)
    if leaf.field.custom is not None:
        if leaf.field.type in (T.NUMBER, T.DATE, T.DATETIME):
            return _typed(leaf)
        return KeyTextTransform(leaf.field.key, "custom_fields")
    if name == "email":
        return "contact__email"
    if name in ("department", "status", "owner", "contact", "account"):
        return f"{name}_id"
    return name


def _compare(lhs: Any, op: str, value: Any) -> Q:
    """`lhs <op> value` for a lookup path (a string) or an expression."""
    lookup = {
        "is": ("exact", Exact),
        "in": ("in", In),
        "lt": ("lt", LessThan),
        "lte": ("lte", LessThanOrEqual),
        "gt": ("gt", GreaterThan),
        "gte": ("gte", GreaterThanOrEqual),
        "text_is": ("iexact", IExact),
        "contains": ("icontains", IContains),
        "starts_with": ("istartswith", IStartsWith),
    }[op]
    if isinstance(lhs, str):
        return Q(**{f"{lhs}__{lookup[0]}": value})
    return Q(lookup[1](lhs, list(value) if isinstance(value, tuple) else value))


def _range_q(lhs: Any, rng: Range) -> Q:
    q = Q()
    if rng.low is not None:
        q &= _compare(lhs, "gte" if rng.low_inclusive else "gt", rng.low)
    if rng.high is not None:
        q &= _compare(lhs, "lte" if rng.high_inclusive else "lt", rng.high)
    return q


def _tags(org_id: int, **filters: Any) -> Exists:
    return Exists(TicketTag.objects.for_org(org_id).filter(ticket=OuterRef("pk"), **filters))


def _team_users(org_id: int, **filters: Any) -> Any:
    return TeamMember.objects.for_org(org_id).filter(**filters).values("user_id")


def _empty_q(leaf: Leaf, org_id: int) -> Q:
    kind = leaf.field.type
    if kind == T.TAGS:
        return ~Q(_tags(org_id))
    if kind == T.TEAM:
        return Q(owner__isnull=True) | ~Q(owner_id__in=_team_users(org_id))
    lhs = _lhs(leaf, org_id)
    if isinstance(lhs, str):
        q = Q(**{f"{lhs}__isnull": True})
        if kind == T.TEXT:
            q |= Q(**{lhs: ""})
        return q
    if kind in (T.NUMBER, T.DATE, T.DATETIME, T.REFERENCE):  # typed: NULL unless a value
        return Q(IsNull(lhs, True))
    return Q(IsNull(lhs, True)) | Q(Exact(lhs, ""))


def _positive_q(leaf: Leaf, org_id: int, now: dt.datetime, tz: str) -> Q:
    kind, op, wanted = leaf.field.type, NEGATIVE.get(leaf.op, leaf.op), leaf.value
    if kind == T.TAGS:
        return Q(_tags(org_id, tag__name__iexact=wanted))
    if kind == T.TEAM:
        teams = wanted if isinstance(wanted, tuple) else (wanted,)
        return Q(owner_id__in=_team_users(org_id, team_id__in=teams))
    lhs = _lhs(leaf, org_id)
    if kind in (T.DATE, T.DATETIME):
        return _range_q(lhs, date_range(leaf, now=now, time_zone=tz))
    if kind == T.TEXT:
        return _compare(lhs, "text_is" if op == "is" else op, wanted)
    if kind == T.BOOLEAN:
        truth = Q(Exact(lhs, "true"))
        return truth if wanted else ~truth | Q(IsNull(lhs, True))
    if kind == T.RANK and op in ("lt", "lte", "gt", "gte"):
        return _compare("priority_rank", op, PRIORITY_RANK[Priority(wanted)])
    if kind == T.NUMBER:
        wanted = tuple(map(float, wanted)) if isinstance(wanted, tuple) else float(wanted)
    if op == "between":
        return _compare(lhs, "gte", wanted[0]) & _compare(lhs, "lte", wanted[1])
    return _compare(lhs, op, wanted)


def _q(node: Node, org_id: int, now: dt.datetime, tz: str) -> Q:
    if isinstance(node, Leaf) and node.field.provider:
        raise ValueError(
            f"The field {node.field.name!r} is read one ticket at a time and has no SQL reading: "
            "parse conditions for to_q with schema_for(..., sql=True)."
        )
    if isinstance(node, Group):
        parts = [_q(child, org_id, now, tz) for child in node.children]
        if not parts:
            # An empty root "all" matches every ticket; an empty "any" none.
            return Q() if node.kind == "all" else Q(pk__in=[])
        combined = parts[0]
        for part in parts[1:]:
            combined = combined & part if node.kind == "all" else combined | part
        return combined
    if node.op == "is_empty":
        return _empty_q(node, org_id)
    if node.op == "is_not_empty":
        return ~_empty_q(node, org_id)
    if node.op in NEGATIVE:
        return ~_positive_q(node, org_id, now, tz) | _empty_q(node, org_id)
    return _positive_q(node, org_id, now, tz)


def to_q(condition: Condition, *, org: Any, now: dt.datetime) -> Q:
    """The condition as a `Q` on `Ticket`, for `Ticket.objects.for_org(org).filter(...)`."""
    if org.pk != condition.org_id:
        raise ValueError("The condition belongs to another organization.")
    return _q(condition.root, org.pk, now, condition.time_zone)
