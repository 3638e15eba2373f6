"""What a condition may name: the ticket's fields, their types and each type's operators.

A field is a built-in ticket field (`priority`, `owner`, `due_at` ...), a custom field of a
department's layout (`cf.<key>`, typed by the custom field's type), a field an app above
tickets registered for every organization (`register_field`), or a field an app above tickets
provides to some organizations only, read one ticket at a time (`register_provider`: the CRM's
data about the ticket's customer, `crm.<name>`). The schema of an organization is read once
(`schema_for`) and is then plain data; a provider's fields are asked for only when a condition
names one of them or the builder lists every field."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ..models import Channel, CustomField, FieldType, Priority, StatusKind


class T:
    """Field types of the condition language (not the custom field types: those map here)."""

    TEXT = "text"
    CHOICE = "choice"  # a fixed set of string keys
    RANK = "rank"  # a choice whose keys are ordered (priority)
    REFERENCE = "reference"  # a row of the organization, by id
    NUMBER = "number"
    DATE = "date"  # a calendar day
    DATETIME = "datetime"  # an instant
    BOOLEAN = "boolean"
    TAGS = "tags"  # the ticket's tags, by name
    TEAM = "team"  # the owner's teams


NO_VALUE = frozenset({"is_empty", "is_not_empty"})
LIST_VALUE = frozenset({"in", "not_in"})
# Negative operators are true for an empty value ("priority is not high" holds for no value).
NEGATIVE = {"is_not": "is", "not_contains": "contains", "not_in": "in"}

OPERATOR_LABELS: dict[str, Promise] = {
    "is": pgettext_lazy("condition operator", "is"),
    "is_not": pgettext_lazy("condition operator", "is not"),
    "contains": pgettext_lazy("condition operator", "contains"),
    "not_contains": pgettext_lazy("condition operator", "does not contain"),
    "starts_with": pgettext_lazy("condition operator", "starts with"),
    "is_empty": pgettext_lazy("condition operator", "is empty"),
    "is_not_empty": pgettext_lazy("condition operator", "is not empty"),
    "in": pgettext_lazy("condition operator", "is any of"),
    "not_in": pgettext_lazy("condition operator", "is none of"),
    "lt": pgettext_lazy("condition operator", "less than"),
    "lte": pgettext_lazy("condition operator", "at most"),
    "gt": pgettext_lazy("condition operator", "more than"),
    "gte": pgettext_lazy("condition operator", "at least"),
    "between": pgettext_lazy("condition operator", "between"),
    "before": pgettext_lazy("condition operator", "before"),
    "after": pgettext_lazy("condition operator", "after"),
    "within_last": pgettext_lazy("condition operator", "within the last"),
    "within_next": pgettext_lazy("condition operator", "within the next"),
}

_ORDER = ("lt", "lte", "gt", "gte", "between")
_DATES = ("before", "after", "between", "within_last", "within_next")
OPERATORS: dict[str, tuple[str, ...]] = {
    T.TEXT: ("is", "is_not", "contains", "not_contains", "starts_with"),
    T.CHOICE: ("is", "is_not", "in", "not_in"),
    T.RANK: ("is", "is_not", "in", "not_in", *_ORDER[:4]),
    T.REFERENCE: ("is", "is_not", "in", "not_in"),
    T.NUMBER: ("is", "is_not", *_ORDER),
    T.DATE: _DATES,
    T.DATETIME: _DATES,
    T.BOOLEAN: ("is",),
    T.TAGS: ("contains", "not_contains"),
    T.TEAM: ("is", "is_not", "in", "not_in"),
}
UNITS = {"hours": _("hours"), "days": _("days")}
MAX_AMOUNT = 3650


@dataclass(frozen=True)
class FieldSpec:
    """One field a condition may test. `choices` are (key, label) pairs: the allowed values
    of a choice field, or the rows a reference may point at (for the builder)."""

    name: str
    label: str
    type: str
    nullable: bool = False
    choices: tuple[tuple[Any, str], ...] = ()
    custom: CustomField | None = field(default=None, compare=False)
    # A provider's field (see FieldProvider): its prefix, and the builder's heading for it.
    provider: str = ""
    group: str = ""

    @property
    def operators(self) -> tuple[str, ...]:
        ops = OPERATORS[self.type]
        return (*ops, *sorted(NO_VALUE)) if self.nullable else ops

    @property
    def key(self) -> str:
        """The custom field's key (`cf.size` -> `size`)."""
        return self.name[3:]


