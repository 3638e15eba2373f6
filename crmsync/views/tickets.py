"""Desk tickets from the CRM (CRM-10, CRM-11). Work in progress."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

gate = require_app(App.CRM)


@gate
def ticket_detail(request: HttpRequest, number: int) -> HttpResponse:
    raise Http404


@gate
def ticket_create(request: HttpRequest) -> HttpResponse:
    raise Http404


@gate
def ticket_reply(request: HttpRequest, number: int) -> HttpResponse:
    raise Http404


@gate
def ticket_forward(request: HttpRequest, number: int) -> HttpResponse:
    raise Http404


@gate
def ticket_comment(request: HttpRequest, number: int) -> HttpResponse:
    raise Http404


@gate
def ticket_update(request: HttpRequest, number: int) -> HttpResponse:
    raise Http404


@gate
def ticket_close(request: HttpRequest, number: int) -> HttpResponse:
    raise Http404


@gate
def ticket_delete(request: HttpRequest, number: int) -> HttpResponse:
    raise Http404


@gate
def ticket_attachment(request: HttpRequest, number: int, attachment_id: int) -> HttpResponse:
    raise Http404
