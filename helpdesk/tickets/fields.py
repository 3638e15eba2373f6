"""Custom ticket field values (DEP-02, ARCHITECTURE.md "Tickets and rules"): the functions
live in the shared `helpdesk.customvalues` (customers' contact and account fields use the same
machinery, CUS-01) and are re-exported here, where tickets, blueprints and rules import them."""

from __future__ import annotations

from helpdesk.customvalues import (  # noqa: F401
    MAX_TEXT,
    MAX_TEXTAREA,
    FieldType,
    _empty,
    _parse,
    clean_value,
    display_value,
    form_field,
    validate_custom_values,
)
