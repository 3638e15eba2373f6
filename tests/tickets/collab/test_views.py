"""TKT-04 panels and pages: the ticket page loads them lazily (its query count unchanged),
each panel answers htmx with a fragment and a plain post with a redirect, bad input shows what
to fix, and what a share level forbids is a 403 with the reason."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from helpdesk.tickets.canned.models import CannedResponse
from helpdesk.tickets.collab.models import (
    Approval,
    ApprovalStatus,
    ShareLevel,
    Solution,
    TicketShare,
)
from helpdesk.tickets.collab.services.approvals import approval_request
from helpdesk.tickets.collab.services.shares import ticket_share
from helpdesk.tickets.models import Thread
from tests.conftest import login

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def ticket(desk):
    return desk.ticket()


def _url(name, ticket, **kwargs):
    return reverse(f"desk:{name}", kwargs={"portal": "acme", "number": ticket.number, **kwargs})


def test_tkt04_ticket_page_loads_the_panels_lazily_with_links(client, desk, ticket):
    login(client, desk.agent)
    page = client.get(_url("ticket_detail", ticket)).content.decode()
    for name in ("collab_approvals", "collab_solution", "collab_sharing"):
        url = _url(name, ticket)
        assert f'hx-get="{url}"' in page and f'href="{url}"' in page


def test_tkt04_ticket_page_queries_do_not_grow_with_collab_rows(
    client, desk, ticket, django_assert_max_num_queries
):
    """The panels load on their own: approvals, a solution and shares add no query to the
    page itself."""
    login(client, desk.agent)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as before:
        client.get(_url("ticket_detail", ticket))
    approval_request(actor=desk.agent, ticket=ticket, approvers=[desk.admin.user], note="x")
    ticket_share(actor=desk.agent, ticket=ticket, department=desk.other_department, level=1)
    with CaptureQueriesContext(connection) as after:
        client.get(_url("ticket_detail", ticket))
    assert len(after) == len(before)


def test_tkt04_request_and_approve_through_the_panel(
    client, desk, ticket, django_capture_on_commit_callbacks
):
    login(client, desk.agent)
    panel = client.get(_url("collab_approvals", ticket), **HTMX)
    assert panel.status_code == 200 and b"<html" not in panel.content
    assert b"Alice" not in panel.content or b"Acme Admin" in panel.content
    with django_capture_on_commit_callbacks(execute=True):
        answer = client.post(
            _url("collab_approvals", ticket),
            {"approval-approvers": [desk.admin.user_id], "approval-note": "Refund <b>now</b>?"},
            **HTMX,
        )
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "Approval requested." in body and "Refund &lt;b&gt;now&lt;/b&gt;?" in body
    assert [m.to for m in mail.outbox] == [["alice@acme.test"]]
    approval = Approval.objects.for_org(desk.org).get()
    login(client, desk.admin)
    pending_url = reverse("desk:collab_pending_approvals", kwargs={"portal": "acme"})
    assert client.get(pending_url + "?count=1").content == b"1"  # the dashboard's count
    pending = client.get(pending_url)
    assert f"#{ticket.number}" in pending.content.decode()
    decided = client.post(
        _url("collab_approval_decide", ticket, approval_id=approval.pk),
        {f"decision-{approval.pk}-decision": "approve"},
    )
    assert decided.status_code == 302
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.APPROVED


def test_tkt04_approval_form_errors_are_shown(client, desk, ticket):
    login(client, desk.agent)
    answer = client.post(_url("collab_approvals", ticket), {"approval-note": ""})
    assert answer.status_code == 400
    body = answer.content.decode()
    assert "Choose at least one approver." in body and "Write what should be approved." in body
    answer = client.post(
        _url("collab_approvals", ticket),
        {"approval-approvers": [desk.other_agent.user_id], "approval-note": "x"},
    )
    assert (
        answer.status_code == 400 and "Choose approvers from the list." in answer.content.decode()
    )
    approval = approval_request(
        actor=desk.agent, ticket=ticket, approvers=[desk.admin.user], note="x"
    )
    login(client, desk.admin)
    answer = client.post(
        _url("collab_approval_decide", ticket, approval_id=approval.pk),
        {f"decision-{approval.pk}-decision": "reject", f"decision-{approval.pk}-comment": ""},
        **HTMX,
    )
    assert "Say why you reject it." in answer.content.decode()
    assert Approval.objects.for_org(desk.org).get().status == ApprovalStatus.PENDING


def test_tkt04_withdraw_through_the_panel(client, desk, ticket):
    approval = approval_request(
        actor=desk.agent, ticket=ticket, approvers=[desk.admin.user], note="x"
    )
    login(client, desk.admin)
    assert (
        client.post(_url("collab_approval_withdraw", ticket, approval_id=approval.pk)).status_code
        == 403
    )
    login(client, desk.agent)
    assert (
        client.post(_url("collab_approval_withdraw", ticket, approval_id=approval.pk)).status_code
        == 302
    )
    approval.refresh_from_db()
    assert approval.status == ApprovalStatus.WITHDRAWN


def test_tkt04_solution_edit_and_reuse_through_the_panel(client, desk, ticket):
    login(client, desk.agent)
    empty = client.post(_url("collab_solution", ticket), {"solution-body": " "})
    assert empty.status_code == 400 and "Write the solution." in empty.content.decode()
    saved = client.post(
        _url("collab_solution", ticket),
        {
            "solution-body": "<p>Reboot</p><img src=x onerror=alert(1)>",
            "solution-body_format": "html",
        },
        **HTMX,
    )
    assert "Solution saved." in saved.content.decode()
    assert "onerror" not in Solution.objects.for_org(desk.org).get().body
    # The no-JavaScript page has the editor's textarea with the stored text.
    page = client.get(_url("collab_solution", ticket) + "?edit=1")
    assert page.status_code == 200 and 'name="solution-body"' in page.content.decode()
    # Agents cannot make department canned responses.
    assert (
        client.post(_url("collab_solution_reuse", ticket), {"reuse-title": "R"}).status_code == 403
    )
    login(client, desk.admin)
    missing = client.post(_url("collab_solution_reuse", ticket), {"reuse-title": ""})
    assert missing.status_code == 400
    assert "Give the canned response a title." in missing.content.decode()
    done = client.post(_url("collab_solution_reuse", ticket), {"reuse-title": "Reboot"}, **HTMX)
    assert "Canned response “Reboot” created" in done.content.decode()
    assert CannedResponse.objects.for_org(desk.org).get().body == "Reboot"


def test_tkt04_share_read_only_and_the_other_agent_cannot_reply(client, desk, ticket):
    login(client, desk.agent)
    bad = client.post(_url("collab_sharing", ticket), {"share-department": "x"})
    assert bad.status_code == 400 and "Choose a department from the list." in bad.content.decode()
    own = client.post(
        _url("collab_sharing", ticket),
        {"share-department": desk.department.pk, "share-level": ShareLevel.FULL},
    )
    assert own.status_code == 400  # its own department is not offered
    shared = client.post(
        _url("collab_sharing", ticket),
        {"share-department": desk.other_department.pk, "share-level": ShareLevel.READ_ONLY},
    )
    assert shared.status_code == 302
    login(client, desk.other_agent)
    mine = client.get(reverse("desk:collab_shared", kwargs={"portal": "acme"})).content.decode()
    assert ticket.subject in mine and "Read only" in mine
    page = client.get(_url("ticket_detail", ticket))
    assert page.status_code == 200
    assert 'id="composer"' not in page.content.decode()  # no reply box
    refused = client.post(_url("ticket_thread", ticket), {"kind": "reply", "body": "Hi"})
    assert refused.status_code == 403
    assert "shared with your department read-only" in refused.content.decode()
    props = {"status": ticket.status_id, "priority": "high", "owner": "", "channel": ticket.channel}
    assert client.post(_url("ticket_properties", ticket), props).status_code == 403
    assert client.get(_url("ticket_edit", ticket)).status_code == 403
    assert client.post(_url("collab_solution", ticket), {"solution-body": "x"}).status_code == 403
    # Tags, attachments and approvals are refused too (each through its own endpoint).
    assert client.post(_url("ticket_tag_add", ticket), {"tag": "vip"}).status_code == 403
    from django.core.files.uploadedfile import SimpleUploadedFile

    image = SimpleUploadedFile("a.png", b"\x89PNG\r\n\x1a\n" + b"0" * 20)
    upload = client.post(_url("attachment_inline", ticket), {"file": image})
    assert upload.status_code == 403
    asked = client.post(
        _url("collab_approvals", ticket),
        {"approval-approvers": [desk.admin.user_id], "approval-note": "x"},
    )
    assert asked.status_code == 403 and "read-only" in asked.content.decode()
    assert not Approval.objects.for_org(desk.org).exists()
    assert not Thread.objects.for_org(desk.org).exists()
    sharing = client.get(_url("collab_sharing", ticket)).content.decode()
    assert "Shared with your department: Read only." in sharing
    assert "Stop sharing" not in sharing  # nor can they revoke
    share = TicketShare.objects.for_org(desk.org).get()
    revoke = _url("collab_share_revoke", ticket, share_id=share.pk)
    assert client.post(revoke).status_code == 403
    login(client, desk.agent)
    assert client.post(revoke, **HTMX).status_code == 200
    login(client, desk.other_agent)
    assert client.get(_url("ticket_detail", ticket)).status_code == 404


def test_tkt04_restricted_share_comments_only_through_the_views(client, desk, ticket):
    ticket_share(
        actor=desk.agent,
        ticket=ticket,
        department=desk.other_department,
        level=ShareLevel.RESTRICTED,
    )
    login(client, desk.other_agent)
    page = client.get(_url("ticket_detail", ticket)).content.decode()
    assert 'value="comment"' in page and 'value="reply"' not in page
    assert (
        client.post(_url("ticket_thread", ticket), {"kind": "comment", "body": "FYI"}).status_code
        == 302
    )
    refused = client.post(_url("ticket_thread", ticket), {"kind": "reply", "body": "Hi"})
    assert refused.status_code == 403 and "only add private comments" in refused.content.decode()


def test_tkt04_full_share_edits_properties(client, desk, ticket):
    ticket_share(
        actor=desk.agent, ticket=ticket, department=desk.other_department, level=ShareLevel.FULL
    )
    login(client, desk.other_agent)
    closed = desk.status("Closed")
    answer = client.post(
        _url("ticket_properties", ticket),
        {"status": closed.pk, "priority": "high", "owner": "", "channel": ticket.channel},
    )
    assert answer.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == closed and ticket.priority == "high"


def test_tkt04_outsider_and_other_department_get_404(client, desk, ticket, globex):
    login(client, globex.admin)
    assert client.get(_url("collab_approvals", ticket)).status_code == 404
    login(client, desk.other_agent)
    for name in ("collab_approvals", "collab_solution", "collab_sharing"):
        assert client.get(_url(name, ticket)).status_code == 404
