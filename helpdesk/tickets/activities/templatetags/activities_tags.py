"""`{{ minutes|hours_minutes }}` (90 -> "1:30") and `{{ seconds|clock }}` (3723 -> "1:02:03")."""

from __future__ import annotations

from django import template

from ..services import format_minutes

register = template.Library()


@register.filter
def hours_minutes(minutes: int | None) -> str:
    return format_minutes(minutes)


@register.filter
def clock(seconds: int | None) -> str:
    seconds = max(0, int(seconds or 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
