"""Try before publishing (issue 12 item 4) and the versions pages: a trial runs a draft on a
sample ticket in memory (a real ticket as the template, or fields by hand) as a chosen member,
shows which transitions are offered and why others are not, validates the during fields, and
changes nothing real: no ticket, no history, no log, no mail, no after-action."""

from __future__ import annotations

import html
import re

import pytest
from django.core import mail
from django.urls import reverse

from blueprints import services as bp
from blueprints.actions.models import AfterActionRun
from blueprints.models import (
    AfterAction,
    AfterActionType,
    OwnerKind,
    TicketBlueprint,
    TransitionLog,
)
from blueprints.services import FieldInput, OwnerInput
from blueprints.versions.models import BlueprintVersion
from customers.models import Contact
from helpdesk.tickets.models import Ticket, TicketHistory
from helpdesk.tickets.services.tickets import TicketInput, ticket_create
from tests.conftest import login

pytestmark = pytest.mark.django_db


def _url(desk, name, **kwargs):
    return reverse(f"blueprints:{name}", kwargs={"portal": desk.org.portal, **kwargs})


def _counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            Ticket,
            TicketHistory,
            TransitionLog,
            TicketBlueprint,
            AfterActionRun,
            BlueprintVersion,
        )
    }


def _token(page: str) -> str:
    return html.unescape(re.search(r'name="run" value="([^"]+)"', page).group(1))


@pytest.fixture
def draft(make):
    """A draft return process: Open → Approved (asks the due date, sends a mail
    after) and Open → Rejected, admins only."""
    desk = make.desk
    blueprint, states = make.blueprint(
        name="Returns", statuses=("Open", "Approved", "Rejected"), status="draft"
    )
    mail_action = AfterAction.objects.create(
        org=desk.org,
        department=desk.department,
        name="Tell the customer",
        type=AfterActionType.EMAIL,
        config={},
    )
    approve = make.transition(
        blueprint,
        "Approve",
        states["Approved"],
        [states["Open"]],
        fields=[FieldInput(field="due_at", mandatory=True)],
    )
    approve.after_links.create(org=desk.org, action=mail_action, position=0)
    make.transition(
        blueprint,
        "Reject",
        states["Rejected"],
        [states["Open"]],
        owners=[OwnerInput(kind=OwnerKind.ROLE, role="admin")],
    )
    return blueprint, states


def test_bp_sandbox_run_changes_nothing_real(
    client, make, draft, django_capture_on_commit_callbacks
):
    desk = make.desk
    blueprint, states = draft
    real = desk.ticket(actor=desk.agent)
    mail.outbox.clear()
    login(client, desk.admin)
    before = _counts()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        page = client.post(
            _url(desk, "sandbox", blueprint_id=blueprint.pk),
            {"step": "start", "template": str(real.number), "act_as": desk.agent.user_id},
        )
        assert page.status_code == 200
        text = page.content.decode()
        assert "Open" in text and f"#{real.number}" in text
        # Bob (an agent) is offered Approve, not Reject, and is told why.
        assert "Take “Approve”" in text
        assert "Only" in text and "may execute this transition" in text
        # The during field is checked as the engine checks it.
        page = client.post(
            _url(desk, "sandbox", blueprint_id=blueprint.pk),
            {
                "step": "take",
                "run": _token(text),
                "transition": blueprint.transitions.get(name="Approve").pk,
            },
        )
        assert page.status_code == 400
        assert "is required for this transition" in page.content.decode()
        page = client.post(
            _url(desk, "sandbox", blueprint_id=blueprint.pk),
            {
                "step": "take",
                "run": _token(text),
                "transition": blueprint.transitions.get(name="Approve").pk,
                "due_at": "2026-12-24T10:00",
            },
        )
        assert page.status_code == 200
        after = page.content.decode()
        assert 'id="sandbox-state"><strong>Approved' in after
        assert "Approve: Open → Approved" in after
        assert "after-action would run; not in a trial" in after
    assert _counts() == before  # no ticket, history, log, instance, run or version written
    assert mail.outbox == []
    assert callbacks == []  # nothing queued for after the commit (no Celery task, no mail)
    real.refresh_from_db()
    assert real.status.name == "Open" and real.due_at is None


def test_bp_sandbox_by_hand_and_bad_input(client, make, draft, globex):
    desk = make.desk
    blueprint, states = draft
    login(client, desk.admin)
    url = _url(desk, "sandbox", blueprint_id=blueprint.pk)
    assert client.get(url).status_code == 200
    # Fields by hand, acting as the admin: both transitions offered.
    page = client.post(
        url,
        {
            "step": "start",
            "state": states["Open"].pk,
            "priority": "low",
            "act_as": desk.admin.user_id,
        },
    )
    text = page.content.decode()
    assert "Take “Approve”" in text and "Take “Reject”" in text
    # An unknown transition, a tampered run.
    page = client.post(url, {"step": "take", "run": _token(text), "transition": "999999"})
    assert page.status_code == 400
    assert "That transition does not start from the current state." in page.content.decode()
    page = client.post(url, {"step": "take", "run": _token(text) + "x", "transition": "1"})
    assert page.status_code == 400
    assert "The trial could not be read; start it again." in page.content.decode()
    # A member of another organization cannot act.
    page = client.post(
        url,
        {
            "step": "start",
            "state": states["Open"].pk,
            "priority": "low",
            "act_as": globex.admin.user_id,
        },
    )
    assert page.status_code == 400
    assert "Choose a member of your organization." in page.content.decode()


def test_bp_sandbox_template_of_another_org_is_refused(client, make, draft, globex):
    """Globex's ticket #N, where Acme has no #N: refused as not in the department, its fields
    never shown."""
    desk = make.desk
    blueprint, _states = draft
    contact = Contact.objects.create(org=globex.org, last_name="Secret", email="s@globex.test")
    theirs = ticket_create(
        actor=globex.admin,
        data=TicketInput(subject="Globex secret", department=globex.department, contact=contact),
        ip="203.0.113.9",
    )
    assert not Ticket.objects.filter(org=desk.org, number=theirs.number).exists()
    login(client, desk.admin)
    page = client.post(
        _url(desk, "sandbox", blueprint_id=blueprint.pk),
        {"step": "start", "template": str(theirs.number), "act_as": desk.admin.user_id},
    )
    assert page.status_code == 400
    text = page.content.decode()
    assert f"There is no ticket #{theirs.number} in the department" in text
    assert "Globex secret" not in text


def test_bp_versions_pages_list_and_compare(client, make, draft):
    desk = make.desk
    blueprint, states = draft
    bp.state_add(actor=desk.admin, blueprint=blueprint, status=make.status("Inspecting"))
    login(client, desk.admin)
    page = client.get(_url(desk, "versions", blueprint_id=blueprint.pk)).content.decode()
    last = BlueprintVersion.objects.filter(blueprint=blueprint).first()
    assert f'data-version="{last.number}"' in page
    assert desk.admin.user.display_name in page
    page = client.get(
        _url(desk, "version_compare", blueprint_id=blueprint.pk),
        {"a": last.number - 1, "b": last.number},
    ).content.decode()
    assert "<td>State</td><td>Inspecting</td><td>added</td>" in page
    bad = client.get(_url(desk, "version_compare", blueprint_id=blueprint.pk), {"a": 900, "b": 901})
    assert "Choose two versions of this blueprint." in bad.content.decode()
