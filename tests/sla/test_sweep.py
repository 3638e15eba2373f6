# ruff: noqa: F811 - the fixtures are imported by name
"""The SLA sweep (BP-15, TKT-09, issue 11 item 5): due escalations fire once, raise the
ticket's level with a history row, and mail the level's people through the mail template with
the SLA placeholders filled, in each reader's language and time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.tenancy.models import Membership, TeamMember
from helpdesk.tickets.models import Ticket, TicketHistory
from sla import sweep as sla_sweep
from sla.mail import escalation_mail_send
from sla.models import Clock, ClockDue, EscalationFired
from sla.queue import schedule_wakeup
from tests.factories import TeamFactory, UserFactory
from tests.sla.conftest import level_of
from tests.sla.sweep_fixtures import Desk, desk, escalations, past  # noqa: F401

pytestmark = pytest.mark.django_db


def _ticket(desk, **data):
    data.setdefault("owner", desk.agent.user)
    return desk.ticket(**data)


def test_bp15_a_due_level_fires_once_raises_the_ticket_and_mails_the_owner(
    desk,
    escalations,
    django_capture_on_commit_callbacks,
):
    escalations.level(1)
    ticket = _ticket(desk)
    clock = escalations.plant(ticket, due_at=past(90))
    with django_capture_on_commit_callbacks(execute=True):
        result = sla_sweep.sweep(wake=False)
    assert (result.fired, result.handed_off) == (1, 1)
    ledger = EscalationFired.objects.get(ticket=ticket)
    assert (ledger.level, ledger.cycle, ledger.clock_id) == (1, 1, clock.pk)
    assert ledger.mail_sent_at is not None
    assert ledger.recipients == [{"user": desk.agent.user_id, "email": "bob@acme.test"}]
    assert [m.to for m in mail.outbox] == [["bob@acme.test"]]
    ticket.refresh_from_db()
    clock.refresh_from_db()
    assert level_of(ticket) == 1 and clock.level_reached == 1
    history = TicketHistory.objects.get(ticket=ticket, action="escalated")
    assert history.changes["escalation_level"] == [0, 1]
    assert ClockDue.objects.get(clock=clock).fired_at is not None
    # Another sweep finds nothing: fired once, mailed once.
    with django_capture_on_commit_callbacks(execute=True):
        again = sla_sweep.sweep(wake=False)
    assert (again.fired, again.handed_off, again.claimed) == (0, 0, 0)
    assert len(mail.outbox) == 1


def test_bp15_escalations_write_no_ticket_row_yet_the_escalated_view_and_history_follow(
    desk, escalations, django_capture_on_commit_callbacks
):
    """The ticket's level lives on its clocks: the sweep locks the tickets but updates none
    (an update of the desk's widest table was half the sweep's database time), while the
    "escalated" view lists the ticket and its history shows the level rise, then stop rising
    when a second clock reaches a lower level."""
    from helpdesk.tickets.selectors import view_filter

    for level in (1, 2):
        escalations.level(level)
    ticket, calm = _ticket(desk), _ticket(desk)
    escalations.plant(ticket, due_at=past(), levels=(1, 2))
    with (
        CaptureQueriesContext(connection) as captured,
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert sla_sweep.sweep(wake=False).fired == 2
    writes = [q["sql"] for q in captured if q["sql"].startswith("UPDATE")]
    assert writes and not [sql for sql in writes if '"tickets_ticket"' in sql.split("SET")[0]]
    view = Ticket.objects.filter(view_filter("escalated", desk.admin, timezone.now()))
    assert list(view) == [ticket] and level_of(calm) == 0
    changes = sorted(
        (h.changes["sla_escalation"][1], h.changes.get("escalation_level"))
        for h in TicketHistory.objects.filter(ticket=ticket, action="escalated")
    )
    assert changes == [("resolution:1", None), ("resolution:2", [0, 2])]


def test_bp15_a_batchs_mail_makes_as_many_statements_for_six_tickets_as_for_two(
    desk, escalations, django_capture_on_commit_callbacks
):
    """The mail reads its tickets' people and settings once a batch, never once a ticket
    (it reads the tickets with only the fields it says: one it needs and skips would show
    here as a statement a ticket), and every ticket's mail names its own contact."""
    from customers.models import Contact

    escalations.level(1)
    owners = [desk.agent.user, desk.admin.user, desk.restricted.user]

    def run(count: int) -> int:
        mail.outbox = []
        for n in range(count):
            contact = Contact.objects.create(
                org=desk.org, last_name=f"Contact{count}x{n}", email=f"c{count}x{n}@umbrella.test"
            )
            ticket = _ticket(desk, contact=contact, owner=owners[n % 3], subject=f"T{count}x{n}")
            escalations.plant(ticket, due_at=past())
        with (
            CaptureQueriesContext(connection) as captured,
            django_capture_on_commit_callbacks(execute=True),
        ):
            assert sla_sweep.sweep(wake=False).fired == count
        assert len(mail.outbox) == count
        return len(captured)

    assert run(2) == run(6)
    escalations.template.body = "{{contact.name}} / {{owner.name}} / {{ticket.status}}"
    escalations.template.save()
    run(3)
    bodies = sorted(m.body for m in mail.outbox)
    assert [b.split(" / ")[0] for b in bodies] == [f"Contact3x{n}" for n in range(3)]


