"""What blueprints add to the condition language (`helpdesk.tickets.conditions`): the owner's
desk role, thread counts and the ticket's blueprint state. Registered at start-up through the
language's extension point; each field has a Python reading and an SQL reading that agree
(tests/tickets/rules/test_conditions_property.py draws them too)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from helpdesk.tenancy.models import DeskRole, Membership
from helpdesk.tickets.conditions import Extension, FieldSpec, T, register_field
from helpdesk.tickets.models import Thread, Ticket

from .models import TicketBlueprint


# --- The owner's desk role ----------------------------------------------------------------------
def _role_spec(org: Any) -> FieldSpec:
    return FieldSpec(
        "owner_role",
        str(_("Owner's role")),
        T.CHOICE,
        nullable=True,
        choices=tuple((k, str(v)) for k, v in DeskRole.choices),
    )


def _role_read(ticket: Ticket) -> str | None:
    if ticket.owner_id is None:
        return None
    role = (
        Membership.objects.for_org(ticket.org_id)
        .filter(user_id=ticket.owner_id)
        .values_list("desk_role", flat=True)
        .first()
    )
    return role or None


def _role_sql(org_id: int) -> Any:
    return Subquery(
        Membership.objects.filter(org_id=org_id, user_id=OuterRef("owner_id")).values("desk_role")[
            :1
        ]
    )


# --- Thread counts ------------------------------------------------------------------------------
def _count_spec(name: str, label: Any) -> Any:
    return lambda org: FieldSpec(name, str(label), T.NUMBER)


def _threads(ticket_id: Any, org_id: int, kinds: tuple[str, ...] | None) -> Any:
    qs = Thread.objects.filter(org_id=org_id, ticket_id=ticket_id)
    return qs.filter(kind__in=kinds) if kinds else qs


def _count_read(kinds: tuple[str, ...] | None) -> Any:
    def read(ticket: Ticket) -> float:
        return float(_threads(ticket.pk, ticket.org_id, kinds).count())

    return read


def _count_sql(kinds: tuple[str, ...] | None) -> Any:
    def expression(org_id: int) -> Any:
        counted = (
            _threads(OuterRef("pk"), org_id, kinds)
            .order_by()
            .values("ticket_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))

    return expression


# --- The ticket's blueprint state ---------------------------------------------------------------
def _state_spec(org: Any) -> FieldSpec:
    # Like `status`, a reference without listed choices (the builder reads the rows itself).
    return FieldSpec("blueprint_state", str(_("Blueprint state")), T.REFERENCE, nullable=True)


def _state_read(ticket: Ticket) -> int | None:
    return (
        TicketBlueprint.objects.for_org(ticket.org_id)
        .filter(ticket_id=ticket.pk)
        .values_list("state_id", flat=True)
        .first()
    )


def _state_sql(org_id: int) -> Any:
    return Subquery(
        TicketBlueprint.objects.filter(org_id=org_id, ticket_id=OuterRef("pk")).values("state_id")[
            :1
        ],
        output_field=IntegerField(),
    )


def register() -> None:
    register_field("owner_role", Extension(_role_spec, _role_read, _role_sql))
    register_field(
        "thread_count",
        Extension(_count_spec("thread_count", _("Threads")), _count_read(None), _count_sql(None)),
    )
    incoming = (Thread.Kind.INCOMING.value,)
    register_field(
        "incoming_count",
        Extension(
            _count_spec("incoming_count", _("Customer messages")),
            _count_read(incoming),
            _count_sql(incoming),
        ),
    )
    register_field(
        "blueprint_state",
        Extension(_state_spec, _state_read, _state_sql, reference="blueprints.State"),
    )