# A reference field names the model it points at and the ticket column that holds it.
REFERENCES = {
    "department": "tenancy.Department",
    "status": "tickets.TicketStatus",
    "owner": "tenancy.Membership",
    "contact": "customers.Contact",
    "account": "customers.Account",
    "team": "tenancy.Team",
}

CF_TYPES = {
    FieldType.TEXT: T.TEXT,
    FieldType.TEXTAREA: T.TEXT,
    FieldType.EMAIL: T.TEXT,
    FieldType.URL: T.TEXT,
    FieldType.NUMBER: T.NUMBER,
    FieldType.DATE: T.DATE,
    FieldType.DATETIME: T.DATETIME,
    FieldType.PICKLIST: T.CHOICE,
    FieldType.CHECKBOX: T.BOOLEAN,
}


def builtin_fields() -> list[FieldSpec]:
    """The ticket's own fields, in the order the builder lists them."""
    return [
        FieldSpec("subject", str(_("Subject")), T.TEXT),
        FieldSpec("description", str(_("Description")), T.TEXT, nullable=True),
        FieldSpec("email", str(_("Contact email")), T.TEXT, nullable=True),
        FieldSpec("number", str(_("Ticket number")), T.NUMBER),
        FieldSpec("department", str(_("Department")), T.REFERENCE),
        FieldSpec("status", str(_("Status")), T.REFERENCE),
        FieldSpec(
            "status_kind",
            str(_("Status type")),
            T.CHOICE,
            choices=tuple((k, str(v)) for k, v in StatusKind.choices),
        ),
        FieldSpec(
            "priority",
            str(_("Priority")),
            T.RANK,
            choices=tuple((k, str(v)) for k, v in Priority.choices),
        ),
        FieldSpec(
            "channel",
            str(_("Channel")),
            T.CHOICE,
            choices=tuple((k, str(v)) for k, v in Channel.choices),
        ),
        FieldSpec("owner", str(_("Owner")), T.REFERENCE, nullable=True),
        FieldSpec("team", str(_("Owner's team")), T.TEAM, nullable=True),
        FieldSpec("contact", str(_("Contact")), T.REFERENCE, nullable=True),
        FieldSpec("account", str(_("Account")), T.REFERENCE, nullable=True),
        FieldSpec("tags", str(_("Tags")), T.TAGS, nullable=True),
        FieldSpec("due_at", str(_("Due date")), T.DATETIME, nullable=True),
        FieldSpec("created_at", str(pgettext_lazy("ticket field", "Created")), T.DATETIME),
        FieldSpec("updated_at", str(pgettext_lazy("ticket field", "Updated")), T.DATETIME),
        FieldSpec("closed_at", str(pgettext_lazy("ticket field", "Closed")), T.DATETIME, True),
    ]


def custom_field_spec(custom: CustomField) -> FieldSpec:
    kind = CF_TYPES.get(FieldType(custom.type), T.TEXT)
    choices = tuple((c, c) for c in custom.choices or []) if kind == T.CHOICE else ()
    return FieldSpec(
        f"cf.{custom.key}",
        custom.label,
        kind,
        nullable=kind != T.BOOLEAN,
        choices=choices,
        custom=custom,
    )


@dataclass(frozen=True)
class Extension:
    """A field an app above tickets adds to the language (blueprints: the owner's role, thread
    counts, the ticket's blueprint state), registered at start-up with `register_field`.

    `spec(org)` builds its FieldSpec (of an existing type); `read(ticket)` is its value for the
    Python evaluator, in the form the operators compare (numbers as floats, ids as ints, None
    when empty); `expression(org_id)` the same value as an SQL expression on `Ticket` for
    `to_q`. The two must agree (the property-based test covers the registered fields);
    `reference` names the model a reference field's ids point at."""

    spec: Callable[[Any], FieldSpec]
    read: Callable[[Any], Any]
    expression: Callable[[int], Any]
    reference: str | None = None


EXTENSIONS: dict[str, Extension] = {}


def register_field(name: str, extension: Extension) -> None:
    """Add field `name` to every schema (the same registration twice is one)."""
    if name in {spec.name for spec in builtin_fields()} or name.startswith("cf."):
        raise ValueError(f"The condition field {name!r} already exists.")
    EXTENSIONS[name] = extension
    if extension.reference:
        REFERENCES[name] = extension.reference


