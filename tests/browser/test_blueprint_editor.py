"""Browser: an admin draws a blueprint with the mouse in Setup → Blueprints → Draw (BP-04,
BP-12, BP-20): drags three states from the palette onto the canvas, connects them by dragging
(two transitions), makes a third connection common (drawn green), sets a mandatory field on
one in its side panel (the transition's own form, During tab), saves; the reloaded page draws
the same graph, and the engine runs a ticket through it. A 17th-connection-like refusal is
shown while drawing (a duplicate connection). No CSP violation, every static file loaded, no
serious axe violation. Screenshots: test-artifacts/blueprint-editor-*.png."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import expect

from blueprints import engine
from blueprints import services as bp
from blueprints.models import Blueprint, State, TicketBlueprint, Transition, TransitionField
from helpdesk.tickets.models import StatusKind, TicketStatus
from tests.browser.axe import serious_violations
from tests.factories import PASSWORD
from tests.tickets.conftest import desk as desk_fixture  # noqa: F401 - reused fixture

desk = desk_fixture
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
WATCH = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__cspViolations.push(e.violatedDirective + " " + e.blockedURI);
});
"""
# Where the three states are dropped, in the canvas's pixels (the view starts unzoomed).
SPOTS = {"Open": (120, 120), "Approved": (420, 120), "Refunded": (420, 380)}


def _shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"blueprint-editor-{name}.png"), full_page=True)


def _drag(page, box, start, end) -> None:
    page.mouse.move(box["x"] + start[0], box["y"] + start[1])
    page.mouse.down()
    page.mouse.move(box["x"] + end[0], box["y"] + end[1], steps=15)
    page.wait_for_timeout(300)  # a person rests on the target before letting go
    page.mouse.up()


