"""The ticket page's services (TKT-01, TKT-05, TKT-06): tags, followers and their mail,
merging, presence, neighbours in the list, the customer's other tickets."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from helpdesk.tickets.models import (
    Attachment,
    Tag,
    Thread,
    TicketFollower,
    TicketHistory,
    TicketMailAlias,
    TicketTag,
)
from helpdesk.tickets.selectors import ticket_queryset
from helpdesk.tickets.services.followers import ticket_follow, ticket_unfollow
from helpdesk.tickets.services.mail import thread_mail_send
from helpdesk.tickets.services.merge import merged_into, ticket_for_message_ids, ticket_merge
from helpdesk.tickets.services.presence import presence_report
from helpdesk.tickets.services.tags import tags_suggest, ticket_tag_add, ticket_tag_remove
from helpdesk.tickets.services.threads import thread_add
from helpdesk.tickets.services.tickets import TicketInput, ticket_update, tickets_bulk_update
from helpdesk.tickets.ticket_page import customer_recent_tickets, ticket_neighbours


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# --- Tags ------------------------------------------------------------------------------------
def test_tkt01_tags_are_added_once_per_name_and_written_to_history(desk):
    ticket = desk.ticket()
    tag = ticket_tag_add(actor=desk.agent, ticket=ticket, name="  VIP  customer ")
    assert tag.name == "VIP customer"
    assert ticket_tag_add(actor=desk.agent, ticket=ticket, name="vip CUSTOMER") is None
    assert Tag.objects.for_org(desk.org).count() == 1
    other = desk.ticket(subject="Second")
    assert ticket_tag_add(actor=desk.agent, ticket=other, name="vip customer") == tag
    assert ticket_tag_remove(actor=desk.agent, ticket=ticket, tag=tag) is True
    actions = list(
        TicketHistory.objects.for_org(desk.org)
        .filter(ticket=ticket, action__startswith="tag_")
        .values_list("action", "changes")
    )
    assert actions == [
        ("tag_added", {"tags": [None, "VIP customer"]}),
        ("tag_removed", {"tags": ["VIP customer", None]}),
    ]


def test_tkt01_tag_names_are_checked(desk):
    ticket = desk.ticket()
    for bad in ("", "   ", "a,b", "x" * 51):
        with pytest.raises(ValidationError):
            ticket_tag_add(actor=desk.agent, ticket=ticket, name=bad)


def test_tkt01_restricted_agents_cannot_tag(desk):
    ticket = desk.ticket()
    with pytest.raises(PermissionDenied):
        ticket_tag_add(actor=desk.restricted, ticket=ticket, name="vip")


def test_tkt01_tags_refuse_another_organizations_ticket(desk, globex):
    ticket = desk.ticket()
    globex.admin.org = globex.org
    with pytest.raises(PermissionDenied):
        ticket_tag_add(actor=globex.admin, ticket=ticket, name="vip")


def test_tkt01_tag_suggestions_start_with_the_prefix_in_the_organization(desk, globex):
    ticket = desk.ticket()
    for name in ("billing", "Bug", "urgent"):
        ticket_tag_add(actor=desk.agent, ticket=ticket, name=name)
    Tag.objects.create(org=globex.org, name="bigsecret")
    assert tags_suggest(org=desk.org, prefix="b") == ["billing", "Bug"]
    assert tags_suggest(org=desk.org, prefix="") == ["billing", "Bug", "urgent"]


def test_tkt06_the_list_selector_filters_by_tag(desk):
    tagged, untagged = desk.ticket(subject="Tagged"), desk.ticket(subject="Plain")
    ticket_tag_add(actor=desk.agent, ticket=tagged, name="Refund")
    numbers = set(ticket_queryset(desk.admin, {"tag": "refund"}).values_list("number", flat=True))
    assert numbers == {tagged.number}
    assert untagged.number not in numbers


# --- Followers -------------------------------------------------------------------------------
def _follower_mails():
    return [m for m in mail.outbox if "follow this ticket" in m.body]


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """`committed(fn, ...)`: call a service and run what it enqueued on commit (the mails)."""

    def run(fn, *args, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return run


def test_tkt01_followers_get_one_mail_per_event_and_never_for_their_own(desk, committed):
    ticket = desk.ticket()
    ticket_follow(actor=desk.agent, ticket=ticket)
    ticket_follow(actor=desk.admin, ticket=ticket)
    assert ticket_follow(actor=desk.agent, ticket=ticket) is False  # once is enough
    mail.outbox.clear()

    with pytest.raises(Exception):  # noqa: B017 - a refused entry mails nobody
        committed(thread_add, actor=desk.agent, ticket=ticket, kind="reply", body="")
    committed(
        thread_add, actor=desk.agent, ticket=ticket, kind="comment", body="Checked the printer"
    )
    mails = _follower_mails()
    # Bob wrote it: only Alice hears of it, once.
    assert [m.to for m in mails] == [[desk.admin.user.email]]
    assert "Checked the printer" in mails[0].body
    assert f"[#{ticket.number}]" in mails[0].subject

    mail.outbox.clear()
    committed(
        ticket_update,
        actor=desk.admin,
        ticket=ticket,
        data=TicketInput(status=desk.status("Closed")),
    )
    mails = _follower_mails()
    assert [m.to for m in mails] == [[desk.agent.user.email]]
    assert "Open" in mails[0].body and "Closed" in mails[0].body

    mail.outbox.clear()
    committed(ticket_update, actor=desk.admin, ticket=ticket, data=TicketInput(priority="high"))
    assert _follower_mails() == []  # not a status change

    ticket_unfollow(actor=desk.agent, ticket=ticket)
    committed(
        ticket_update, actor=desk.admin, ticket=ticket, data=TicketInput(status=desk.status("Open"))
    )
    assert _follower_mails() == []


def test_tkt01_a_change_enqueues_no_follower_task_when_nobody_else_follows(
    desk, django_capture_on_commit_callbacks
):
    """Most tickets have no followers: their changes enqueue no task (it would find nobody),
    nor when the only follower is the one making the change; one follower more, one task."""
    ticket = desk.ticket()

    def callbacks(actor):
        with django_capture_on_commit_callbacks() as found:
            ticket_update(
                actor=actor, ticket=ticket, data=TicketInput(status=desk.status("Closed"))
            )
        ticket_update(actor=actor, ticket=ticket, data=TicketInput(status=desk.status("Open")))
        return [c for c in found if "followers_notify" in getattr(c, "__qualname__", "")]

    assert callbacks(desk.admin) == []
    ticket_follow(actor=desk.admin, ticket=ticket)
    assert callbacks(desk.admin) == []  # nobody hears of what they did themselves
    ticket_follow(actor=desk.agent, ticket=ticket)
    assert len(callbacks(desk.admin)) == 1


def test_tkt06_a_bulk_change_reads_the_followers_once_and_mails_them(desk, committed):
    """A bulk change knows every ticket's followers from one query; the followed ticket's
    followers still hear of it, the others enqueue nothing."""
    followed, alone = desk.ticket(subject="Followed"), desk.ticket(subject="Alone")
    ticket_follow(actor=desk.agent, ticket=followed)
    mail.outbox.clear()
    with CaptureQueriesContext(connection) as queries:
        committed(
            tickets_bulk_update,
            actor=desk.admin,
            numbers=[followed.number, alone.number],
            action="close",
        )
    reads = [q["sql"] for q in queries.captured_queries if "tickets_ticketfollower" in q["sql"]]
    # The read ahead comes first; no ticket asks again (the mail task reads its own after).
    assert reads[0].startswith('SELECT "tickets_ticketfollower"."ticket_id"')
    assert not any("IS DISTINCT FROM" in sql for sql in reads)
    mails = _follower_mails()
    assert [m.to for m in mails] == [[desk.agent.user.email]]
    assert f"[#{followed.number}]" in mails[0].subject


def test_tkt01_a_follower_mail_is_sent_once_even_if_its_task_runs_twice(desk, committed):
    from helpdesk.tickets.services.follower_mail import follower_mail_send

    ticket = desk.ticket()
    ticket_follow(actor=desk.agent, ticket=ticket)
    thread = committed(thread_add, actor=desk.admin, ticket=ticket, kind="comment", body="Once")
    assert len(_follower_mails()) == 1
    again = follower_mail_send(
        org_id=desk.org.pk, event="thread", object_id=thread.pk, user_id=desk.agent.user_id
    )
    assert again is False and len(_follower_mails()) == 1


def test_tkt01_followers_who_muted_the_event_or_lost_access_get_nothing(desk, committed):
    ticket = desk.ticket()
    ticket_follow(actor=desk.agent, ticket=ticket)
    ticket_follow(actor=desk.other_agent, ticket=desk.ticket(department=desk.other_department))
    desk.agent.muted_mail_events = ["followed_reply"]
    desk.agent.save(update_fields=["muted_mail_events"])
    mail.outbox.clear()
    committed(thread_add, actor=desk.admin, ticket=ticket, kind="comment", body="Quiet")
    assert _follower_mails() == []
    # Ada follows a Billing ticket; it moves to Bob's department, which she cannot see.
    billing = TicketFollower.objects.for_org(desk.org).get(user=desk.other_agent.user).ticket
    committed(
        ticket_update,
        actor=desk.admin,
        ticket=billing,
        data=TicketInput(department=desk.department, status=desk.status("Closed")),
    )
    assert _follower_mails() == []


# --- Merge -----------------------------------------------------------------------------------
def test_tkt01_merge_moves_everything_and_both_histories_say_so(desk):
    source = desk.ticket(subject="Printer again")
    target = desk.ticket(subject="Printer on fire")
    reply = thread_add(actor=desk.agent, ticket=source, kind="reply", body="We are on it")
    thread_mail_send(org_id=desk.org.pk, thread_id=reply.pk)
    reply.refresh_from_db()
    thread_add(
        actor=desk.agent,
        ticket=source,
        kind="comment",
        body="note",
        files=[SimpleUploadedFile("log.txt", b"paper jam")],
    )
    ticket_tag_add(actor=desk.agent, ticket=source, name="printer")
    ticket_tag_add(actor=desk.agent, ticket=target, name="printer")
    ticket_tag_add(actor=desk.agent, ticket=source, name="hardware")
    ticket_follow(actor=desk.agent, ticket=source)
    source_history = set(
        TicketHistory.objects.for_org(desk.org).filter(ticket=source).values_list("pk", flat=True)
    )

    merging_at = timezone.now()
    assert ticket_merge(actor=desk.admin, source=source, target=target, ip="198.51.100.7") == target

    org = desk.org
    assert Thread.objects.for_org(org).filter(ticket=source).count() == 0
    assert Thread.objects.for_org(org).filter(ticket=target).count() == 2
    assert Attachment.objects.for_org(org).filter(ticket=target).get().name == "log.txt"
    moved = TicketHistory.objects.for_org(org).filter(pk__in=source_history)
    assert set(moved.values_list("ticket_id", flat=True)) == {target.pk}
    assert set(
        TicketTag.objects.for_org(org).filter(ticket=target).values_list("tag__name", flat=True)
    ) == {"printer", "hardware"}
    assert TicketFollower.objects.for_org(org).filter(ticket=target, user=desk.agent.user).exists()
    source_rows = TicketHistory.objects.for_org(org).filter(ticket=source)
    assert [(h.action, h.ip_address) for h in source_rows] == [("merged_into", "198.51.100.7")]
    assert source_rows[0].changes["merged_into"][1].startswith(f"#{target.number} ")
    assert source_rows[0].changes["status"] == ["Open", "Closed"]
    target_row = TicketHistory.objects.for_org(org).filter(ticket=target).latest("pk")
    assert target_row.action == "merged_from"
    assert target_row.changes["merged_from"][1].startswith(f"#{source.number} ")
    source.refresh_from_db()
    assert source.is_closed and merged_into(source) == target
    # The merge is the latest activity on both (the list's last-activity sort).
    target.refresh_from_db()
    assert target.last_activity_at >= merging_at and source.last_activity_at >= merging_at
    # Mail threading: the source's Message-ID still leads to the target.
    assert ticket_for_message_ids(org=org, message_ids=[reply.message_id]) == target
    assert (
        TicketMailAlias.objects.for_org(org)
        .filter(ticket=target, message_id=reply.message_id)
        .exists()
    )
    # A reply on the target threads after the source's message.
    later = thread_add(actor=desk.agent, ticket=target, kind="reply", body="Fixed")
    thread_mail_send(org_id=org.pk, thread_id=later.pk)
    later.refresh_from_db()
    assert reply.message_id in later.references.split()


def test_tkt01_merge_refuses_self_cross_org_twice_and_roles(desk, globex):
    source, target = desk.ticket(), desk.ticket()
    with pytest.raises(ValidationError):
        ticket_merge(actor=desk.admin, source=source, target=source)
    globex.admin.org = globex.org
    from helpdesk.tickets.services.tickets import ticket_create

    foreign = ticket_create(
        actor=globex.admin, data=TicketInput(subject="Theirs", department=globex.department)
    )
    with pytest.raises(PermissionDenied):
        ticket_merge(actor=desk.admin, source=source, target=foreign)
    with pytest.raises(PermissionDenied):
        ticket_merge(actor=globex.admin, source=source, target=target)
    with pytest.raises(PermissionDenied):
        ticket_merge(actor=desk.restricted, source=source, target=target)
    assert Thread.objects.for_org(globex.org).count() == 0
    ticket_merge(actor=desk.admin, source=source, target=target)
    with pytest.raises(ValidationError):
        ticket_merge(actor=desk.admin, source=source, target=target)
    third = desk.ticket()
    with pytest.raises(ValidationError):  # the source is merged: it cannot take others
        ticket_merge(actor=desk.admin, source=third, target=source)


def test_tkt01_merging_the_target_later_keeps_earlier_merges_pointing_at_the_end(desk):
    a, b, c = desk.ticket(), desk.ticket(), desk.ticket()
    ticket_merge(actor=desk.admin, source=a, target=b)
    ticket_merge(actor=desk.admin, source=b, target=c)
    assert merged_into(a) == c and merged_into(b) == c


# --- Presence --------------------------------------------------------------------------------
def test_tkt01_presence_reports_the_others_and_who_is_writing(desk):
    ticket = desk.ticket()
    assert presence_report(ticket=ticket, user=desk.agent.user, writing=False) == []
    seen = presence_report(ticket=ticket, user=desk.admin.user, writing=True)
    assert [(p.user_id, p.writing) for p in seen] == [(desk.agent.user_id, False)]
    seen = presence_report(ticket=ticket, user=desk.agent.user, writing=False)
    assert [(p.name, p.writing) for p in seen] == [(desk.admin.user.display_name, True)]
    other = desk.ticket()
    assert presence_report(ticket=other, user=desk.agent.user, writing=False) == []


# --- Neighbours and the customer panel -------------------------------------------------------
def test_tkt06_neighbours_follow_the_lists_filter_and_order(desk):
    t1 = desk.ticket(subject="One", priority="low")
    t2 = desk.ticket(subject="Two", priority="urgent")
    t3 = desk.ticket(subject="Three", priority="low", status=desk.status("Closed"))
    t4 = desk.ticket(subject="Four", priority="high")
    # Newest first: 4, 3, 2, 1.
    around = ticket_neighbours(desk.admin, t2, "view=all")
    assert (around.previous, around.next) == (t3.number, t1.number)
    # Open tickets by priority: 2 (urgent), 4 (high), 1 (low).
    around = ticket_neighbours(desk.admin, t4, "view=open&sort=-priority&page=3")
    assert (around.previous, around.next) == (t2.number, t1.number)
    assert around.list_query == "view=open&sort=-priority"
    first = ticket_neighbours(desk.admin, t2, "view=open&sort=-priority")
    assert first.previous is None and first.next == t4.number
    # Due date ascending, no due dates: the id breaks the tie.
    around = ticket_neighbours(desk.admin, t2, "sort=due")
    assert (around.previous, around.next) == (t1.number, t3.number)
    assert ticket_neighbours(desk.admin, t2, "sort=nonsense") is None


def test_tkt06_neighbours_by_due_date_put_tickets_without_one_last(desk):
    import datetime as dt

    from django.utils import timezone

    soon = timezone.now() + dt.timedelta(days=1)
    t1 = desk.ticket(subject="Soon", due_at=soon)
    t2 = desk.ticket(subject="No date")
    t3 = desk.ticket(subject="Later", due_at=soon + dt.timedelta(days=1))
    t4 = desk.ticket(subject="No date either")
    # Due date ascending, NULLs last, then by id: 1, 3, 2, 4.
    expected = {t1: (None, t3), t3: (t1, t2), t2: (t3, t4), t4: (t2, None)}
    for ticket, (before, after) in expected.items():
        around = ticket_neighbours(desk.admin, ticket, "sort=due")
        assert (around.previous, around.next) == (
            before.number if before else None,
            after.number if after else None,
        ), ticket.subject


def test_tkt06_neighbours_cost_a_fixed_number_of_queries(desk, django_assert_max_num_queries):
    tickets = [desk.ticket(subject=f"T{n}") for n in range(6)]
    with django_assert_max_num_queries(3):
        ticket_neighbours(desk.admin, tickets[3], "view=all&sort=-priority")


def test_cus10_customer_panel_lists_other_recent_tickets_the_member_sees(desk):
    current = desk.ticket(subject="Now")
    older = desk.ticket(subject="Before")
    desk.ticket(subject="Billing's", department=desk.other_department)
    from customers.models import Contact

    colleague = Contact.objects.create(
        org=desk.org, last_name="Sato", email="sato@umbrella.test", account=desk.account
    )
    same_account = desk.ticket(subject="Colleague's", contact=colleague)
    contact, account = customer_recent_tickets(desk.agent, current)
    assert [t.number for t in contact] == [older.number]  # Billing's is not Bob's department
    assert [t.number for t in account] == [same_account.number]
    assert contact[0].status == "Open"
