"""Blueprint versions (issue 12 item 4, BP-17, BP-24): every save keeps a version with who and
when, the comparison names each changed state, transition and setting, and a ticket's history
names the version it ran under."""

from __future__ import annotations

import pytest

from blueprints import engine
from blueprints import services as bp
from blueprints.editor.services import Drawing, graph_save
from blueprints.models import BlueprintVersion, LogKind, OwnerKind, TransitionLog
from blueprints.services import FieldInput, OwnerInput
from blueprints.versions.diff import compare
from helpdesk.tickets.history_display import history_rows
from helpdesk.tickets.models import TicketHistory

pytestmark = pytest.mark.django_db


def _versions(blueprint):
    return list(BlueprintVersion.objects.filter(blueprint=blueprint).order_by("number"))


def test_bp_versions_every_save_keeps_a_version_with_author(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Approved"), status="draft")
    versions = _versions(blueprint)
    # Created (draft), two states added: three saves, three versions, all by the admin.
    assert [v.number for v in versions] == [1, 2, 3]
    assert {v.author_id for v in versions} == {desk.admin.user_id}
    assert not any(v.published for v in versions)
    assert versions[-1].snapshot["states"] == ["Approved", "Open"]
    make.transition(blueprint, "Approve", states["Approved"], [states["Open"]])
    bp.blueprint_set_status(actor=desk.admin, blueprint=blueprint, status="active")
    last = _versions(blueprint)[-1]
    assert last.number == 5 and last.published
    assert last.created_at is not None
    # A move in the drawing changes nothing a version keeps: no new version.
    bp.state_move(actor=desk.admin, state=states["Open"], x=40, y=80)
    assert _versions(blueprint)[-1].number == 5


def test_bp_versions_editor_save_keeps_one_version(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Approved"), status="draft")
    before = len(_versions(blueprint))
    open_, approved = states["Open"].status_id, states["Approved"].status_id
    done = make.status("Done").pk
    drawing = Drawing(
        states={open_: (0, 0), approved: (100, 0), done: (200, 0)},
        connections=[],
        status=None,
    )
    graph_save(actor=desk.admin, blueprint=blueprint, drawing=drawing)
    after = _versions(blueprint)
    assert len(after) == before + 1  # one save, one version, though two services ran
    assert "Done" in after[-1].snapshot["states"]


def test_bp_versions_diff_names_each_changed_state_transition_and_setting(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Approved"), status="draft")
    approve = make.transition(blueprint, "Approve", states["Approved"], [states["Open"]])
    old = _versions(blueprint)[-1].snapshot
    make.transition(blueprint, "Reopen", states["Open"], [states["Approved"]])
    bp.transition_save(
        actor=desk.admin,
        blueprint=blueprint,
        transition=approve,
        data=bp.TransitionInput(
            name="Approve it",
            to_state=states["Approved"],
            from_states=[states["Open"]],
            owners=[OwnerInput(kind=OwnerKind.ROLE, role="admin")],
            fields=[FieldInput(field="priority", mandatory=True)],
            message="Thanks",
        ),
    )
    bp.state_add(actor=desk.admin, blueprint=blueprint, status=make.status("Done"))
    data = bp.BlueprintInput(name="Approval v2", department=desk.department, is_continuous=True)
    bp.blueprint_save(actor=desk.admin, data=data, blueprint=blueprint)
    lines = compare(old, _versions(blueprint)[-1].snapshot)
    seen = {(d.what, d.name, d.how, d.setting, d.before, d.after) for d in lines}
    assert ("State", "Done", "added", "", "", "") in seen
    assert ("Transition", "Reopen", "added", "", "", "") in seen
    assert ("Blueprint", "Approval v2", "changed", "Name", "Approval", "Approval v2") in seen
    assert ("Blueprint", "Approval v2", "changed", "Continuous", "No", "Yes") in seen
    assert ("Transition", "Approve it", "changed", "Name", "Approve", "Approve it") in seen
    assert ("Transition", "Approve it", "changed", "During: message", "—", "Thanks") in seen
    settings = {d.setting: d for d in lines if d.name == "Approve it"}
    assert (
        "A role" in settings["Before: owners"].after and "admin" in settings["Before: owners"].after
    )
    assert settings["During: fields"].after == "priority (mandatory)"
    # And the way back: removed.
    back = {(d.what, d.name, d.how) for d in compare(_versions(blueprint)[-1].snapshot, old)}
    assert ("State", "Done", "removed") in back and ("Transition", "Reopen", "removed") in back


def test_bp_versions_ticket_history_names_the_version(make):
    desk = make.desk
    blueprint, states = make.blueprint(statuses=("Open", "Approved"))
    approve = make.transition(blueprint, "Approve", states["Approved"], [states["Open"]])
    number = _versions(blueprint)[-1].number
    ticket = desk.ticket()
    entered = TransitionLog.objects.get(ticket=ticket, kind=LogKind.ENTERED)
    assert entered.data["version"] == number
    engine.complete_transition(ticket=ticket, transition=approve, membership=desk.agent)
    row = TicketHistory.objects.filter(ticket=ticket, action="blueprint_transition").get()
    assert row.changes["blueprint_version"] == ["", number]
    shown = history_rows([row], [])[0]
    assert any(c.label == "Blueprint version" and c.after == str(number) for c in shown.changes)
