"""`{% api_tokens_section %}`: the API tokens section that My profile includes (issue 16)."""

from __future__ import annotations

from django import template

from ..forms import ApiTokenForm
from ..selectors import tokens_for

register = template.Library()


@register.inclusion_tag("api/_tokens.html", takes_context=True)
def api_tokens_section(context) -> dict:
    request = context["request"]
    return {
        "request": request,
        "org": request.org,
        "csrf_token": context.get("csrf_token"),
        "api_tokens": tokens_for(request.membership),
        "token_form": ApiTokenForm(),
    }
