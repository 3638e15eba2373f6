"""TKT-04 sharing a ticket with another department: full, restricted (private comments only)
and read-only access, enforced in the services (not only hidden buttons)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404

from helpdesk.tenancy.guards import OtherOrganizationError
from helpdesk.tickets.collab.models import ShareLevel, TicketShare
from helpdesk.tickets.collab.services.approvals import approval_request
from helpdesk.tickets.collab.services.shares import ticket_share, ticket_unshare
from helpdesk.tickets.collab.services.solutions import solution_save
from helpdesk.tickets.models import Thread, TicketHistory
from helpdesk.tickets.services.access import shared_tickets, ticket_for_member
from helpdesk.tickets.services.tags import ticket_tag_add
from helpdesk.tickets.services.threads import inline_image_add, thread_add
from helpdesk.tickets.services.tickets import TicketInput, ticket_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(desk):
    return desk.ticket()


def _share(desk, ticket, level):
    return ticket_share(
        actor=desk.agent,
        ticket=ticket,
        department=desk.other_department,
        level=level,
        ip="192.0.2.1",
    )


def _as_ada(desk, ticket):
    """The ticket as the other department's agent reads it (the page's way)."""
    return ticket_for_member(desk.other_agent, ticket.number)


def _actions(desk, ticket):
    """Each action a shared department's agent might try, through its service."""
    ada = desk.other_agent
    png = SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    return {
        "reply": lambda t: thread_add(actor=ada, ticket=t, kind="reply", body="Hello"),
        "forward": lambda t: thread_add(
            actor=ada, ticket=t, kind="forward", body="fyi", to="x@example.test"
        ),
        "comment": lambda t: thread_add(actor=ada, ticket=t, kind="comment", body="Note"),
        "attach": lambda t: thread_add(
            actor=ada,
            ticket=t,
            kind="comment",
            body="file",
            files=[SimpleUploadedFile("a.txt", b"x")],
        ),
        "inline image": lambda t: inline_image_add(actor=ada, ticket=t, upload=png),
        "status": lambda t: ticket_update(
            actor=ada, ticket=t, data=TicketInput(status=desk.status("Closed"))
        ),
        "edit": lambda t: ticket_update(actor=ada, ticket=t, data=TicketInput(priority="high")),
        "tag": lambda t: ticket_tag_add(actor=ada, ticket=t, name="vip"),
        "approval": lambda t: approval_request(
            actor=ada, ticket=t, approvers=[desk.admin.user], note="ok?"
        ),
        "solution": lambda t: solution_save(actor=ada, ticket=t, body="Reboot"),
    }


ALLOWED = {
    ShareLevel.FULL: {
        "reply",
        "forward",
        "comment",
        "attach",
        "inline image",
        "status",
        "edit",
        "tag",
        "approval",
        "solution",
    },
    ShareLevel.RESTRICTED: {"comment", "attach", "inline image"},
    ShareLevel.READ_ONLY: set(),
}


@pytest.mark.parametrize("level", list(ShareLevel))
def test_tkt04_each_share_level_allows_and_refuses_in_the_services(
    settings, tmp_path, desk, ticket, level
):
    settings.MEDIA_ROOT = tmp_path
    _share(desk, ticket, level)
    for name, action in _actions(desk, ticket).items():
        shared = _as_ada(desk, ticket)
        if name in ALLOWED[level]:
            action(shared)
        else:
            with pytest.raises(PermissionDenied) as exc:
                action(shared)
            assert "shared with your department" in str(exc.value), name


def test_tkt04_without_a_share_the_other_department_sees_nothing(desk, ticket):
    with pytest.raises(Http404):
        _as_ada(desk, ticket)
    with pytest.raises(Http404):
        thread_add(actor=desk.other_agent, ticket=ticket, kind="comment", body="x")
    assert list(shared_tickets(desk.other_agent)) == []


def test_tkt04_the_widest_level_wins_and_services_reread_it(desk, ticket):
    share = _share(desk, ticket, ShareLevel.READ_ONLY)
    assert list(shared_tickets(desk.other_agent)) == [ticket]
    assert _as_ada(desk, ticket).share_level == ShareLevel.READ_ONLY
    # A ticket object the service did not read through the member: it asks the database.
    with pytest.raises(PermissionDenied):
        thread_add(actor=desk.other_agent, ticket=ticket, kind="comment", body="x")
    _share(desk, ticket, ShareLevel.RESTRICTED)
    fresh = type(ticket).objects.for_org(desk.org).get(pk=ticket.pk)
    thread_add(actor=desk.other_agent, ticket=fresh, kind="comment", body="x")
    ticket_unshare(actor=desk.agent, ticket=ticket, share=TicketShare.objects.get(pk=share.pk))
    with pytest.raises(Http404):
        _as_ada(desk, ticket)


