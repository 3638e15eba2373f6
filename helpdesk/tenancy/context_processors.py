from __future__ import annotations

from django.http import HttpRequest

from .permissions import nav_items


def tenant(request: HttpRequest) -> dict:
    org = getattr(request, "org", None)
    membership = getattr(request, "membership", None)
    return {
        "org": org,
        "membership": membership,
        "nav_items": nav_items(membership) if membership else [],
    }
