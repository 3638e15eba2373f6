"""TKT-04 approvals: request, approve, reject, withdraw; the rule (all must approve, one
rejection rejects); mails in the recipient's language; the approver's pending list."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError

from helpdesk.tenancy.guards import OtherOrganizationError
from helpdesk.tickets.collab.models import ApprovalStatus, ShareLevel
from helpdesk.tickets.collab.services.approvals import (
    approval_candidates,
    approval_decide,
    approval_request,
    approval_withdraw,
    pending_for,
)
from helpdesk.tickets.collab.services.shares import ticket_share
from helpdesk.tickets.models import TicketHistory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(desk):
    return desk.ticket()


def _request(desk, ticket, *approvers, note="Refund 30,000 yen?"):
    return approval_request(
        actor=desk.agent,
        ticket=ticket,
        approvers=[m.user for m in approvers],
        note=note,
        ip="198.51.100.7",
    )


def test_tkt04_request_mails_each_approver_and_writes_history(
    desk, ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        approval = _request(desk, ticket, desk.admin, desk.restricted)
    assert approval.status == ApprovalStatus.PENDING
    assert sorted(m.to[0] for m in mail.outbox) == ["alice@acme.test", "rita@acme.test"]
    assert "Refund 30,000 yen?" in mail.outbox[0].body
    assert "approval is requested" in mail.outbox[0].subject
    row = TicketHistory.objects.for_org(desk.org).filter(action="approval_requested").get()
    assert row.actor == desk.agent.user and row.ip_address == "198.51.100.7"
    assert row.changes["note"] == [None, "Refund 30,000 yen?"]


def test_tkt04_mail_is_in_the_approvers_language(desk, ticket, django_capture_on_commit_callbacks):
    desk.restricted.user.language = "ja"
    desk.restricted.user.save(update_fields=["language"])
    with django_capture_on_commit_callbacks(execute=True):
        _request(desk, ticket, desk.restricted)
    (message,) = mail.outbox
    assert "承認" in message.subject


def test_tkt04_all_must_approve(desk, ticket, django_capture_on_commit_callbacks):
    approval = _request(desk, ticket, desk.admin, desk.restricted)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approval = approval_decide(actor=desk.admin, approval=approval, approve=True)
    assert approval.status == ApprovalStatus.PENDING  # one of two
    assert [m.to for m in mail.outbox] == [["bob@acme.test"]]  # the requester hears
    assert "approved your request" in mail.outbox[0].subject
    approval = approval_decide(actor=desk.restricted, approval=approval, approve=True, comment="ok")
    assert approval.status == ApprovalStatus.APPROVED and approval.decided_at is not None
    assert pending_for(member=desk.restricted).count() == 0


def test_tkt04_one_rejection_rejects_and_closes_it_for_the_others(
    desk, ticket, django_capture_on_commit_callbacks
):
    approval = _request(desk, ticket, desk.admin, desk.restricted)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approval = approval_decide(
            actor=desk.restricted, approval=approval, approve=False, comment="Too much"
        )
    assert approval.status == ApprovalStatus.REJECTED
    recipients = sorted(m.to[0] for m in mail.outbox)
    assert recipients == [
        "alice@acme.test",
        "bob@acme.test",
    ]  # the requester; Alice need not answer
    with pytest.raises(ValidationError, match="already rejected"):
        approval_decide(actor=desk.admin, approval=approval, approve=True)
    row = TicketHistory.objects.for_org(desk.org).filter(action="approval_rejected").get()
    assert row.changes["comment"] == [None, "Too much"]


def test_tkt04_rejecting_needs_a_comment_and_answers_once(desk, ticket):
    approval = _request(desk, ticket, desk.admin, desk.restricted)
    with pytest.raises(ValidationError) as exc:
        approval_decide(actor=desk.admin, approval=approval, approve=False, comment=" ")
    assert "Say why" in str(exc.value)
    approval_decide(actor=desk.admin, approval=approval, approve=True)
    with pytest.raises(ValidationError, match="already answered"):
        approval_decide(actor=desk.admin, approval=approval, approve=True)


def test_tkt04_only_approvers_answer(desk, ticket):
    approval = _request(desk, ticket, desk.admin)
    with pytest.raises(PermissionDenied, match="not asked"):
        approval_decide(actor=desk.restricted, approval=approval, approve=True)


def test_tkt04_withdraw_by_the_requester_only(desk, ticket, django_capture_on_commit_callbacks):
    approval = _request(desk, ticket, desk.admin, desk.restricted)
    approval_decide(actor=desk.admin, approval=approval, approve=True)
    with pytest.raises(PermissionDenied, match="Only the person"):
        approval_withdraw(actor=desk.admin, approval=approval)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        approval = approval_withdraw(actor=desk.agent, approval=approval)
    assert approval.status == ApprovalStatus.WITHDRAWN
    assert [m.to for m in mail.outbox] == [["rita@acme.test"]]  # who had not answered
    assert "withdrawn" in mail.outbox[0].subject
    with pytest.raises(ValidationError, match="already withdrawn"):
        approval_withdraw(actor=desk.agent, approval=approval)
    with pytest.raises(ValidationError):
        approval_decide(actor=desk.restricted, approval=approval, approve=True)


def test_tkt04_request_validation_names_each_problem(desk, ticket):
    with pytest.raises(ValidationError) as exc:
        approval_request(actor=desk.agent, ticket=ticket, approvers=[], note="")
    assert set(exc.value.message_dict) == {"note", "approvers"}
    with pytest.raises(ValidationError) as exc:
        _request(desk, ticket, desk.agent, desk.other_agent)
    messages = exc.value.message_dict["approvers"]
    assert "You cannot approve your own request." in messages
    assert "Ada cannot see this ticket, so cannot approve it." in messages


def test_tkt04_shared_department_agents_may_approve(desk, ticket):
    ticket_share(
        actor=desk.admin,
        ticket=ticket,
        department=desk.other_department,
        level=ShareLevel.READ_ONLY,
    )
    assert desk.other_agent.user_id in {m.user_id for m in approval_candidates(ticket=ticket)}
    approval = _request(desk, ticket, desk.other_agent)
    approval = approval_decide(actor=desk.other_agent, approval=approval, approve=True)
    assert approval.status == ApprovalStatus.APPROVED


def test_tkt04_restricted_agents_and_muted_inactive_members(
    desk, ticket, django_capture_on_commit_callbacks
):
    with pytest.raises(PermissionDenied):
        approval_request(
            actor=desk.restricted, ticket=ticket, approvers=[desk.admin.user], note="x"
        )
    desk.restricted.status = "deactivated"
    desk.restricted.save(update_fields=["status"])
    assert desk.restricted.user_id not in {m.user_id for m in approval_candidates(ticket=ticket)}


def test_tkt04_pending_list_is_the_approvers(desk, ticket):
    approval = _request(desk, ticket, desk.admin)
    assert [d.approval for d in pending_for(member=desk.admin)] == [approval]
    assert list(pending_for(member=desk.restricted)) == []


def test_tkt04_other_organizations_objects_are_refused(desk, ticket, globex):
    approval = _request(desk, ticket, desk.admin)
    globex.admin.org = globex.org
    with pytest.raises(OtherOrganizationError):
        approval_request(actor=globex.admin, ticket=ticket, approvers=[desk.admin.user], note="x")
    with pytest.raises(OtherOrganizationError):
        approval_decide(actor=globex.admin, approval=approval, approve=True)
    with pytest.raises(OtherOrganizationError):
        approval_withdraw(actor=globex.admin, approval=approval)