def test_tkt04_full_access_does_not_move_the_ticket_or_take_it(desk, ticket):
    _share(desk, ticket, ShareLevel.FULL)
    shared = _as_ada(desk, ticket)
    with pytest.raises(PermissionDenied, match="own department"):
        ticket_update(
            actor=desk.other_agent,
            ticket=shared,
            data=TicketInput(department=desk.other_department),
        )
    with pytest.raises(ValidationError) as exc:
        ticket_update(
            actor=desk.other_agent, ticket=shared, data=TicketInput(owner=desk.other_agent.user)
        )
    assert "owner" in exc.value.message_dict
    # A restricted agent's role stays comment-only under a full share of their department.
    rita_elsewhere = desk.restricted
    from helpdesk.tenancy.models import DepartmentAgent

    DepartmentAgent.objects.filter(user=rita_elsewhere.user).update(
        department=desk.other_department
    )
    rita_elsewhere.__dict__.pop("_department_ids", None)
    with pytest.raises(PermissionDenied):
        thread_add(actor=rita_elsewhere, ticket=ticket, kind="reply", body="x")


def test_tkt04_sharing_writes_history_and_is_the_own_departments(desk, ticket):
    share = _share(desk, ticket, ShareLevel.READ_ONLY)
    _share(desk, ticket, ShareLevel.FULL)
    ticket_unshare(actor=desk.agent, ticket=ticket, share=share, ip="192.0.2.1")
    rows = list(
        TicketHistory.objects.for_org(desk.org)
        .filter(action__startswith="share_")
        .order_by("pk")
        .values_list("action", "changes")
    )
    assert rows == [
        ("share_granted", {"shared_with": [None, {"Billing": "read_only"}]}),
        ("share_changed", {"shared_with": [{"Billing": "read_only"}, {"Billing": "full"}]}),
        ("share_revoked", {"shared_with": [{"Billing": "full"}, None]}),
    ]
    # Shown in the reader's language (the history stores keys).
    from django.utils import translation

    from helpdesk.tickets.history_display import value_text

    assert value_text("shared_with", {"Billing": "full"}) == "Billing: Full access"
    with translation.override("ja"):
        assert value_text("shared_with", {"Billing": "read_only"}) == "Billing: 読み取り専用"
        assert value_text("decision", "approved") == "承認済み"
    # A restricted agent may not share; nor may the shared department's agents, even with full
    # access.
    with pytest.raises(PermissionDenied):
        ticket_share(
            actor=desk.restricted, ticket=ticket, department=desk.other_department, level=1
        )
    _share(desk, ticket, ShareLevel.FULL)
    third = type(desk.department).objects.create(org=desk.org, name="Third")
    with pytest.raises(PermissionDenied, match="own department"):
        ticket_share(
            actor=desk.other_agent, ticket=_as_ada(desk, ticket), department=third, level=1
        )


def test_tkt04_share_validation(desk, ticket):
    with pytest.raises(ValidationError) as exc:
        ticket_share(actor=desk.agent, ticket=ticket, department=desk.department, level=9)
    assert set(exc.value.message_dict) == {"department", "level"}


def test_tkt04_other_organizations_department_or_share_is_refused(desk, ticket, globex):
    with pytest.raises(OtherOrganizationError):
        ticket_share(actor=desk.agent, ticket=ticket, department=globex.department, level=1)
    globex.admin.org = globex.org
    with pytest.raises(OtherOrganizationError):
        ticket_share(actor=globex.admin, ticket=ticket, department=globex.department, level=1)
    share = _share(desk, ticket, ShareLevel.FULL)
    with pytest.raises(OtherOrganizationError):
        ticket_unshare(actor=globex.admin, ticket=ticket, share=share)
    assert Thread.objects.for_org(desk.org).count() == 0


def test_tkt04_shared_department_agents_may_follow_while_shared(
    desk, ticket, django_capture_on_commit_callbacks
):
    from django.core import mail

    from helpdesk.tickets.services.followers import ticket_follow

    with pytest.raises(Http404):
        ticket_follow(actor=desk.other_agent, ticket=ticket)
    share = _share(desk, ticket, ShareLevel.READ_ONLY)
    ticket_follow(actor=desk.other_agent, ticket=_as_ada(desk, ticket))
    with django_capture_on_commit_callbacks(execute=True):
        thread_add(actor=desk.agent, ticket=ticket, kind="comment", body="Update")
    assert [m.to for m in mail.outbox] == [["ada@acme.test"]]
    ticket_unshare(actor=desk.agent, ticket=ticket, share=share)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        thread_add(actor=desk.agent, ticket=ticket, kind="comment", body="Secret now")
    assert mail.outbox == []  # no longer shared: no more mail
