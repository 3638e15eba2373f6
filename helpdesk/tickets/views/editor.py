"""The rich-text editor's image upload (TKT-02): an image pasted, dropped or picked in the
editor is stored at once as a pending attachment of the ticket, and its access-checked
address goes into the message. Sending the message gives the image to it."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.tenancy.models import App
from helpdesk.tenancy.permissions import require_app

from ..services.access import ticket_for_member
from ..services.threads import inline_image_add


@require_POST
@require_app(App.DESK)
def inline_image_upload(request: HttpRequest, number: int) -> JsonResponse:
    """POST one image as `file`: 201 with {"url", "name"}, or 400 with {"errors"}."""
    ticket = ticket_for_member(request.membership, number)
    upload = request.FILES.get("file")
    if upload is None:
        return JsonResponse({"errors": [_("No file was sent.")]}, status=400)
    try:
        attachment = inline_image_add(actor=request.membership, ticket=ticket, upload=upload)
    except ValidationError as exc:
        return JsonResponse({"errors": exc.messages}, status=400)
    url = reverse(
        "desk:attachment",
        kwargs={"portal": request.org.portal, "number": number, "attachment_id": attachment.pk},
    )
    return JsonResponse({"url": url, "name": attachment.name}, status=201)
