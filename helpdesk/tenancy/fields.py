"""Reference fields of tenant models (ORG-01). The keys they declare are written into the
database by keys.py; this module imports no model, so models.py can import it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import models
from django.db.models.lookups import Exact
from django.db.models.sql.where import WhereNode

if TYPE_CHECKING:
    # To the type checker (django-stubs) they are ForeignKeys: the related model's type flows
    # through `ticket.contact`, `ticket.contact_id` and so on.
    TenantForeignKey = models.ForeignKey
    MemberForeignKey = models.ForeignKey


class TenantForeignKey(models.ForeignKey):  # type: ignore[no-redef]
    """A reference from a tenant model to another tenant model: the database key is
    `(org_id, <column>) -> (org_id, id)`, written by `keys.sync()`, not by Django."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs["db_constraint"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("db_constraint", None)
        return name, path, args, kwargs

    def get_extra_restriction(self, alias, related_alias):
        """Every join through this reference also matches `org_id`: the join follows the
        composite key, and on Citus it stays on one shard (a co-located join)."""
        if alias is None or related_alias is None:
            return None  # subquery pushdown: the outer query keeps its own org filter
        target: Any = self.remote_field.model._meta.get_field("org")
        source: Any = self.model._meta.get_field("org")
        condition: Any = Exact(target.get_col(alias), source.get_col(related_alias))
        return WhereNode([condition])


class MemberForeignKey(models.ForeignKey):  # type: ignore[no-redef]
    """A user's place in the row's organization: besides the single-column key to the (global)
    user, the database key `(org_id, <column>) -> tenancy_membership (org_id, user_id)`."""