@pytest.mark.django_db(transaction=True)
def test_bp04_admin_draws_a_blueprint_with_the_mouse_and_a_ticket_runs_through_it(
    live_server, new_context, static_errors, desk
):
    org = desk.org
    org.plan = "enterprise"
    org.save(update_fields=["plan"])
    open_status = TicketStatus.objects.for_org(org).get(department=desk.department, name="Open")
    TicketStatus.objects.create(
        org=org, department=desk.department, name="Approved", kind=StatusKind.OPEN, order=30
    )
    TicketStatus.objects.create(
        org=org, department=desk.department, name="Refunded", kind=StatusKind.CLOSED, order=31
    )
    blueprint = bp.blueprint_save(
        actor=desk.admin,
        data=bp.BlueprintInput(name="Returns", department=desk.department),
        status="draft",
    )

    context = new_context(viewport={"width": 1500, "height": 1000})
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/setup/blueprints/{blueprint.pk}/process/")
    page.get_by_role("link", name="Draw", exact=True).click()
    canvas = page.locator("#bpe-canvas")
    expect(canvas).to_be_visible()

    # 1. Three states dragged from the palette onto the canvas.
    for name, (x, y) in SPOTS.items():
        item = page.locator(".bpe-status", has_text=name).first
        item.drag_to(canvas, target_position={"x": x, "y": y})
        expect(item).to_have_class("bpe-status placed")
    box = canvas.bounding_box()

    # 2. Connected by dragging: Open → Approved, Approved → Refunded, Open → Refunded.
    page.get_by_role("button", name="Connect states").click()
    _drag(page, box, SPOTS["Open"], SPOTS["Approved"])
    name = page.get_by_label("Transition name")
    expect(name).to_have_value("To Approved")
    name.fill("Approve")
    _drag(page, box, SPOTS["Approved"], SPOTS["Refunded"])
    expect(name).to_have_value("To Refunded")
    name.fill("Refund")
    # The same connection again is refused at once.
    _drag(page, box, SPOTS["Approved"], SPOTS["Refunded"])
    expect(page.locator("#bpe-errors")).to_contain_text("These states are already connected.")
    _drag(page, box, SPOTS["Open"], SPOTS["Refunded"])
    expect(name).to_have_value("To Refunded")
    name.fill("Cancel return")
    page.get_by_label("Common transition (from every state)").check()
    page.get_by_role("button", name="Connect states").click()
    expect(page.locator("#bpe-warnings li")).to_have_count(0)  # reachable, with ways out
    _shot(page, "drawn")

    # 3. Saved live (BP-24).
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#bpe-messages")).to_have_text("Blueprint saved.")
    transitions = {t.name: t for t in Transition.objects.for_org(org).filter(blueprint=blueprint)}
    assert set(transitions) == {"Approve", "Refund", "Cancel return"}
    assert transitions["Cancel return"].is_common

    # 4. A mandatory field on "Approve": click its connection, open its settings, During tab.
    box = canvas.bounding_box()  # pressing Save may have scrolled the page
    mid = ((SPOTS["Open"][0] + SPOTS["Approved"][0]) / 2, SPOTS["Open"][1])
    page.mouse.click(box["x"] + mid[0] + 40, box["y"] + mid[1])
    expect(page.get_by_label("Transition name")).to_have_value("Approve")
    page.get_by_role("button", name="Before / During / After…").click()
    page.locator(".bpe-tabs").get_by_role("button", name="During").click()
    row = page.locator("#bpe-panel [data-row='1']")
    row.get_by_label("Field", exact=True).select_option("priority")
    _shot(page, "transition-panel")
    assert not serious_violations(page), serious_violations(page)
    page.locator("#bpe-panel").get_by_role("button", name="Save transition").click()
    expect(page.get_by_text("Transition “Approve” saved.")).to_be_visible()
    assert page.url.endswith(f"/blueprints/{blueprint.pk}/draw/")
    field = TransitionField.objects.for_org(org).get(transition=transitions["Approve"])
    assert field.field == "priority" and field.mandatory

    # 5. Reloaded: the same graph.
    page.reload()
    graph = json.loads(page.locator("#bpe-graph").text_content())
    saved = {
        s.status.name: (s.x, s.y)
        for s in State.objects.for_org(org).filter(blueprint=blueprint).select_related("status")
    }
    assert {s["name"]: (s["x"], s["y"]) for s in graph["states"]} == saved
    assert set(saved) == set(SPOTS)
    # Where they were dropped, relative to each other.
    assert saved["Approved"][0] - saved["Open"][0] == SPOTS["Approved"][0] - SPOTS["Open"][0]
    assert (
        saved["Refunded"][1] - saved["Approved"][1] == SPOTS["Refunded"][1] - SPOTS["Approved"][1]
    )
    assert sorted((c["name"], c["common"]) for c in graph["connections"]) == [
        ("Approve", False),
        ("Cancel return", True),
        ("Refund", False),
    ]
    expect(page.locator("#bpe-status")).to_have_text("Active")
    _shot(page, "reloaded")
    assert not serious_violations(page), serious_violations(page)
    assert page.evaluate("window.__cspViolations") == []

    # 6. The engine runs a ticket through it: the mandatory field is asked for.
    assert Blueprint.objects.for_org(org).get(pk=blueprint.pk).status == "active"
    ticket = desk.ticket(subject="Return of a kettle")
    assert ticket.status_id == open_status.pk
    instance = TicketBlueprint.objects.for_org(org).get(ticket=ticket)
    assert instance.blueprint_id == blueprint.pk
    engine.complete_transition(
        ticket=ticket,
        transition=transitions["Approve"],
        membership=desk.admin,
        data={"priority": "high"},
    )
    ticket.refresh_from_db()
    assert ticket.status.name == "Approved" and ticket.priority == "high"
    engine.complete_transition(
        ticket=ticket, transition=transitions["Cancel return"], membership=desk.admin
    )
    ticket.refresh_from_db()
    assert ticket.status.name == "Refunded"


@pytest.mark.django_db(transaction=True)
@pytest.mark.browser_context_args(locale="ja-JP", viewport={"width": 1500, "height": 1000})
def test_bp04_the_editor_in_japanese_flags_a_state_with_no_way_out(
    live_server, new_context, static_errors, desk
):
    """A Japanese admin's editor: the palette, the buttons and the drawing's warnings in
    Japanese; a state placed with the keyboard (its "Place on the canvas" button)."""
    org = desk.org
    org.plan = "enterprise"
    org.save(update_fields=["plan"])
    desk.admin.user.language = "ja"
    desk.admin.user.save(update_fields=["language"])
    blueprint = bp.blueprint_save(
        actor=desk.admin,
        data=bp.BlueprintInput(name="返品承認", department=desk.department),
        status="draft",
    )
    statuses = list(TicketStatus.objects.for_org(org).filter(department=desk.department)[:2])
    for n, status in enumerate(statuses):
        bp.state_add(actor=desk.admin, blueprint=blueprint, status=status, x=150 + 300 * n, y=150)
    page = new_context().new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.locator("input[name=username], input[type=email]").first.fill("alice@acme.test")
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.goto(f"{live_server.url}/acme/setup/blueprints/{blueprint.pk}/draw/")
    expect(page.get_by_role("button", name="状態を接続")).to_be_visible()
    name = statuses[0].name
    expect(page.locator("#bpe-warnings")).to_contain_text(f"「{name}」から出る遷移がありません")
    page.get_by_role("button", name="キャンバスに配置").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#bpe-messages")).to_have_text("図に保存されていない変更があります。")
    _shot(page, "ja")
    assert not serious_violations(page), serious_violations(page)


