"""`{% after_action_failures ticket as failures %}`: the ticket's failed after-actions (BP-11),
for templates/blueprints/_action_failures.html (one query)."""

from __future__ import annotations

from django import template

from ..actions.services import after_action_failures

register = template.Library()


@register.simple_tag
def after_action_failures_for(ticket):
    return after_action_failures(ticket) if ticket is not None else []