def test_bp15_mail_fills_the_sla_placeholders_in_the_readers_language_and_time_zone(
    desk,
    escalations,
    django_capture_on_commit_callbacks,
):
    bob = desk.agent.user
    bob.language, bob.time_zone = "en", "Europe/London"
    bob.save(update_fields=["language", "time_zone"])
    ada = desk.other_agent.user
    ada.language, ada.time_zone = "ja", ""  # the organization's zone: Asia/Tokyo
    ada.save(update_fields=["language", "time_zone"])
    escalations.level(1, users=[ada])
    ticket = _ticket(desk, subject="Printer <b>on fire</b>")
    due = timezone.now().replace(second=0, microsecond=0) - dt.timedelta(minutes=75)
    escalations.plant(ticket, due_at=due)
    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep.sweep(wake=False)
    by_to = {m.to[0]: m for m in mail.outbox}
    english = by_to["bob@acme.test"]
    assert english.subject == f"[Resolution L1] #{ticket.number} Printer <b>on fire</b>"
    london = due.astimezone(zoneinfo.ZoneInfo("Europe/London"))
    assert f"is due {london:%Y-%m-%d %H:%M}: Overdue by 1 hour 15 minutes." in english.body
    assert english.body.endswith(f"/acme/desk/tickets/{ticket.number}/")
    assert english.extra_headers["X-Madoguchi-Escalation"].endswith(":1:1")
    html = english.alternatives[0][0]
    assert "Printer &lt;b&gt;on fire&lt;/b&gt;" in html and "<b>on" not in html
    japanese = by_to["ada@acme.test"]
    tokyo = due.astimezone(zoneinfo.ZoneInfo("Asia/Tokyo"))
    assert f"is due {tokyo:%Y-%m-%d %H:%M}: 1時間 15分超過" in japanese.body


def test_bp15_recipients_users_teams_roles_owner_and_manager_each_once(
    desk,
    escalations,
    django_capture_on_commit_callbacks,
):
    team = TeamFactory(org=desk.org, department=desk.department)
    carol = desk.org and Membership.objects.create(
        org=desk.org, user=UserFactory(email="carol@acme.test"), desk_role="agent"
    )
    TeamMember.objects.create(org=desk.org, team=team, user=carol.user)
    TeamMember.objects.create(org=desk.org, team=team, user=desk.agent.user)  # also the owner
    manager = None
    if hasattr(Membership, "reports_to"):
        desk.agent.reports_to = desk.admin
        desk.agent.save(update_fields=["reports_to"])
        manager = desk.admin.user.email
    escalations.level(
        1, users=[desk.other_agent.user], teams=[team], roles=["restricted"], manager=True
    )
    ticket = _ticket(desk)
    escalations.plant(ticket, due_at=past())
    with django_capture_on_commit_callbacks(execute=True):
        sla_sweep.sweep(wake=False)
    sent = sorted(m.to[0] for m in mail.outbox)
    expected = {"bob@acme.test", "ada@acme.test", "carol@acme.test", "rita@acme.test"}
    if manager:
        expected.add(manager)
    assert sent == sorted(expected)


def test_bp15_a_stopped_or_paused_clock_fires_nothing(
    desk,
    escalations,
    django_capture_on_commit_callbacks,
):
    escalations.level(1)
    stopped = escalations.plant(_ticket(desk), due_at=past())
    paused = escalations.plant(_ticket(desk), due_at=past())
    Clock.objects.filter(pk=stopped.pk).update(stopped_at=timezone.now(), met=True)
    Clock.objects.filter(pk=paused.pk).update(paused_at=timezone.now())
    with django_capture_on_commit_callbacks(execute=True):
        result = sla_sweep.sweep(wake=False)
    assert (result.fired, result.dropped) == (0, 2)
    assert not EscalationFired.objects.exists() and mail.outbox == []
    assert Clock.objects.filter(level_reached__gt=0).count() == 0


def test_bp15_not_yet_due_rows_wait_and_get_a_wakeup(
    desk,
    escalations,
    django_capture_on_commit_callbacks,
):
    escalations.level(1)
    escalations.plant(_ticket(desk), due_at=timezone.now() + dt.timedelta(seconds=2))
    result = sla_sweep.sweep(wake=False)
    assert (result.fired, result.claimed) == (0, 0)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        result = sla_sweep.sweep()
    assert result.wakeup is not None and len(callbacks) == 1  # the wake-up, after commit
    # A second wake-up for the same second takes the next second; a third is not needed.
    with django_capture_on_commit_callbacks(execute=False) as more:
        assert schedule_wakeup(result.wakeup) is True
        assert schedule_wakeup(result.wakeup) is False
    assert len(more) == 1


