"""Contacts, accounts and products pages (CUS-01). Work in progress."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from .models import Contact


@require_app(App.DESK)
def contact_list(request: HttpRequest) -> HttpResponse:
    contacts = Contact.objects.for_org(request.org).select_related("account")[:50]
    return render(request, "apps/app_home.html", {"title": "Contacts", "colleagues": [],
                                                  "contacts": contacts})
