"""One guard for services that receive objects (ORG-01).

A service works in one organization. Every model instance it is handed (a ticket, a contact,
a department, a status, a membership ...) must belong to that organization; a form or a view
that let another organization's object through is a bug, and the service refuses it rather
than writing a row that points across tenants.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

if TYPE_CHECKING:
    from helpdesk.tenancy.models import Organization, TenantModel


class OtherOrganizationError(PermissionDenied):
    """An object of another organization was handed to a service (a 403 if it reaches a view)."""


def ensure_same_org(org: Organization, *objects: TenantModel | None) -> None:
    """Refuse unless every given object belongs to `org`; `None` (an optional argument) passes.

    Compares the foreign key's id, so it costs no query.
    """
    for obj in objects:
        if obj is None:
            continue
        if obj.org_id != org.pk:
            raise OtherOrganizationError(
                f"{type(obj).__name__} {obj.pk} belongs to organization {obj.org_id}, not {org.pk}."
            )