def test_bp15_a_lost_claim_is_claimed_again_and_mailed_once(
    desk,
    escalations,
    settings,
    django_capture_on_commit_callbacks,
):
    """The sweep claimed and committed, but its mail task never ran (a worker died): after the
    claim timeout the next sweep hands the mail off again; it is sent once, and a late copy of
    the first task sends nothing."""
    escalations.level(1)
    ticket = _ticket(desk)
    escalations.plant(ticket, due_at=past())
    with django_capture_on_commit_callbacks(execute=False):  # the hand-off is lost
        first = sla_sweep.sweep(wake=False)
    assert (first.fired, first.handed_off) == (1, 1)
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep.sweep(wake=False).claimed == 0  # claimed, not yet timed out
    settings.SLA_CLAIM_TIMEOUT_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=True):
        second = sla_sweep.sweep(wake=False)
    assert (second.fired, second.handed_off) == (0, 1)  # re-claimed, not fired again
    assert len(mail.outbox) == 1
    assert escalation_mail_send(org_id=desk.org.id, ledger_ids=first.ledger_ids) == 0
    assert len(mail.outbox) == 1
    assert TicketHistory.objects.filter(ticket=ticket, action="escalated").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep.sweep(wake=False).claimed == 0  # confirmed: done


def test_bp15_levels_raise_the_ticket_to_the_highest(
    desk,
    escalations,
    django_capture_on_commit_callbacks,
):
    for level in (1, 2, 3):
        escalations.level(level)
    ticket = _ticket(desk)
    escalations.plant(ticket, due_at=past(), levels=(1, 2))
    with django_capture_on_commit_callbacks(execute=True):
        assert sla_sweep.sweep(wake=False).fired == 2
    assert level_of(ticket) == 2
    assert len(mail.outbox) == 2
    levels = sorted(m.extra_headers["X-Madoguchi-Escalation"][-1] for m in mail.outbox)
    assert levels == ["1", "2"]


def test_bp15_a_ticket_leaving_the_state_just_before_the_due_time_fires_nothing(
    sla, make, now, django_capture_on_commit_callbacks
):
    """Two tickets enter a state with a 30-minute SLA; one leaves one second before the level
    falls due. The sweep after the due time fires and mails the one that stayed, only."""
    from blueprints import engine

    blueprint, states = make.blueprint(statuses=("Open", "Waiting"))
    wait = make.transition(blueprint, "Wait", states["Waiting"], [states["Open"]])
    back = make.transition(blueprint, "Back", states["Open"], [states["Waiting"]])
    waiting = sla.state_sla(states["Waiting"], minutes=30)
    sla.level(waiting, target="state", level=1)
    leaves = sla.desk.ticket(owner=sla.desk.agent.user, subject="Leaves")
    stays = sla.desk.ticket(owner=sla.desk.agent.user, subject="Stays")
    for ticket in (leaves, stays):
        engine.complete_transition(ticket=ticket, transition=wait, membership=sla.desk.agent)
    now.advance(minutes=29, seconds=59)
    leaves.refresh_from_db()
    engine.complete_transition(ticket=leaves, transition=back, membership=sla.desk.agent)
    now.advance(seconds=2)
    with django_capture_on_commit_callbacks(execute=True):
        result = sla_sweep.sweep(wake=False)
    assert result.fired == 1
    assert [m.subject for m in mail.outbox if "X-Madoguchi-Escalation" in m.extra_headers] == [
        f"Escalation #{stays.number}"
    ]
    assert not EscalationFired.objects.filter(ticket=leaves).exists()
    assert (level_of(leaves), level_of(stays)) == (0, 1)


def test_bp15_a_sweep_reads_each_history_listeners_settings_once_for_its_rows(
    desk, escalations, monkeypatch, django_capture_on_commit_callbacks
):
    """The escalations' history rows are written at once (`history_record_many`) and their
    listeners told inside one pipeline batch: the organization's webhook subscriptions and
    the CRMs syncing with its desk are read once for the sweep's rows, not once a row."""
    from api.webhooks import services as webhook_services
    from crmsync import signals

    reads = {"webhook events": 0, "crm integrations": 0}
    events, integrations = webhook_services._subscribed_events, signals.desk_integrations

    def counted_events(org_id):
        reads["webhook events"] += 1
        return events(org_id)

    def counted_integrations(org_id):
        reads["crm integrations"] += 1
        return integrations(org_id)

    monkeypatch.setattr(webhook_services, "_subscribed_events", counted_events)
    monkeypatch.setattr(signals, "desk_integrations", counted_integrations)
    escalations.level(1)
    for _ in range(3):
        escalations.plant(_ticket(desk), due_at=past(90))
    reads.update({"webhook events": 0, "crm integrations": 0})  # not the tickets' creation
    with django_capture_on_commit_callbacks(execute=True):
        result = sla_sweep.sweep(wake=False)
    assert result.fired == 3
    assert TicketHistory.objects.filter(action="escalated").count() == 3
    assert reads == {"webhook events": 1, "crm integrations": 1}
