"""Two agents complete the same transition at the same moment on PostgreSQL (separate
connections, real commits): exactly one wins; the other is told what happened and nothing of
theirs is written (ARCHITECTURE.md, Blueprints)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.utils import translation

from blueprints import engine
from blueprints.models import LogKind, TicketBlueprint, TransitionLog
from helpdesk.tickets.models import Ticket, TicketHistory


@pytest.mark.django_db(transaction=True)
def test_bp_two_agents_complete_the_same_transition_exactly_one_wins(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Awaiting approval", "Approved"))
    submit = make.transition(blueprint, "Submit", states["Awaiting approval"], [states["Open"]])
    ticket = desk.ticket()
    seen_state = TicketBlueprint.objects.get(ticket=ticket).state_id
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def run(who, member):
        translation.activate("en")
        try:
            mine = Ticket.objects.get(pk=ticket.pk)
            barrier.wait(timeout=10)
            engine.complete_transition(
                ticket=mine, transition=submit, membership=member, expected_state=seen_state
            )
            results[who] = "won"
        except Exception as exc:  # noqa: BLE001 - the loser's error is the point
            results[who] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("bob", desk.agent)),
        threading.Thread(target=run, args=("admin", desk.admin)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(v == "won" for v in results.values()) == [False, True], results
    loser = next(v for v in results.values() if v != "won")
    assert isinstance(loser, engine.TransitionConflict)
    assert "Someone else has just moved this ticket" in loser.messages[0]
    # One move, one log entry, one history row of the transition.
    ticket.refresh_from_db()
    assert ticket.status.name == "Awaiting approval"
    assert TransitionLog.objects.filter(ticket=ticket, kind=LogKind.TRANSITION).count() == 1
    assert (
        TicketHistory.objects.filter(ticket=ticket, action="blueprint_transition")
        .filter(changes__has_key="transition")
        .count()
        == 1
    )
