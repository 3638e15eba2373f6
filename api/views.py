"""Pages around the API: the token section of My profile, the reference (Swagger UI,
vendored) and its OpenAPI schema (issue 16, items 2 and 5). These are pages for the signed-in
member (session), not API operations."""

from __future__ import annotations

import datetime as dt

from csp.decorators import csp_update
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from helpdesk.http import apply_errors

from .base import api
from .forms import ApiTokenForm
from .models import Scope
from .selectors import tokens_for
from .services import token_create, token_revoke


def _tokens_page(
    request: HttpRequest, form: ApiTokenForm, new_token: str = "", status: int = 200
) -> HttpResponse:
    return render(
        request,
        "api/tokens.html",
        {"token_form": form, "api_tokens": tokens_for(request.membership), "new_token": new_token},
        status=status,
    )


def tokens(request: HttpRequest) -> HttpResponse:
    """The member's API tokens; POST creates one and shows it once (this answer only: it is
    not stored, and the page is not cached)."""
    form = ApiTokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        days = data["expires"]
        expires_at = timezone.now() + dt.timedelta(days=int(days)) if days else None
        scopes = [Scope.READ, Scope.WRITE] if data["scope"] == Scope.WRITE else [Scope.READ]
        try:
            issued = token_create(
                actor=request.membership, name=data["name"], scopes=scopes, expires_at=expires_at
            )
        except ValidationError as exc:
            apply_errors(form, exc)
        else:
            messages.success(request, _("Token created. Copy it now: it is not shown again."))
            response = _tokens_page(request, ApiTokenForm(), new_token=issued.raw)
            response["Cache-Control"] = "no-store"
            return response
    return _tokens_page(request, form, status=400 if form.errors else 200)


@require_POST
def token_revoke_view(request: HttpRequest, api_token_id: int) -> HttpResponse:
    token = tokens_for(request.membership).filter(pk=api_token_id).first()
    if token is None:
        raise Http404
    token_revoke(actor=request.membership, token=token)
    messages.success(request, _("Token “%(name)s” revoked.") % {"name": token.name})
    return redirect(reverse("profile", kwargs={"portal": request.org.portal}) + "#api-tokens")


@require_GET
def openapi_json(request: HttpRequest) -> JsonResponse:
    """The OpenAPI schema, with this portal's paths."""
    schema = api.get_openapi_schema(path_prefix=f"/{request.org.portal}/api/v1/")
    return JsonResponse(schema, json_dumps_params={"ensure_ascii": False})


@require_GET
@csp_update({"img-src": ["data:"]})  # Swagger UI's icons are data: images in its CSS
def docs(request: HttpRequest) -> HttpResponse:
    """The browsable reference (Swagger UI from static/vendor, no CDN)."""
    return render(request, "api/docs.html")
