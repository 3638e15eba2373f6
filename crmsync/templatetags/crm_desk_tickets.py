"""`{% crm_new_ticket record kind %}`: the "New ticket" button of a CRM account, contact or
deal page (CRM-10), shown only to users whose desk account may create tickets."""

from __future__ import annotations

from django import template
from django.urls import reverse

from .. import per_request
from ..services.desk_actions import can_create

register = template.Library()


@register.inclusion_tag("crm/ticket_new_button.html", takes_context=True)
def crm_new_ticket(context, record, kind: str) -> dict:
    request = context["request"]
    url = ""
    if can_create(per_request.desk(request)):
        url = reverse("crm:ticket_create", kwargs={"portal": request.org.portal})
        url = f"{url}?{kind}={record.pk}"
    return {"url": url}
