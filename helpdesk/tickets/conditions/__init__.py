"""The condition language (TKT-09, later BP-01/BP-07/BP-08): one small, typed JSON language for
rule criteria, blueprint criteria and validations.

    {"all": [{"field": "priority", "op": "in", "value": ["high", "urgent"]},
             {"any": [{"field": "cf.plan", "op": "is", "value": "gold"},
                      {"field": "created_at", "op": "within_last",
                       "value": {"amount": 2, "unit": "hours"}}]}]}

The API is four functions:
- `schema_for(org, department=None, sql=False)`: the fields a condition may name (built-in
  ticket fields, the custom fields, `cf.<key>`, and, unless for SQL, the fields providers give
  the organization, such as the CRM's `crm.<name>`), each with its type and operators;
- `parse(data, schema=..., org=...)`: the parsed `Condition`, or `ConditionError` whose
  messages say what is wrong (unknown field, operator not valid for the type, bad value);
- `matches(condition, ticket, now=...)`: the Python evaluator, for one ticket;
- `to_q(condition, org=..., now=...)`: the translator to a Django `Q` on `Ticket`.
`matches` and `to_q` agree on every ticket (a property-based test checks it); their shared
rules are in `run.py`'s docstring. `to_json` gives the normalised JSON to store."""

from .parse import Condition, ConditionError, parse, to_json
from .run import matches, to_q
from .schema import (
    OPERATOR_LABELS,
    Extension,
    FieldProvider,
    FieldSpec,
    Schema,
    T,
    register_field,
    register_provider,
    schema_for,
    unregister_provider,
)

__all__ = [
    "OPERATOR_LABELS",
    "Condition",
    "ConditionError",
    "Extension",
    "FieldProvider",
    "FieldSpec",
    "Schema",
    "T",
    "matches",
    "parse",
    "register_field",
    "register_provider",
    "schema_for",
    "to_json",
    "to_q",
    "unregister_provider",
]
