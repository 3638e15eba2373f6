"""The blueprint editor (BP-04, BP-12, BP-20): its page, its JSON graph and the save endpoint.
A drawing over the plan's limits, with a 17th connection from one state, or naming another
organization's statuses or users is refused with clear errors and nothing of it is saved;
positions and connections come back as drawn; the drawing's warnings name the states."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from blueprints.models import Blueprint, State, Transition, TransitionOwner
from helpdesk.tickets.models import StatusKind, TicketStatus
from tests.conftest import login


def _url(desk, blueprint, name="editor_graph"):
    return reverse(
        f"blueprints:{name}", kwargs={"portal": desk.org.portal, "blueprint_id": blueprint.pk}
    )


def _post(client, desk, blueprint, drawing):
    return client.post(
        _url(desk, blueprint), data=json.dumps(drawing), content_type="application/json"
    )


def _snapshot(blueprint):
    """What is saved of a blueprint: its states and transitions."""
    org = blueprint.org_id
    return (
        sorted(
            State.objects.for_org(org)
            .filter(blueprint=blueprint)
            .values_list("status_id", "x", "y")
        ),
        sorted(
            Transition.objects.for_org(org)
            .filter(blueprint=blueprint)
            .values_list("name", flat=True)
        ),
        Blueprint.objects.for_org(org).get(pk=blueprint.pk).status,
    )


@pytest.fixture
def drawn(make, client):
    """A draft blueprint with no states; three statuses of the department; the admin signed in."""
    blueprint, _ = make.blueprint(name="Returns", statuses=(), status="draft")
    statuses = [
        make.status("Waiting approval"),
        make.status("Approved"),
        make.status("Refunded", kind=StatusKind.CLOSED),
    ]
    login(client, make.desk.admin)
    return make.desk, blueprint, statuses


def test_bp04_editor_page_carries_the_graph_and_links_back(drawn, client):
    desk, blueprint, statuses = drawn
    response = client.get(_url(desk, blueprint, "editor"))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="bpe-graph"' in body and "vendor/cytoscape/cytoscape.min.js" in body
    assert "<script>" not in body  # CSP: every script is a file
    process = client.get(_url(desk, blueprint, "process")).content.decode()
    assert _url(desk, blueprint, "editor") in process  # the "Draw" tab


def test_bp04_bp12_a_drawing_is_saved_and_read_back_as_drawn(drawn, client):
    desk, blueprint, (waiting, approved, refunded) = drawn
    drawing = {
        "status": "active",
        "states": [
            {"status": waiting.pk, "x": 10, "y": 20},
            {"status": approved.pk, "x": 300, "y": 20},
            {"status": refunded.pk, "x": 600, "y": 140},
        ],
        "connections": [
            {"name": "Approve", "from": [waiting.pk], "to": approved.pk},
            {"name": "Refund", "from": [approved.pk], "to": refunded.pk},
            {"name": "Reject", "from": [], "to": refunded.pk, "common": True},
        ],
    }
    response = _post(client, desk, blueprint, drawing)
    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True
    graph = client.get(_url(desk, blueprint)).json()
    assert graph["blueprint"]["status"] == "active"
    assert {(s["status"], s["x"], s["y"]) for s in graph["states"]} == {
        (waiting.pk, 10, 20),
        (approved.pk, 300, 20),
        (refunded.pk, 600, 140),
    }
    conns = {c["name"]: c for c in graph["connections"]}
    assert conns["Approve"]["from"] == [waiting.pk] and conns["Approve"]["to"] == approved.pk
    assert conns["Reject"]["common"] is True and conns["Reject"]["from"] == []
    # Saved again with every id: nothing changes; moved: only the positions change.
    for c in graph["connections"]:
        c.pop("fields")
    again = {
        "states": [{**s, "x": s["x"] + 5} for s in graph["states"]],
        "connections": graph["connections"],
    }
    assert _post(client, desk, blueprint, again).status_code == 200
    ids = sorted(c["id"] for c in client.get(_url(desk, blueprint)).json()["connections"])
    assert ids == sorted(c["id"] for c in graph["connections"])
    assert State.objects.for_org(desk.org).get(blueprint=blueprint, status=waiting).x == 15


def test_bp20_a_drawing_over_the_plans_transition_limits_is_refused_and_nothing_saved(
    drawn, client
):
    desk, blueprint, _ = drawn
    desk.org.plan = "professional"  # 20 transitions, 1 common transition
    desk.org.save(update_fields=["plan"])
    statuses = [
        TicketStatus.objects.create(
            org=desk.org, department=desk.department, name=f"Step {n}", kind="open", order=30 + n
        )
        for n in range(7)
    ]
    pairs = [(a, b) for a in statuses for b in statuses if a.pk < b.pk]  # 21 connections
    before = _snapshot(blueprint)
    response = _post(
        client,
        desk,
        blueprint,
        {
            "states": [{"status": s.pk, "x": 0, "y": 0} for s in statuses],
            "connections": [
                {"name": f"T{n}", "from": [a.pk], "to": b.pk} for n, (a, b) in enumerate(pairs)
            ]
            + [
                {"name": "Cancel", "from": [], "to": statuses[0].pk, "common": True},
                {"name": "Void", "from": [], "to": statuses[1].pk, "common": True},
            ],
        },
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "Your plan allows 20 transitions per blueprint; the drawing has 23." in errors
    assert "Your plan allows 1 common transitions per blueprint; the drawing has 2." in errors
    assert _snapshot(blueprint) == before


def test_bp20_a_17th_connection_from_one_state_is_refused_and_nothing_saved(drawn, client):
    desk, blueprint, (waiting, *_) = drawn
    others = [
        TicketStatus.objects.create(
            org=desk.org, department=desk.department, name=f"Branch {n}", kind="open", order=40 + n
        )
        for n in range(17)
    ]
    drawing = {
        "states": [{"status": s.pk, "x": 0, "y": 0} for s in [waiting, *others]],
        "connections": [
            {"name": f"To {n}", "from": [waiting.pk], "to": s.pk} for n, s in enumerate(others)
        ],
    }
    before = _snapshot(blueprint)
    response = _post(client, desk, blueprint, drawing)
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "“Waiting approval” connects to 17 states; a state connects to at most 16. "
        "Remove a connection."
    ]
    assert _snapshot(blueprint) == before
    drawing["connections"].pop()  # 16 is allowed
    assert _post(client, desk, blueprint, drawing).status_code == 200


def test_org01_a_drawing_naming_another_organizations_status_is_refused(drawn, client, globex):
    desk, blueprint, (waiting, approved, _) = drawn
    foreign = TicketStatus.objects.create(
        org=globex.org, department=globex.department, name="Globex step", kind="open"
    )
    before = _snapshot(blueprint)
    response = _post(
        client,
        desk,
        blueprint,
        {
            "states": [
                {"status": waiting.pk, "x": 0, "y": 0},
                {"status": foreign.pk, "x": 100, "y": 0},
            ],
            "connections": [{"name": "Leak", "from": [waiting.pk], "to": foreign.pk}],
        },
    )
    assert response.status_code == 400
    assert (
        "The drawing names statuses that are not this organization's; reload the page."
        in response.json()["errors"]
    )
    assert _snapshot(blueprint) == before
    assert not State.objects.filter(status=foreign).exists()


def test_org01_a_drawing_naming_another_organizations_user_is_refused(drawn, client, globex):
    desk, blueprint, (waiting, approved, _) = drawn
    before = _snapshot(blueprint)
    response = _post(
        client,
        desk,
        blueprint,
        {
            "states": [
                {"status": waiting.pk, "x": 0, "y": 0},
                {"status": approved.pk, "x": 100, "y": 0},
            ],
            "connections": [
                {
                    "name": "Approve",
                    "from": [waiting.pk],
                    "to": approved.pk,
                    "owners": [globex.admin.user_id],
                }
            ],
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        "Transition “Approve”: Choose an active agent of the organization."
    ]
    assert _snapshot(blueprint) == before
    assert not TransitionOwner.objects.for_org(desk.org).exists()


def test_bp04_an_unreadable_drawing_is_a_clear_400(drawn, client):
    desk, blueprint, _ = drawn
    for body in ("not json", json.dumps({"states": "x"}), json.dumps([1])):
        response = client.post(_url(desk, blueprint), data=body, content_type="application/json")
        assert response.status_code == 400
        assert response.json()["errors"] == [
            "The drawing could not be read; reload the page and draw it again."
        ]


def test_bp04_the_graph_flags_unreachable_states_and_states_with_no_way_out(drawn, client):
    desk, blueprint, (waiting, approved, refunded) = drawn
    default = TicketStatus.objects.for_org(desk.org).get(
        department=desk.department, is_default=True
    )
    drawing = {
        "states": [
            {"status": default.pk, "x": 0, "y": 0},
            {"status": waiting.pk, "x": 100, "y": 0},
            {"status": approved.pk, "x": 200, "y": 0},
            {"status": refunded.pk, "x": 300, "y": 0},
        ],
        "connections": [
            {"name": "Ask", "from": [default.pk], "to": waiting.pk},
            {"name": "Refund", "from": [approved.pk], "to": refunded.pk},
        ],
    }
    assert _post(client, desk, blueprint, drawing).status_code == 200
    messages = [w["message"] for w in client.get(_url(desk, blueprint)).json()["warnings"]]
    assert "No transition leads to “Approved” from the start of the process." in messages
    assert "No transition leaves “Waiting approval”: tickets that reach it stay there." in messages
    assert not any("Refunded”:" in m for m in messages)  # a closed status ends the process


def test_bp04_add_state_adds_a_status_to_the_departments_layout(drawn, client):
    desk, blueprint, _ = drawn
    url = _url(desk, blueprint, "editor_status")
    response = client.post(url, {"name": "Return shipped", "kind": "on_hold"})
    assert response.status_code == 200
    created = TicketStatus.objects.for_org(desk.org).get(name="Return shipped")
    assert created.department_id == desk.department.pk and created.kind == "on_hold"
    again = client.post(url, {"name": "return shipped", "kind": "open"})
    assert again.status_code == 400
    assert "already has a status" in again.json()["errors"][0]


def test_bp16_removing_a_state_with_tickets_is_refused_with_the_engines_words(make, client):
    """The engine's refusal reaches the drawing: nothing of the save is kept."""
    desk = make.desk
    blueprint, states = make.blueprint(name="Live", statuses=("Open", "Approved"))
    make.transition(blueprint, "Approve", states["Approved"], [states["Open"]])
    desk.ticket()  # enters in "Open"
    login(client, desk.admin)
    approved = states["Approved"].status
    before = _snapshot(blueprint)
    response = _post(
        client,
        desk,
        blueprint,
        {"states": [{"status": approved.pk, "x": 50, "y": 50}], "connections": []},
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert "State “Open”: 1 ticket is in this state: it cannot be deleted." in errors
    assert _snapshot(blueprint) == before


def test_bp17_save_as_draft_and_save_live(drawn, client):
    desk, blueprint, (waiting, approved, _) = drawn
    drawing = {
        "states": [
            {"status": waiting.pk, "x": 0, "y": 0},
            {"status": approved.pk, "x": 100, "y": 0},
        ],
        "connections": [{"name": "Approve", "from": [waiting.pk], "to": approved.pk}],
    }
    response = _post(client, desk, blueprint, {**drawing, "status": "active"})
    assert response.json()["message"] == "Blueprint saved."
    assert Blueprint.objects.get(pk=blueprint.pk).status == "active"
    graph = response.json()["graph"]
    drawing["connections"][0]["id"] = graph["connections"][0]["id"]
    response = _post(client, desk, blueprint, {**drawing, "status": "draft"})
    assert response.json()["message"] == (
        "Blueprint saved as a draft: it applies to no ticket yet."
    )
    assert Blueprint.objects.get(pk=blueprint.pk).status == "draft"


def test_bp04_bp15_the_editors_state_panel_carries_the_states_sla_and_its_form(make, client):
    """Issue 12, item 1: the graph the editor draws gives each state its SLA note (what the
    state's panel lists) with the link to the SLA form; a state without one offers to set it.
    The note follows the SLA when it changes, and the link opens that state's form."""
    from helpdesk.tickets.mailtemplates.models import MailTemplate
    from sla.services.config import LevelInput, state_sla_save

    desk = make.desk
    blueprint, states = make.blueprint(name="Returns", statuses=("Open", "Waiting approval"))
    timed = states["Waiting approval"]
    template = MailTemplate.objects.create(
        org=desk.org, name="Escalation", subject="#{{ticket.number}}", body="{{ticket.subject}}"
    )
    state_sla_save(
        actor=desk.admin,
        state=timed,
        minutes=240,
        business_hours=True,
        levels=[
            LevelInput(
                level=1, when="after", offset_minutes=60, template=template, notify_owner=True
            )
        ],
    )
    login(client, desk.admin)

    def notes():
        response = client.get(_url(desk, blueprint))
        assert response.status_code == 200
        return {s["name"]: s["notes"] for s in response.json()["states"]}

    def form(state):
        return reverse("sla:state_sla", kwargs={"portal": desk.org.portal, "state_id": state.pk})

    assert notes() == {
        "Open": [
            {
                "heading": "SLA",
                "text": "No SLA",
                "details": [],
                "link_text": "Set an SLA",
                "url": form(states["Open"]),
            }
        ],
        "Waiting approval": [
            {
                "heading": "SLA",
                "text": "4 hours in business hours, 1 escalation level",
                "details": ["Level 1: 1 hour after the due time, mails the ticket's owner"],
                "link_text": "Edit SLA",
                "url": form(timed),
            }
        ],
    }
    # The panel's list is where the editor page puts them.
    page = client.get(_url(desk, blueprint, "editor")).content.decode()
    assert 'class="bpe-notes"' in page
    # The link opens the state's SLA form, filled with what is set.
    opened = client.get(form(timed))
    assert opened.status_code == 200
    assert "Waiting approval" in opened.content.decode()
    # Changed elsewhere, the editor shows the new SLA at its next load.
    state_sla_save(actor=desk.admin, state=timed, minutes=90, business_hours=False)
    assert notes()["Waiting approval"][0]["text"] == "1 hour 30 minutes in calendar hours"
