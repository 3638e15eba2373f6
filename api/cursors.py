"""Opaque cursors for keyset pagination (issue 16, item 1).

A cursor holds the sort and the sort key of the last row of a page; the next page is the rows
after it in the same order ("seek" on the order's index, as the list page's indexes are built:
every order ends with the id). Unlike offsets, a row created or deleted while a client pages
neither repeats a row nor skips one, and a deep page costs what the first one does."""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Model, Q
from django.utils.translation import gettext as _


def encode(sort: str, values: Sequence[Any]) -> str:
    data = {"s": sort, "v": [v.isoformat() if isinstance(v, dt.datetime) else v for v in values]}
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, sort: str, model: type[Model], order: Sequence[str]) -> list[Any]:
    """The sort key a cursor holds, typed for `order`'s fields; a 422 for anything else
    (garbage, another sort's cursor)."""
    invalid = ValidationError({"cursor": [_("This cursor is not valid for this list.")]})
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("s") != sort:
            raise invalid
        values = data["v"]
        if not isinstance(values, list) or len(values) != len(order):
            raise invalid
        typed: list[Any] = []
        for term, value in zip(order, values, strict=True):
            field: Any = model._meta.get_field(term.lstrip("-"))
            if value is None:
                if not field.null:
                    raise invalid
                typed.append(None)
            elif field.get_internal_type() == "DateTimeField":
                parsed = dt.datetime.fromisoformat(value)
                if parsed.tzinfo is None:
                    raise invalid
                typed.append(parsed)
            else:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise invalid
                typed.append(value)
        return typed
    except (ValueError, TypeError, KeyError, UnicodeDecodeError) as exc:
        raise invalid from exc


def after(model: type[Model], order: Sequence[str], values: Sequence[Any]) -> Q:
    """Rows after `values` in `order` (PostgreSQL's: NULLs last ascending, first descending):
    (a > x) or (a = x and b > y) or ..., with NULL-aware comparisons."""
    result = Q(pk__in=[])  # nothing
    same = Q()
    for term, value in zip(order, values, strict=True):
        desc = term.startswith("-")
        name = term.lstrip("-")
        field: Any = model._meta.get_field(name)
        nullable = field.null
        if value is None:
            later = Q(**{f"{name}__isnull": False}) if desc else Q(pk__in=[])
            equal = Q(**{f"{name}__isnull": True})
        else:
            later = Q(**{f"{name}__{'lt' if desc else 'gt'}": value})
            if nullable and not desc:
                later |= Q(**{f"{name}__isnull": True})
            equal = Q(**{name: value})
        result |= same & later
        same &= equal
    return result
