"""Blueprint fixtures: Acme on the Enterprise plan, the desk of tests/tickets (Bob agent, Rita
restricted, Ada of Billing), and `make`: builds blueprints through the services as an admin."""

from __future__ import annotations

import pytest

from blueprints import services as bp
from blueprints.models import AutoTrigger, BlueprintStatus
from helpdesk.tickets.models import StatusKind, TicketStatus
from tests.tickets.conftest import Desk, desk  # noqa: F401  (the fixture)

__all__ = ["Desk", "desk"]


@pytest.fixture
def enterprise(desk):
    desk.org.plan = "enterprise"
    desk.org.save(update_fields=["plan"])
    for m in (desk.admin, desk.agent, desk.restricted, desk.other_agent):
        m.org = desk.org
    return desk


class Maker:
    def __init__(self, desk) -> None:
        self.desk = desk

    def status(self, name, kind=StatusKind.OPEN, department=None):
        department = department or self.desk.department
        found = TicketStatus.objects.for_org(self.desk.org).filter(department=department, name=name)
        if found.exists():
            return found.get()
        return TicketStatus.objects.create(
            org=self.desk.org, department=department, name=name, kind=kind, order=10
        )

    def blueprint(self, name="Approval", statuses=("Open",), status="active", **fields):
        data = bp.BlueprintInput(name=name, department=self.desk.department, **fields)
        blueprint = bp.blueprint_save(actor=self.desk.admin, data=data, status="draft")
        states = {}
        for s in statuses:
            states[s] = bp.state_add(
                actor=self.desk.admin, blueprint=blueprint, status=self.status(s)
            )
        if status == BlueprintStatus.ACTIVE:
            bp.blueprint_set_status(actor=self.desk.admin, blueprint=blueprint, status="active")
        blueprint.refresh_from_db()
        return blueprint, states

    def transition(self, blueprint, name, to, froms=(), **fields):
        data = bp.TransitionInput(name=name, to_state=to, from_states=list(froms), **fields)
        return bp.transition_save(actor=self.desk.admin, blueprint=blueprint, data=data)

    def reply_blueprint(self, **transition_fields):
        """An active blueprint whose "Reply received" transition moves a ticket from "Open" to
        "Customer replied" when the customer's reply arrives (BP-05)."""
        blueprint, states = self.blueprint(statuses=("Open", "Customer replied"))
        self.transition(
            blueprint,
            "Reply received",
            states["Customer replied"],
            [states["Open"]],
            auto_trigger=AutoTrigger.CUSTOMER_REPLY,
            **transition_fields,
        )
        return blueprint, states


@pytest.fixture
def make(enterprise):
    return Maker(enterprise)
