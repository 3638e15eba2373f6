"""Reads of a contact's or an account's notes and files (CUS-11): each page is a fixed number
of queries whatever the number of rows."""

from __future__ import annotations

from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet

from customers.models import Account, Contact
from helpdesk.tenancy.guards import ensure_same_org
from helpdesk.tenancy.models import Organization

from .models import CustomerFile, CustomerNote

PAGE_SIZE = 20


def _of(qs: QuerySet, contact: Contact | None, account: Account | None) -> QuerySet:
    return qs.filter(contact=contact) if contact is not None else qs.filter(account=account)


def notes_page(
    org: Organization,
    *,
    contact: Contact | None = None,
    account: Account | None = None,
    page: str | int = 1,
) -> Page:
    """Newest first, each with its author and files: three queries (count, notes, files)."""
    ensure_same_org(org, contact, account)
    files = CustomerFile.objects.for_org(org).select_related("uploaded_by").order_by("pk")
    qs = (
        _of(CustomerNote.objects.for_org(org), contact, account)
        .select_related("author")
        .prefetch_related(Prefetch("files", queryset=files))
        .order_by("-created_at", "-pk")
    )
    return Paginator(qs, PAGE_SIZE).get_page(page)


def files_page(
    org: Organization,
    *,
    contact: Contact | None = None,
    account: Account | None = None,
    page: str | int = 1,
) -> Page:
    """Every file of the record (on a note or alone), newest first: two queries."""
    ensure_same_org(org, contact, account)
    qs = (
        _of(CustomerFile.objects.for_org(org), contact, account)
        .select_related("uploaded_by")
        .order_by("-created_at", "-pk")
    )
    return Paginator(qs, PAGE_SIZE).get_page(page)
