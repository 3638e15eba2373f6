"""Configuring blueprints (BP-01..BP-12, BP-16..BP-21, BP-24): save with validation, states,
transitions with their before / during / after parts, status changes, order, deletion.

Blueprints are Desk settings: only Desk admins change them (ORG-04), on a plan that has them
(ORG-07). Every object handed in must be the actor's organization's. Each save validates
everything first and writes in one transaction, so bad input leaves nothing half-saved; the
errors are a ValidationError keyed by form field, in words an admin can act on. Limits (BP-20)
come from the plan (`Organization.limit`). Every change renews the organization's definition
version (`engine.definitions.bump`) in its transaction, so the engine's cached definitions are
read again.

Modules: `blueprints` (a blueprint's information and lifecycle: draft, active, inactive,
delete, order), `states`, `transitions` (with their before, during and after parts) and
`common` (the admin check, criteria parsing). Callers import from this package."""

from .blueprints import (
    BlueprintInput,
    blueprint_delete,
    blueprint_save,
    blueprint_set_status,
    blueprints_reorder,
)
from .common import criteria_parse, ensure_admin
from .states import state_add, state_delete, state_move
from .transitions import (
    MAX_CONNECTIONS,
    TICKET_FIELDS,
    FieldInput,
    OwnerInput,
    TransitionInput,
    transition_delete,
    transition_save,
)

__all__ = [
    "MAX_CONNECTIONS",
    "TICKET_FIELDS",
    "BlueprintInput",
    "FieldInput",
    "OwnerInput",
    "TransitionInput",
    "blueprint_delete",
    "blueprint_save",
    "blueprint_set_status",
    "blueprints_reorder",
    "criteria_parse",
    "ensure_admin",
    "state_add",
    "state_delete",
    "state_move",
    "transition_delete",
    "transition_save",
]
