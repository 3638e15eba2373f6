"""BP-05: a transition with the rating auto-trigger runs when the ticket's contact rates it
through the help center (the closing mail's signed link, the same view a customer uses), and
only then: not when a re-submission changes nothing, not when only the comment changes, and
not for a ticket whose blueprint state is not the transition's from-state."""

from __future__ import annotations

import pytest

from blueprints import engine
from blueprints.models import AutoTrigger, LogKind, TicketBlueprint, TransitionLog
from helpdesk.tickets.helpcenter.mails import rating_token
from helpdesk.tickets.helpcenter.models import Rating
from helpdesk.tickets.models import StatusKind, TicketHistory
from helpdesk.tickets.services.tickets import TicketInput, ticket_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def no_after_actions(monkeypatch):
    """The after-actions are the Celery side (test_actions covers them); keep them out."""
    scheduled: list = []
    monkeypatch.setattr("blueprints.actions.schedule_after_actions", scheduled.append)
    return scheduled


@pytest.fixture
def review(make, no_after_actions):
    """Open -> Closed by hand ("Close"), Closed -> Reviewed when the customer rates ("Rating
    received"), and back from Reviewed to Closed by hand ("Reopen review")."""
    make.status("Reviewed", kind=StatusKind.CLOSED)
    blueprint, states = make.blueprint(name="Review", statuses=("Open", "Closed", "Reviewed"))
    make.transition(blueprint, "Close", states["Closed"], [states["Open"]])
    make.transition(
        blueprint,
        "Rating received",
        states["Reviewed"],
        [states["Closed"]],
        auto_trigger=AutoTrigger.RATING,
    )
    make.transition(blueprint, "Reopen review", states["Closed"], [states["Reviewed"]])
    return blueprint, states


def _take(blueprint, ticket, name, member, capture):
    with capture(execute=True):
        engine.complete_transition(
            ticket=ticket, transition=blueprint.transitions.get(name=name), membership=member
        )
    ticket.refresh_from_db()


def _rate(client, capture, ticket, contact, value, comment=""):
    """The contact submits the closing mail's rating form, as a request would (after-commit
    callbacks run at the end)."""
    path = f"/{ticket.org.portal}/help/rate/{rating_token(ticket, contact)}/"
    with capture(execute=True):
        response = client.post(path, {"value": value, "comment": comment})
    assert response.status_code == 200, response.content[:2000]
    assert b"Thank you for your rating" in response.content
    ticket.refresh_from_db()
    return response


def _autos(ticket):
    return list(
        TransitionLog.objects.filter(ticket=ticket, kind=LogKind.AUTO)
        .order_by("pk")
        .values_list("name", flat=True)
    )


def test_bp05_rating_through_the_help_center_moves_the_ticket(
    client, make, review, django_capture_on_commit_callbacks, no_after_actions
):
    desk = make.desk
    blueprint, _states = review
    ticket = desk.ticket()
    _take(blueprint, ticket, "Close", desk.agent, django_capture_on_commit_callbacks)
    assert ticket.status.name == "Closed"
    assert _autos(ticket) == []  # closing alone is no rating

    _rate(client, django_capture_on_commit_callbacks, ticket, desk.contact, "good", "Thanks!")

    # What the agent sees: the ticket moved on by itself, the blueprint is in its new state,
    # the history says so, and the rating is there.
    assert ticket.status.name == "Reviewed"
    assert TicketBlueprint.objects.get(ticket=ticket).state.status.name == "Reviewed"
    auto = TransitionLog.objects.get(ticket=ticket, kind=LogKind.AUTO)
    assert (auto.name, auto.actor_id) == ("Rating received", None)
    assert (auto.from_status.name, auto.to_status.name) == ("Closed", "Reviewed")
    history = [
        (r.action, r.actor_id, r.changes)
        for r in TicketHistory.objects.filter(ticket=ticket).order_by("pk")
    ]
    assert history[-2:] == [
        ("rated", None, {"rating": [None, "good"], "rating_comment": [None, "Thanks!"]}),
        ("rule", None, {"_rule": "Blueprint: Rating received", "status": ["Closed", "Reviewed"]}),
    ]
    assert Rating.objects.for_org(desk.org).get(ticket=ticket).value == "good"
    # Its after-actions are scheduled once, after the manual "Close" (BP-11).
    assert [e.kind for e in no_after_actions] == [LogKind.TRANSITION, LogKind.AUTO]
    assert no_after_actions[-1] == auto


