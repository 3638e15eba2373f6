"""Conditions the ORM lacks, as expressions for `filter()`; it imports no app.

`any_of(field, values)` is `field = ANY(%s)` with the values as one array parameter, where
Django's `field__in=values` binds one parameter per value: for a batch of 500 ids, adapting
each value was a sixth of the SLA sweep's Python, and a statement of 500 placeholders is too
long for psycopg's cache of converted queries, so it was split again on every run. With one
array the statement's text is the same for any number of values: converted once, and
prepared by PostgreSQL like any other repeated statement."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import F, Lookup, Value


class Infix(Lookup):
    """A condition written as `template` over the lookup's two sides (not registered on any
    field: used as an expression)."""

    prepare_rhs = False
    template = ""

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return self.template.format(lhs=lhs, rhs=rhs), (*lhs_params, *rhs_params)


class AnyOf(Infix):
    """rhs an array (a parameter, or `ARRAY(SELECT ...)`, computed once)."""

    lookup_name = "any_of"
    template = "{lhs} = ANY({rhs})"


def any_of(field: str, values: Iterable[Any]) -> AnyOf:
    """`field = ANY(%s)`, the values as one array parameter (a condition for `filter`). Ids go
    as `bigint[]`, the type of our id columns: psycopg would send small ones as `integer[]`,
    and `bigint = ANY(integer[])` cannot be hashed, so where it filters rather than leads an
    index each row searched the whole array (half a second for 5,000 ids over 20,000 links)."""
    values = list(values)
    lookup = AnyOf(F(field), Value(values))
    if values and all(type(v) is int for v in values):
        lookup.template = "{lhs} = ANY({rhs}::bigint[])"
    return lookup