@dataclass(frozen=True)
class FieldProvider:
    """Fields an app above tickets gives some organizations only, with values it reads about
    one ticket at a time (CRM-17: customer type and open deals, while a CRM syncs with the
    desk). Registered at start-up with `register_provider`; tickets never imports the app.

    - `prefix` starts its fields' names ("crm."), so a condition naming one is known as
      the provider's even when the organization does not have it (any more);
    - `group`: the builder's heading for its fields ("CRM");
    - `fields(org)`: the organization's fields now ([] when it has none: no CRM syncs with the
      desk). Read only when a condition names a field of the prefix or the builder lists every
      field, so an organization whose rules name none pays nothing;
    - `facts(ticket)`: the ticket's values by field name, in the form the operators compare
      (numbers as floats, None when empty), read once per evaluation of a condition; None when
      the fields are not available for the ticket now: every condition on them is then false,
      whatever its operator;
    - `unavailable`: why its fields may be missing, in words an admin can act on.

    These fields have no SQL reading: they serve the Python evaluator (rules, blueprints).
    A schema for SQL (`schema_for(..., sql=True)`) does not offer them and `to_q` refuses
    them."""

    prefix: str
    group: str | Promise
    fields: Callable[[Any], list[FieldSpec]]
    facts: Callable[[Any], dict[str, Any] | None]
    unavailable: str | Promise


PROVIDERS: dict[str, FieldProvider] = {}


def register_provider(provider: FieldProvider) -> None:
    """Add a provider of fields (the same prefix registered again replaces it)."""
    if not provider.prefix.endswith(".") or provider.prefix == "cf.":
        raise ValueError(f"A provider's prefix ends with a dot and is not cf.: {provider.prefix!r}")
    PROVIDERS[provider.prefix] = provider


def unregister_provider(prefix: str) -> None:
    PROVIDERS.pop(prefix, None)


def provider_of(name: Any) -> FieldProvider | None:
    """The provider whose prefix starts `name`, if any."""
    if not isinstance(name, str) or "." not in name:
        return None
    return PROVIDERS.get(name[: name.index(".") + 1])


@dataclass(frozen=True)
class Schema:
    """The fields of one organization (optionally one department's custom fields only), and
    its time zone, in which date values ("2026-04-01") are read.

    `fields` are the fields every reading supports (Python and SQL); providers' fields are
    read from `org` when first asked for (`get`, `all_fields`) and kept with the schema, unless
    the schema is for SQL (`sql`)."""

    fields: dict[str, FieldSpec]
    time_zone: str
    org: Any = field(default=None, compare=False, repr=False)
    sql: bool = False
    _provided: dict[str, dict[str, FieldSpec]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def provided(self, provider: FieldProvider) -> dict[str, FieldSpec]:
        """The provider's fields for this organization (none in a schema for SQL)."""
        if self.sql or self.org is None:
            return {}
        if provider.prefix not in self._provided:
            specs = [s for s in provider.fields(self.org) if s.name.startswith(provider.prefix)]
            self._provided[provider.prefix] = {
                s.name: replace(s, provider=provider.prefix, group=str(provider.group))
                for s in specs
            }
        return self._provided[provider.prefix]

    def get(self, name: str) -> FieldSpec | None:
        spec = self.fields.get(name)
        if spec is None:
            provider = provider_of(name)
            if provider is not None:
                spec = self.provided(provider).get(name)
        return spec

    def all_fields(self) -> dict[str, FieldSpec]:
        """Every field, the providers' last (what the builder offers)."""
        out = dict(self.fields)
        for provider in PROVIDERS.values():
            out.update(self.provided(provider))
        return out

    def unavailable(self, name: Any) -> str | None:
        """Why `name`, a provider's field this schema lacks, cannot be used here; None for a
        name no provider knows."""
        provider = provider_of(name)
        if provider is None:
            return None
        if self.sql:
            return str(_("it is read one ticket at a time and cannot select lists of tickets."))
        return str(provider.unavailable)


def schema_for(org: Any, *, department: Any = None, sql: bool = False) -> Schema:
    """The organization's schema: built-in fields and the custom fields of `department`, or of
    every department when none is given (a key used by two departments keeps its first
    definition: keys name one thing per organization in practice). `sql`: for a condition
    that `to_q` will translate (no provider's fields)."""
    specs = {spec.name: spec for spec in builtin_fields()}
    specs.update({name: extension.spec(org) for name, extension in EXTENSIONS.items()})
    customs = CustomField.objects.for_org(org).filter(is_active=True).order_by("department", "pk")
    if department is not None:
        customs = customs.filter(department=department)
    for custom in customs:
        specs.setdefault(f"cf.{custom.key}", custom_field_spec(custom))
    return Schema(fields=specs, time_zone=org.time_zone or "UTC", org=org, sql=sql)
