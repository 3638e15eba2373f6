"""What every tab of the contact and account pages starts with: the guarded record, and the
two addresses of a tab (its fragment, and the record page with the tab open)."""

from __future__ import annotations

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse

from .. import services
from ..models import Account, Contact


def tab_record(
    request: HttpRequest, kind: str, record_id: int, *, permission: str = "view"
) -> Contact | Account:
    """The contact or account (`kind`) of this organization, after the member's Desk
    permission for the tab (403 without it; 404 for a record that is not the organization's)."""
    services.ensure_can(request.membership, permission)
    if kind == "contact":
        return get_object_or_404(
            Contact.objects.for_org(request.org).select_related("account"), pk=record_id
        )
    return get_object_or_404(Account.objects.for_org(request.org), pk=record_id)


def tab_urls(
    request: HttpRequest, kind: str, record: Contact | Account, tab: str
) -> dict[str, str]:
    """{"tab": the tab's fragment URL, "page": the record page's URL}."""
    kwargs = {"portal": request.org.portal, f"{kind}_id": record.pk}
    return {
        "tab": reverse(f"customers:{kind}_{tab}", kwargs=kwargs),
        "page": reverse(f"customers:{kind}_detail", kwargs=kwargs),
    }