@pytest.mark.django_db(transaction=True)
def test_bp04_the_editor_by_keyboard_with_the_condition_builder_in_its_panel(
    live_server, new_context, static_errors, desk
):
    """BP-04 without the mouse for the steps that matter: a placed state's settings open from
    the palette and add a transition to another state; Escape closes the settings; Delete
    removes the selected connection. The transition's Before tab in the side panel has the
    same condition builder as its own page (rows, not raw JSON)."""
    org = desk.org
    org.plan = "enterprise"
    org.save(update_fields=["plan"])
    TicketStatus.objects.create(
        org=org, department=desk.department, name="Approved", kind=StatusKind.OPEN, order=30
    )
    blueprint = bp.blueprint_save(
        actor=desk.admin,
        data=bp.BlueprintInput(name="Keys", department=desk.department),
        status="draft",
    )
    context = new_context(viewport={"width": 1500, "height": 1000})
    context.add_init_script(WATCH)
    page = context.new_page()
    static_errors.watch(page)
    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Email").fill("alice@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/acme/setup/blueprints/{blueprint.pk}/draw/")
    canvas = page.locator("#bpe-canvas")
    spots = {"Open": (150, 150), "Approved": (500, 150)}
    for name, (x, y) in spots.items():
        page.locator(".bpe-status", has_text=name).first.drag_to(
            canvas, target_position={"x": x, "y": y}
        )

    # The palette's button of a placed state opens its settings; its form adds a transition.
    page.get_by_role("button", name="Settings: Open").focus()
    page.keyboard.press("Enter")
    panel = page.locator("#bpe-panel")
    expect(panel.get_by_label("Add a transition to")).to_have_value(
        str(TicketStatus.objects.for_org(org).get(name="Approved").pk)
    )
    panel.get_by_role("button", name="Add transition").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_label("Transition name")).to_have_value("To Approved")
    page.keyboard.press("Escape")
    expect(page.locator("#bpe-panel-empty")).to_be_visible()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#bpe-messages")).to_have_text("Blueprint saved.")
    assert list(
        Transition.objects.for_org(org).filter(blueprint=blueprint).values_list("name", flat=True)
    ) == ["To Approved"]

    # The state's settings list its transitions; the transition's Before tab has the builder.
    page.get_by_role("button", name="Settings: Open").click()
    panel.get_by_role("button", name="To Approved → Approved").click()
    page.get_by_role("button", name="Before / During / After…").click()
    page.locator(".bpe-tabs").get_by_role("button", name="Before").click()
    builder = panel.locator("[data-builder-ready]").first
    expect(builder).to_be_visible()
    expect(builder.get_by_role("combobox").first).to_be_visible()
    _shot(page, "keyboard-before-tab")
    assert not serious_violations(page), serious_violations(page)

    # Delete removes the connection whose settings are open (clicked on the canvas).
    page.keyboard.press("Escape")
    page.reload()
    box = canvas.bounding_box()
    graph = json.loads(page.locator("#bpe-graph").text_content())
    assert len(graph["connections"]) == 1
    # The saved drawing is fitted to the canvas on load: click the middle of the only edge.
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.get_by_label("Transition name")).to_have_value("To Approved")
    page.keyboard.press("Delete")
    expect(page.locator("#bpe-panel-empty")).to_be_visible()
    expect(page.locator("#bpe-messages")).to_have_text(
        "The drawing has changes that are not saved."
    )
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator("#bpe-messages")).to_have_text("Blueprint saved.")
    assert not Transition.objects.for_org(org).filter(blueprint=blueprint).exists()
    assert page.evaluate("window.__cspViolations") == []
