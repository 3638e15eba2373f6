"""System check: tenant-owned tables keep `org` in every unique constraint and at the head of
every index, so they stay ready to be distributed by org_id (ARCHITECTURE.md)."""

from __future__ import annotations

from django.apps import apps
from django.contrib.postgres.indexes import GinIndex, GistIndex
from django.core import checks
from django.db import models


def _fields_of(constraint_or_index) -> list[str]:
    fields = list(getattr(constraint_or_index, "fields", ()) or ())
    if fields:
        return [f.lstrip("-") for f in fields]
    names = []
    for expression in getattr(constraint_or_index, "expressions", ()) or ():
        # F("org"), "org" or Lower("name"): keep the names of plain column references.
        if isinstance(expression, str):
            names.append(expression)
        elif isinstance(expression, models.F):
            names.append(expression.name)
        else:
            names.append(repr(expression))
    return names


def _is_org(name: str) -> bool:
    return name in ("org", "org_id")


def tenant_model_errors(model: type[models.Model]) -> list[checks.Error]:
    label = model._meta.label
    errors: list[checks.Error] = []
    for field in model._meta.local_fields:
        if field.primary_key:
            continue
        if field.unique:
            errors.append(
                checks.Error(
                    f"{label}.{field.name} is unique on its own; tenant tables must make it "
                    "unique together with org.",
                    obj=model,
                    id="tenancy.E001",
                )
            )
        elif field.db_index and not field.is_relation:
            errors.append(
                checks.Error(
                    f"{label}.{field.name} has a single-column index; lead it with org in "
                    "Meta.indexes.",
                    obj=model,
                    id="tenancy.E002",
                )
            )
    for fields in model._meta.unique_together:
        if not any(_is_org(f) for f in fields):
            errors.append(
                checks.Error(
                    f"{label}: unique_together {fields} lacks org.", obj=model, id="tenancy.E001"
                )
            )
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and not any(
            _is_org(f) for f in _fields_of(constraint)
        ):
            errors.append(
                checks.Error(
                    f"{label}: unique constraint {constraint.name} lacks org.",
                    obj=model,
                    id="tenancy.E001",
                )
            )
    for index in model._meta.indexes:
        if isinstance(index, GinIndex | GistIndex):
            # Inverted/spatial indexes are not ordered and cannot lead with org without
            # btree_gin; queries using them still filter by org.
            continue
        fields = _fields_of(index)
        if not fields or not _is_org(fields[0]):
            errors.append(
                checks.Error(
                    f"{label}: index {index.name} does not lead with org.",
                    obj=model,
                    id="tenancy.E003",
                )
            )
    return errors


@checks.register(checks.Tags.models)
def check_tenant_models(app_configs=None, **kwargs) -> list[checks.Error]:
    from helpdesk.tenancy.models import TenantModel

    errors: list[checks.Error] = []
    if app_configs is None:
        candidates = apps.get_models()
    else:  # `check <app>`, or the apps a test hands over
        candidates = [m for config in app_configs for m in config.get_models()]
    for model in candidates:
        if issubclass(model, TenantModel) and not model._meta.abstract:
            errors.extend(tenant_model_errors(model))
            errors.extend(tenant_reference_errors(model))
    return errors


@checks.register(checks.Tags.database)
def check_row_level_security(app_configs=None, databases=None, **kwargs) -> list[checks.Error]:
    """tenancy.E004: a tenant table in the database without row-level security or its policy.

    Skipped while migrations are pending: `migrate` writes the policies after it runs (and
    runs this check first, which must not stop it from doing so)."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from . import rls

    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    if _migrations_pending(connections[DEFAULT_DB_ALIAS]):
        return []
    return [
        checks.Error(
            f"Tenant table {table} has no row-level-security policy.",
            hint="Run `manage.py migrate` as the tables' owner: it writes the policies.",
            id="tenancy.E004",
        )
        for table in rls.tables_without_policy(using=DEFAULT_DB_ALIAS)
    ]


def _migrations_pending(connection) -> bool:
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    return bool(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def tenant_reference_errors(model: type[models.Model]) -> list[checks.Error]:
    """tenancy.E006: a reference between two tenant models must be a TenantForeignKey, whose
    database key carries org_id (fields.py, keys.py); a plain ForeignKey would reference `id`
    alone."""
    from .fields import TenantForeignKey
    from .models import TenantModel

    return [
        checks.Error(
            f"{model._meta.label}.{field.name} references the tenant model "
            f"{field.related_model._meta.label} with a plain ForeignKey.",
            hint="Use helpdesk.tenancy.fields.TenantForeignKey.",
            obj=model,
            id="tenancy.E006",
        )
        for field in model._meta.local_fields
        if field.is_relation
        and isinstance(field.related_model, type)
        and issubclass(field.related_model, TenantModel)
        and not isinstance(field, TenantForeignKey)
    ]


@checks.register(checks.Tags.database)
def check_composite_keys(app_configs=None, databases=None, **kwargs) -> list[checks.Error]:
    """tenancy.E005: the live catalog. A tenant table's primary key, unique constraints and
    foreign keys to other tenant tables must all carry org_id (Citus distributes by it, and
    the keys keep rows from pointing into another organization). Skipped while migrations
    are pending, for the same reason as E004."""
    from django.db import DEFAULT_DB_ALIAS, connections

    from . import keys

    if not databases or DEFAULT_DB_ALIAS not in databases:
        return []
    if _migrations_pending(connections[DEFAULT_DB_ALIAS]):
        return []
    return [
        checks.Error(
            problem, hint="Run `manage.py migrate`: it writes the keys.", id="tenancy.E005"
        )
        for problem in keys.problems(using=DEFAULT_DB_ALIAS)
    ]
