"""ORG-01: views, forms and tasks never read tenant data without the organization.

A small lint: `<TenantModel>.objects.get/filter/all/exclude(` in those modules must go through
`for_org(`; STYLE.md "Tenancy in the code"."""

from __future__ import annotations

import re
from pathlib import Path

from django.apps import apps

from helpdesk.tenancy.models import TenantModel

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ("views", "forms", "tasks", "selectors")


def _tenant_model_names() -> set[str]:
    return {m.__name__ for m in apps.get_models() if issubclass(m, TenantModel)}


def _scanned_files() -> list[Path]:
    files = []
    for path in (ROOT / "helpdesk").rglob("*.py"):
        parts = set(path.relative_to(ROOT).with_suffix("").parts)
        if parts & set(SCANNED):
            files.append(path)
    for app in ("blueprints", "customers", "sla", "reports", "crmsync", "chat"):
        for path in (ROOT / app).rglob("*.py") if (ROOT / app).exists() else ():
            if set(path.relative_to(ROOT).with_suffix("").parts) & set(SCANNED):
                files.append(path)
    return files


ALLOWED = {"for_org", "none"}
# A query across organizations on purpose (a person's own memberships) says so on its line.
MARKER = "# tenancy: across orgs"


def unscoped_queries(source: str, names: set[str]) -> list[str]:
    pattern = re.compile(r"\b(" + "|".join(sorted(names)) + r")\.objects\.(\w+)\(")
    found = []
    for line in source.splitlines():
        if MARKER in line:
            continue
        found += [m.group(0) for m in pattern.finditer(line) if m.group(2) not in ALLOWED]
    return found


def test_org01_views_forms_tasks_scope_every_tenant_query():
    names = _tenant_model_names()
    offenders = {
        str(path.relative_to(ROOT)): found
        for path in _scanned_files()
        if (found := unscoped_queries(path.read_text(), names))
    }
    assert offenders == {}


def test_org01_lint_catches_an_unscoped_query():
    names = {"Department", "Team"}
    assert unscoped_queries("Department.objects.get(pk=1)", names) == ["Department.objects.get("]
    assert unscoped_queries("Team.objects.for_org(org).get(pk=1)", names) == []
    assert unscoped_queries(f"Team.objects.filter(user=u)  {MARKER}: mine", names) == []
