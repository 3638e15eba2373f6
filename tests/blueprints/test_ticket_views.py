"""Blueprints on the ticket page (BP-25): the bar loads on its own (the ticket page's queries do
not grow), shows buttons and reasons; the dialog opens the window, takes the fields and
completes; the flowchart shows the current state to non-owners too (BP-23) and lets an owner
reassign (BP-14); restricted mode hides the reply box and refuses a forged reply (BP-02)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from blueprints.models import DuringAction, OwnerKind, Restriction, TicketBlueprint
from blueprints.services import FieldInput, OwnerInput
from helpdesk.tickets.models import CustomField, Thread
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _url(desk, name, ticket, **kwargs):
    return reverse(
        f"bp_ticket:{name}", kwargs={"portal": desk.org.portal, "number": ticket.number, **kwargs}
    )


@pytest.fixture
def approval(make):
    desk = make.desk
    CustomField.objects.create(
        org=desk.org, department=desk.department, label="Approver note", key="note", type="text"
    )
    blueprint, states = make.blueprint(
        statuses=("Open", "Awaiting approval", "Approved"), dynamic_reassignment=True
    )
    submit = make.transition(
        blueprint,
        "Submit",
        states["Awaiting approval"],
        [states["Open"]],
        fields=[FieldInput(field="cf.note", mandatory=True)],
        actions=[DuringAction.COMMENT],
        message="Say what needs approving.",
        owners=[OwnerInput(kind=OwnerKind.AGENT, user_id=desk.agent.user_id)],
    )
    return desk, blueprint, states, submit


def test_bp25_ticket_page_loads_the_bar_with_htmx_and_its_queries_stay_fixed(
    client, approval, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    desk, *_rest = approval
    login(client, desk.agent)
    plain = desk.ticket(subject="No blueprint here")
    TicketBlueprint.objects.filter(ticket=plain).delete()
    page = reverse("desk:ticket_detail", kwargs={"portal": desk.org.portal, "number": 0})
    with CaptureQueriesContext(connection) as without:
        client.get(page.replace("/0/", f"/{plain.number}/"))
    ticket = desk.ticket()
    with django_assert_max_num_queries(len(without.captured_queries)):
        response = client.get(page.replace("/0/", f"/{ticket.number}/"))
    assert _url(desk, "bar", ticket) in response.content.decode()


def test_bp25_bar_buttons_for_the_owner_and_reasons_for_others(client, approval):
    desk, _bp, _states, _submit = approval
    ticket = desk.ticket()
    bar = login(client, desk.agent).get(_url(desk, "bar", ticket), HTTP_HX_REQUEST="true")
    html = bar.content.decode()
    assert 'data-testid="bp-transition"' in html and "Submit" in html
    login(client, desk.restricted)
    html = client.get(_url(desk, "bar", ticket), HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="bp-transition"' not in html
    assert "Only Bob may execute this transition." in html


def test_bp25_dialog_window_fields_actions_then_complete(client, approval):
    desk, _bp, states, submit = approval
    ticket = desk.ticket()
    login(client, desk.agent)
    # Completing before the comment: the dialog says what is missing, nothing moves.
    opened = client.post(_url(desk, "dialog", ticket, transition_id=submit.pk))
    html = opened.content.decode()
    assert "Say what needs approving." in html and "Comment" in html
    client.post(
        _url(desk, "entry", ticket, transition_id=submit.pk),
        {"kind": "comment", "body": "Needs the manager's OK"},
    )
    assert Thread.objects.filter(ticket=ticket, kind="comment").count() == 1
    missing = client.post(
        _url(desk, "complete", ticket, transition_id=submit.pk),
        {"state": states["Open"].pk, "cf.note": ""},
    )
    assert missing.status_code == 400
    assert "This field is required." in missing.content.decode()
    done = client.post(
        _url(desk, "complete", ticket, transition_id=submit.pk),
        {"state": states["Open"].pk, "cf.note": "Manager please"},
    )
    assert done.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status.name == "Awaiting approval"
    assert ticket.custom_fields["note"] == "Manager please"
    # The same form again (a second tab): the state it saw is gone.
    again = client.post(
        _url(desk, "complete", ticket, transition_id=submit.pk),
        {"state": states["Open"].pk, "cf.note": "x"},
    )
    assert again.status_code in (400, 404)


def test_bp23_bp14_flowchart_for_everyone_reassignment_for_owners(client, approval):
    desk, _bp, _states, submit = approval
    ticket = desk.ticket()
    login(client, desk.restricted)
    flow = client.get(_url(desk, "flow", ticket))
    html = flow.content.decode()
    assert flow.status_code == 200 and "<svg" in html and "bp-current" in html
    assert "Reassign a pending transition" not in html
    login(client, desk.agent)
    assert (
        "Reassign a pending transition" in client.get(_url(desk, "flow", ticket)).content.decode()
    )
    client.post(
        _url(desk, "reassign", ticket, transition_id=submit.pk),
        {"user": desk.other_agent.user_id},
    )
    # Ada, of another department, does not see the ticket but now owns the transition (BP-22).
    login(client, desk.other_agent)
    bar = client.get(_url(desk, "bar", ticket), HTTP_HX_REQUEST="true")
    assert bar.status_code == 200 and "Submit" in bar.content.decode()
    detail = reverse(
        "desk:ticket_detail", kwargs={"portal": desk.org.portal, "number": ticket.number}
    )
    assert client.get(detail).status_code == 404


def test_bp02_restricted_mode_hides_the_reply_box_and_refuses_a_forged_reply(client, make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Done"), restriction=Restriction.ALL)
    make.transition(blueprint, "Finish", states["Done"], [states["Open"]])
    ticket = desk.ticket()
    login(client, desk.agent)
    detail = reverse(
        "desk:ticket_detail", kwargs={"portal": desk.org.portal, "number": ticket.number}
    )
    page = client.get(detail).content.decode()
    assert 'name="kind" value="reply"' not in page
    forged = client.post(
        reverse("desk:ticket_thread", kwargs={"portal": desk.org.portal, "number": ticket.number}),
        {"kind": "reply", "body": "sneaky"},
    )
    assert forged.status_code == 403
    assert not Thread.objects.filter(ticket=ticket).exists()


def test_bp18_admin_removes_the_blueprint_from_the_ticket(client, approval):
    desk, *_rest = approval
    ticket = desk.ticket()
    login(client, desk.agent)
    assert client.post(_url(desk, "remove", ticket)).status_code == 302
    assert TicketBlueprint.objects.filter(ticket=ticket).exists()
    login(client, desk.admin)
    client.post(_url(desk, "remove", ticket))
    assert not TicketBlueprint.objects.filter(ticket=ticket).exists()


def test_bp23_a_long_path_shows_its_last_steps_and_links_the_history(client, make):
    """A ticket that went round its blueprint more than PATH_LIMIT times: the flowchart lists
    the last PATH_LIMIT steps, newest last, says earlier ones are in the history and links
    it; a short path says nothing of the kind."""
    from blueprints.engine import complete_transition
    from blueprints.flowchart import PATH_LIMIT

    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Waiting"))
    go = make.transition(blueprint, "Go", states["Waiting"], [states["Open"]])
    back = make.transition(blueprint, "Back", states["Open"], [states["Waiting"]])
    ticket, short = desk.ticket(), desk.ticket()
    for n in range(PATH_LIMIT + 2):
        complete_transition(ticket=ticket, transition=back if n % 2 else go, membership=desk.admin)
    complete_transition(ticket=short, transition=go, membership=desk.admin)
    login(client, desk.agent)
    html = client.get(_url(desk, "flow", ticket)).content.decode()
    path = html.split('data-testid="bp-path"')[1].split("</ol>")[0]
    assert path.count("<li>") == PATH_LIMIT
    assert 'data-testid="bp-path-cut"' in html
    history = reverse(
        "desk:ticket_history", kwargs={"portal": desk.org.portal, "number": ticket.number}
    )
    assert f'href="{history}"' in html
    html = client.get(_url(desk, "flow", short)).content.decode()
    assert 'data-testid="bp-path-cut"' not in html and "Go" in html
