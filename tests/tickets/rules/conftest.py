"""Rules fixtures: helpers to make rules as an admin would (through the services)."""

from __future__ import annotations

import pytest

from helpdesk.tickets.rules.models import RoundRobin, WorkflowRule


@pytest.fixture
def make_rule(desk):
    def make(model=WorkflowRule, **fields):
        fields.setdefault("name", f"{model.__name__} {model.objects.count() + 1}")
        fields.setdefault("order", model.objects.count())
        return model.objects.create(org=desk.org, **fields)

    return make


@pytest.fixture
def round_robin_on(desk):
    def on(department):
        RoundRobin.objects.update_or_create(
            org=desk.org, department=department, team=None, defaults={"is_enabled": True}
        )

    return on