def test_bp05_no_auto_transition_when_the_rating_does_not_change(
    client, make, review, django_capture_on_commit_callbacks
):
    desk = make.desk
    blueprint, _states = review
    capture = django_capture_on_commit_callbacks
    ticket = desk.ticket()
    _take(blueprint, ticket, "Close", desk.agent, capture)
    _rate(client, capture, ticket, desk.contact, "okay", "Fine")
    assert ticket.status.name == "Reviewed"
    # The agent takes the ticket back to Closed; the contact opens the link again.
    _take(blueprint, ticket, "Reopen review", desk.agent, capture)
    assert ticket.status.name == "Closed"

    _rate(client, capture, ticket, desk.contact, "okay", "Fine")  # the same again
    assert ticket.status.name == "Closed"
    _rate(client, capture, ticket, desk.contact, "okay", "Fine, in the end")  # only the comment
    assert ticket.status.name == "Closed"
    assert _autos(ticket) == ["Rating received"]
    assert Rating.objects.for_org(desk.org).get(ticket=ticket).comment == "Fine, in the end"

    # A changed rating is a new rating: the transition runs again.
    _rate(client, capture, ticket, desk.contact, "bad", "Fine, in the end")
    assert ticket.status.name == "Reviewed"
    assert _autos(ticket) == ["Rating received", "Rating received"]


def test_bp05_no_auto_transition_for_a_ticket_outside_the_from_state(
    client, make, no_after_actions, django_capture_on_commit_callbacks
):
    """The rating transition leaves "Awaiting rating" only; a ticket closed straight into
    "Closed" is rated and stays where it is. A ticket of another department (no blueprint) is
    rated without trouble."""
    desk = make.desk
    capture = django_capture_on_commit_callbacks
    make.status("Awaiting rating", kind=StatusKind.CLOSED)
    make.status("Reviewed", kind=StatusKind.CLOSED)
    blueprint, states = make.blueprint(
        name="Review", statuses=("Open", "Closed", "Awaiting rating", "Reviewed")
    )
    make.transition(blueprint, "Close", states["Closed"], [states["Open"]])
    make.transition(blueprint, "Ask for a rating", states["Awaiting rating"], [states["Open"]])
    make.transition(
        blueprint,
        "Rating received",
        states["Reviewed"],
        [states["Awaiting rating"]],
        auto_trigger=AutoTrigger.RATING,
    )
    ticket = desk.ticket()
    _take(blueprint, ticket, "Close", desk.agent, capture)
    _rate(client, capture, ticket, desk.contact, "good")
    assert ticket.status.name == "Closed"
    assert TicketBlueprint.objects.get(ticket=ticket).state.status.name == "Closed"
    assert _autos(ticket) == []

    # The one in the from-state does move (the same blueprint, so the setup is not at fault).
    waiting = desk.ticket(subject="Scanner jammed")
    _take(blueprint, waiting, "Ask for a rating", desk.agent, capture)
    _rate(client, capture, waiting, desk.contact, "good")
    assert waiting.status.name == "Reviewed"

    billing = desk.ticket(department=desk.other_department, subject="Invoice")
    with capture(execute=True):
        ticket_update(
            actor=desk.admin,
            ticket=billing,
            data=TicketInput(status=desk.status("Closed", desk.other_department)),
        )
    billing.refresh_from_db()
    assert not TicketBlueprint.objects.filter(ticket=billing).exists()
    _rate(client, capture, billing, desk.contact, "bad")
    assert billing.status.name == "Closed"
    assert _autos(billing) == []
    autos = [e for e in no_after_actions if e.kind == LogKind.AUTO]
    assert [e.ticket_id for e in autos] == [waiting.pk]  # the one ticket that moved


def test_bp05_rating_from_the_help_centers_ticket_page_moves_the_ticket(
    client, make, review, django_capture_on_commit_callbacks
):
    """The other way in: the contact signed in to the help center rates on the ticket's page."""
    from tests.tickets.helpcenter.conftest import mailed_link, open_help_center

    desk = make.desk
    blueprint, _states = review
    capture = django_capture_on_commit_callbacks
    open_help_center(desk.org, [desk.department])
    ticket = desk.ticket()
    _take(blueprint, ticket, "Close", desk.agent, capture)
    with capture(execute=True):  # the magic link is mailed after commit
        client.post(f"/{desk.org.portal}/help/signin/", {"email": desk.contact.email})
    assert client.post(mailed_link(desk.contact.email)).status_code == 302
    page = f"/{desk.org.portal}/help/tickets/{ticket.number}/"
    with capture(execute=True):
        response = client.post(page + "rate/", {"value": "okay", "comment": "OK"})
    assert response.status_code == 302 and response["Location"] == page
    ticket.refresh_from_db()
    assert ticket.status.name == "Reviewed"
    assert _autos(ticket) == ["Rating received"]
