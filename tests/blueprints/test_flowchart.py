"""The ticket's process flowchart (BP-23, BP-25, BP-14): the JSON Cytoscape draws and the text
lists under it show the current state, the path taken in order and each transition's owners;
an admin reassigns a pending transition from it, a non-owner sees the chart only and is
refused; the request's query count does not grow with the ticket's history."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from blueprints import engine
from blueprints.models import OwnerKind, OwnerOverride
from blueprints.services import OwnerInput
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _url(desk, name, ticket, **kwargs):
    return reverse(
        f"bp_ticket:{name}", kwargs={"portal": desk.org.portal, "number": ticket.number, **kwargs}
    )


@pytest.fixture
def loop(make):
    """Open → Awaiting approval (Submit, Bob's) → Open (Send back, role Admin); Close from
    every state (common, role Admin)."""
    desk = make.desk
    blueprint, states = make.blueprint(
        statuses=("Open", "Awaiting approval", "Closed"), dynamic_reassignment=True
    )
    submit = make.transition(
        blueprint,
        "Submit",
        states["Awaiting approval"],
        [states["Open"]],
        owners=[OwnerInput(kind=OwnerKind.AGENT, user_id=desk.agent.user_id)],
    )
    back = make.transition(
        blueprint,
        "Send back",
        states["Open"],
        [states["Awaiting approval"]],
        owners=[OwnerInput(kind=OwnerKind.ROLE, role="admin")],
    )
    close = make.transition(
        blueprint,
        "Close",
        states["Closed"],
        is_common=True,
        owners=[OwnerInput(kind=OwnerKind.ROLE, role="admin")],
    )
    return desk, blueprint, states, submit, back, close


def _take(desk, ticket, transition, member):
    ticket.refresh_from_db()
    engine.complete_transition(ticket=ticket, transition=transition, membership=member, data={})


def _graph(html: str) -> dict:
    found = re.search(r'<script id="bp-flow-graph" type="application/json">(.*?)</script>', html)
    assert found, "the flowchart's JSON is on the page"
    return json.loads(found.group(1))


def test_bp23_flowchart_json_marks_current_state_and_path_in_order(client, loop):
    desk, _bp, states, submit, back, _close = loop
    ticket = desk.ticket()
    _take(desk, ticket, submit, desk.agent)
    _take(desk, ticket, back, desk.admin)
    _take(desk, ticket, submit, desk.agent)
    login(client, desk.restricted)
    response = client.get(_url(desk, "flow", ticket), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    graph = _graph(html)
    current = [n["name"] for n in graph["nodes"] if n.get("current")]
    assert current == ["Awaiting approval"]
    taken = {e["name"]: e["taken"] for e in graph["edges"] if e["taken"]}
    assert taken == {"Submit": [1, 3], "Send back": [2]}
    # Close leaves every state: one green edge from the "every state" node.
    common = [e for e in graph["edges"] if e["common"]]
    assert [(e["name"], e["source"]) for e in common] == [("Close", "any")]
    # The text version says the same, in order, with the owners.
    path = re.search(r'data-testid="bp-path">(.*?)</ol>', html, re.S).group(1)
    assert [re.sub(r"\s·.*", "", li) for li in re.findall(r"<li>(.*?)</li>", path)] == [
        "Submit",
        "Send back",
        "Submit",
    ]
    assert 'aria-current="step">Awaiting approval' in html
    listing = re.search(r'data-testid="bp-transition-list">(.*?)</ul>', html, re.S).group(1)
    assert "Owners: Bob" in listing and "Owners: role Admin" in listing
    # Owners on hover come from the JSON too; a non-owner gets no reassignment.
    assert {e["name"]: e["owners"] for e in graph["edges"]}["Send back"] == "role Admin"
    assert not any(e["reassign"] for e in graph["edges"])
    assert "Reassign a pending transition" not in html
    # Cytoscape and the script are loaded from static files, no inline script.
    assert "vendor/cytoscape/cytoscape.min.js" in html and "js/blueprint-flow.js" in html
    assert "<script>" not in html


def test_bp14_admin_reassigns_from_the_flowchart_non_owner_refused(client, loop):
    desk, _bp, _states, submit, _back, _close = loop
    ticket = desk.ticket()
    login(client, desk.admin)
    graph = _graph(client.get(_url(desk, "flow", ticket)).content.decode())
    pending = {e["name"]: e["reassign"] for e in graph["edges"] if e["pending"]}
    assert pending == {"Submit": True, "Close": True}
    done = client.post(
        _url(desk, "reassign", ticket, transition_id=submit.pk),
        {"user": desk.other_agent.user_id},
    )
    assert done.status_code == 302
    assert OwnerOverride.objects.get(transition=submit).user_id == desk.other_agent.user_id
    html = client.get(done["Location"]).content.decode()
    assert "The transition was reassigned." in html
    assert {e["name"]: e["owners"] for e in _graph(html)["edges"]}["Submit"] == "Ada"
    # Rita owns nothing: her POST is refused with the engine's words, nothing changes.
    login(client, desk.restricted)
    refused = client.post(
        _url(desk, "reassign", ticket, transition_id=submit.pk), {"user": desk.restricted.user_id}
    )
    assert refused.status_code == 302
    html = client.get(refused["Location"]).content.decode()
    assert "Only an administrator or the transition&#x27;s owner can reassign it." in html
    assert OwnerOverride.objects.get(transition=submit).user_id == desk.other_agent.user_id


def test_bp23_flowchart_query_count_does_not_grow_with_the_path(client, loop):
    desk, _bp, _states, submit, back, _close = loop
    fresh = desk.ticket()
    travelled = desk.ticket()
    for _ in range(3):
        _take(desk, travelled, submit, desk.agent)
        _take(desk, travelled, back, desk.admin)
    login(client, desk.agent)
    client.get(_url(desk, "flow", fresh), HTTP_HX_REQUEST="true")  # warm the definitions
    with CaptureQueriesContext(connection) as short:
        client.get(_url(desk, "flow", fresh), HTTP_HX_REQUEST="true")
    with CaptureQueriesContext(connection) as long:
        html = client.get(_url(desk, "flow", travelled), HTTP_HX_REQUEST="true").content.decode()
    assert len(_graph(html)["edges"][0]["taken"]) == 3

    # The session's own read (the cached_db store refills its cache now and then) is not the
    # flowchart's.
    def counted(ctx):
        return [q for q in ctx.captured_queries if "django_session" not in q["sql"]]

    assert len(counted(long)) == len(counted(short))
