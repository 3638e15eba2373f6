"""Template filters of the reports (BP-26)."""

from django import template

from ..charts import duration_text

register = template.Library()


@register.filter
def duration(seconds: float | None) -> str:
    """A length in seconds as people read it ("3 h 05 min")."""
    return duration_text(seconds)
